use super::*;

#[test]
fn empty_tree_hash_is_sha256_of_nothing() {
    let digest: [u8; 32] = Sha256::digest(b"").into();
    assert_eq!(EMPTY_TREE_HASH, Hash::from_bytes(digest));
    assert_eq!(
        EMPTY_TREE_HASH.to_string(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn leaf_hash_of_empty_entry() {
    // RFC 6962 test vector used across CT implementations: the leaf hash of the empty entry.
    assert_eq!(
        leaf_hash(b"").to_string(),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
}

#[test]
fn node_hash_prefixes_and_orders_children() {
    let left = leaf_hash(b"left");
    let right = leaf_hash(b"right");
    let mut input = vec![0x01];
    input.extend_from_slice(left.as_bytes());
    input.extend_from_slice(right.as_bytes());
    let expected: [u8; 32] = Sha256::digest(&input).into();
    assert_eq!(node_hash(&left, &right), Hash::from(expected));
    assert_ne!(node_hash(&left, &right), node_hash(&right, &left));
}

#[test]
fn hex_round_trip_and_rejects() {
    let hash = leaf_hash(b"x");
    let text = hash.to_string();
    assert_eq!(text.parse::<Hash>().ok(), Some(hash));
    assert_eq!(text.to_uppercase().parse::<Hash>().ok(), Some(hash));
    assert!(text[1..].parse::<Hash>().is_err());
    assert!(format!("{text}0").parse::<Hash>().is_err());
    assert!(text.replacen(&text[..1], "g", 1).parse::<Hash>().is_err());
    assert!("".parse::<Hash>().is_err());
    // Multi-byte characters must not be mistaken for digits or split mid-character.
    assert!("é".repeat(32).parse::<Hash>().is_err());
    assert_eq!(format!("{hash:?}"), format!("Hash({text})"));
}

#[test]
fn bytes_conversions() {
    let hash = leaf_hash(b"y");
    assert_eq!(Hash::try_from(&hash.as_bytes()[..]).ok(), Some(hash));
    assert!(matches!(
        Hash::try_from(&hash.as_bytes()[..31]),
        Err(Error::InvalidHashLength {
            expected: 32,
            actual: 31
        })
    ));
    assert_eq!(<[u8; 32]>::from(hash), hash.to_bytes());
    assert_eq!(hash.as_ref(), &hash.as_bytes()[..]);
}
