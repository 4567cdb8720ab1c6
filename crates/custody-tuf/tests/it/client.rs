//! The client workflow against the attacks of the TUF specification and tuf-conformance.

use custody_tuf::client::MemoryCache;
use custody_tuf::metadata::sign_document;
use custody_tuf::{Error, ErrorKind};
use time::Duration;

use crate::sim::{DAY, Key, Sim, key, key_map, role_keys, sign, t0};

fn kind<T>(r: Result<T, Error>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

#[test]
fn downloads_a_target_and_checks_its_bytes() {
    let mut sim = Sim::new();
    sim.add_target("targets", "dir/app.tgz", b"release 1");
    sim.publish();
    let mut c = sim.client();
    c.refresh().unwrap();
    let info = c.target_info("dir/app.tgz").unwrap();
    assert_eq!(info.file.length, 9);
    let want = format!("dir/{}.app.tgz", custody_crypto::sha256(b"release 1").hex());
    assert_eq!(info.download_path(true), want);
    let mut v = info.verifier();
    v.update(b"release 1").unwrap();
    v.finish().unwrap();
    assert_eq!(kind(c.target_info("dir/other")), ErrorKind::NotFound);
}

#[test]
fn tampered_target_same_length_is_rejected() {
    let mut sim = Sim::new();
    sim.add_target("targets", "a", b"release 1");
    sim.publish();
    let info = sim.client().target_info("a").unwrap();
    let mut v = info.verifier();
    v.update(b"release 2").unwrap();
    assert_eq!(kind(v.finish()), ErrorKind::Integrity);
}

#[test]
fn longer_or_shorter_target_is_rejected() {
    let mut sim = Sim::new();
    sim.add_target("targets", "a", b"release 1");
    sim.publish();
    let info = sim.client().target_info("a").unwrap();
    let mut v = info.verifier();
    assert_eq!(kind(v.update(b"release 1 and more")), ErrorKind::Integrity);
    let mut v = info.verifier();
    v.update(b"release").unwrap();
    assert_eq!(kind(v.finish()), ErrorKind::Integrity);
}

#[test]
fn expired_timestamp_is_rejected_and_not_cached() {
    let sim = Sim::new();
    let mut c = sim
        .client_at(MemoryCache::default(), t0() + Duration::days(2))
        .unwrap();
    assert!(matches!(
        c.refresh(),
        Err(Error::ExpiredMetadata { ref role, .. }) if role == "timestamp"
    ));
    let (_, cache) = c.into_parts();
    assert!(!cache.files.contains_key("timestamp.json"));
}

#[test]
fn expired_snapshot_targets_and_root_are_rejected() {
    // Snapshot expires in 7 days; keep the timestamp fresh by re-signing it later.
    let mut sim = Sim::new();
    sim.timestamp.expires = sim.now + 30 * DAY;
    sim.publish_timestamp();
    let at = t0() + Duration::days(8);
    let r = sim.client_at(MemoryCache::default(), at).unwrap().refresh();
    assert!(matches!(r, Err(Error::ExpiredMetadata { ref role, .. }) if role == "snapshot"));

    let mut sim = Sim::new();
    sim.targets.expires = sim.now + DAY / 2;
    sim.publish();
    let at = t0() + Duration::hours(13);
    let r = sim.client_at(MemoryCache::default(), at).unwrap().refresh();
    assert!(matches!(r, Err(Error::ExpiredMetadata { ref role, .. }) if role == "targets"));

    let sim = Sim::new();
    let at = t0() + Duration::days(366);
    let r = sim.client_at(MemoryCache::default(), at).unwrap().refresh();
    assert!(matches!(r, Err(Error::ExpiredMetadata { ref role, .. }) if role == "root"));
}

#[test]
fn freeze_attack_is_detected_by_expiry() {
    let sim = Sim::new();
    let mut c = sim.client();
    c.refresh().unwrap();
    // The mirror keeps serving the same files; a day later they are stale.
    let (_, cache) = c.into_parts();
    let r = sim
        .client_at(cache, t0() + Duration::days(1) + Duration::seconds(1))
        .unwrap()
        .refresh();
    assert_eq!(kind(r), ErrorKind::Expired);
}

#[test]
fn timestamp_rollback_is_rejected_across_runs() {
    let mut sim = Sim::new();
    let old = sim.get("timestamp.json");
    sim.publish();
    let mut c = sim.client();
    c.refresh().unwrap();
    let (_, cache) = c.into_parts();
    sim.put("timestamp.json", old);
    let r = sim.client_at(cache, t0()).unwrap().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, .. }) if role == "timestamp"));
}

#[test]
fn snapshot_rollback_is_rejected() {
    let mut sim = Sim::new();
    sim.publish();
    let mut c = sim.client();
    c.refresh().unwrap();
    let (_, cache) = c.into_parts();
    // A new timestamp that names the older snapshot (version 1).
    sim.timestamp.snapshot.version = 1;
    sim.timestamp.snapshot.hashes = None;
    sim.timestamp.snapshot.length = None;
    sim.publish_timestamp();
    let r = sim.client_at(cache, t0()).unwrap().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, .. }) if role == "snapshot"));
}

#[test]
fn targets_rollback_in_a_new_snapshot_is_rejected() {
    let mut sim = Sim::new();
    sim.publish();
    let mut c = sim.client();
    c.refresh().unwrap();
    let (_, cache) = c.into_parts();
    // A new snapshot naming targets version 1 again.
    sim.snapshot.meta.get_mut("targets.json").unwrap().version = 1;
    sim.snapshot.meta.get_mut("targets.json").unwrap().length = None;
    sim.publish_snapshot();
    let r = sim.client_at(cache, t0()).unwrap().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, .. }) if role == "targets"));
}

#[test]
fn replayed_older_snapshot_under_new_name_is_rejected() {
    // Mix-and-match: the mirror serves snapshot 1's bytes as 2.snapshot.json.
    let mut sim = Sim::new();
    let old = sim.get("1.snapshot.json");
    sim.publish();
    sim.put("2.snapshot.json", old);
    assert_eq!(kind(sim.client().refresh()), ErrorKind::Integrity);
    // Without hashes and length in the timestamp, the version check catches it.
    sim.timestamp.snapshot.hashes = None;
    sim.timestamp.snapshot.length = None;
    sim.publish_timestamp();
    let r = sim.client().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, found: 1, .. }) if role == "snapshot"));
}

#[test]
fn mix_and_match_targets_is_rejected() {
    let mut sim = Sim::new();
    sim.add_target("targets", "a", b"v1");
    sim.publish();
    let v2 = sim.get("2.targets.json");
    // Targets v3 is published, but the mirror serves v2's bytes under v3's name.
    sim.add_target("targets", "a", b"v2");
    sim.snapshot.meta.get_mut("targets.json").unwrap().length = None;
    sim.publish();
    sim.snapshot.meta.get_mut("targets.json").unwrap().length = None;
    sim.publish_snapshot();
    sim.put("3.targets.json", v2);
    let r = sim.client().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, found: 2, .. }) if role == "targets"));
}

#[test]
fn timestamp_signed_by_wrong_key_is_rejected() {
    let mut sim = Sim::new();
    sim.timestamp_key = key();
    sim.publish_timestamp();
    assert_eq!(kind(sim.client().refresh()), ErrorKind::Threshold);
}

#[test]
fn duplicate_signature_keyids_are_rejected() {
    // The specification: a keyid MUST be unique in the signatures array.
    let mut sim = Sim::new();
    let second = key();
    sim.root.version = 2;
    sim.root.keys.extend(key_map(&[&*second]));
    let first = sim.root_signers[0].clone();
    sim.root
        .roles
        .insert("root".into(), role_keys(&[&*first, &*second], 2));
    // Signed twice by the first key, never by the second.
    let once = sign(&sim.root.to_value(), &[&*first]);
    let mut doc: serde_json::Value = serde_json::from_slice(&once).unwrap();
    let sigs = doc["signatures"].as_array().unwrap().clone();
    doc["signatures"] = serde_json::Value::Array([sigs.clone(), sigs].concat());
    sim.put("2.root.json", serde_json::to_vec(&doc).unwrap());
    assert_eq!(kind(sim.client().refresh()), ErrorKind::Malformed);
    let (_, cache) = sim.client().into_parts();
    assert_eq!(
        custody_tuf::metadata::Root::from_envelope(
            &custody_tuf::metadata::Envelope::parse(&cache.files["root.json"], "root").unwrap()
        )
        .unwrap()
        .version,
        1
    );
}

#[test]
fn one_key_listed_under_two_keyids_counts_once() {
    // Root 2 lists the first root key twice: as itself, and as a key object with an extra
    // field (so another keyid). Two signatures by that one key must not meet threshold 2.
    let mut sim = Sim::new();
    let first = sim.root_signers[0].clone();
    let id1 = crate::sim::keyid(first.public_key());
    sim.root.version = 2;
    let mut signed = sim.root.to_value();
    let mut twin = signed["keys"][&id1].clone();
    twin["x-note"] = serde_json::json!("same key");
    let id2 = custody_crypto::sha256(&custody_tuf::cjson::encode(&twin).unwrap()).hex();
    signed["keys"][&id2] = twin;
    signed["roles"]["root"] = serde_json::json!({"keyids": [id1, id2], "threshold": 2});
    let once = sign(&signed, &[&*first]);
    let mut doc: serde_json::Value = serde_json::from_slice(&once).unwrap();
    let sig = doc["signatures"][0]["sig"].clone();
    doc["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"keyid": id2, "sig": sig}));
    sim.put("2.root.json", serde_json::to_vec(&doc).unwrap());
    let r = sim.client().refresh();
    assert!(
        matches!(
            r,
            Err(Error::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

fn rotate_root(sim: &mut Sim) -> Key {
    let new_root = key();
    sim.root.version += 1;
    sim.root.keys.extend(key_map(&[&*new_root]));
    sim.root
        .roles
        .insert("root".into(), role_keys(&[&*new_root], 1));
    new_root
}

#[test]
fn root_rotation_needs_old_and_new_thresholds() {
    let mut sim = Sim::new();
    let old = sim.root_signers[0].clone();
    let new = rotate_root(&mut sim);
    sim.publish_root_with(&[&*new]);
    assert!(matches!(
        sim.client().refresh(),
        Err(Error::ThresholdNotMet { .. })
    ));
    sim.publish_root_with(&[&*old]);
    assert!(matches!(
        sim.client().refresh(),
        Err(Error::ThresholdNotMet { .. })
    ));
    sim.publish_root_with(&[&*old, &*new]);
    let mut c = sim.client();
    c.refresh().unwrap();
    assert_eq!(c.root().version, 2);
    // A third root signed by the new key alone follows on.
    sim.root_signers = vec![new];
    sim.root.version = 3;
    sim.publish_root();
    let (_, cache) = c.into_parts();
    let mut c = sim.client_at(cache, t0()).unwrap();
    c.refresh().unwrap();
    assert_eq!(c.root().version, 3);
}

#[test]
fn root_with_wrong_version_in_chain_is_rejected() {
    let mut sim = Sim::new();
    sim.root.version = 3;
    let signers = sim.root_signers.clone();
    let bytes = sign(&sim.root.to_value(), &[&*signers[0]]);
    sim.put("2.root.json", bytes);
    let r = sim.client().refresh();
    assert!(matches!(r, Err(Error::BadVersion { ref role, .. }) if role == "root"));
}

#[test]
fn fast_forward_recovery_after_timestamp_key_rotation() {
    let mut sim = Sim::new();
    // The attacker holds the timestamp key and fast-forwards the client to version 1000.
    let honest = sim.get("timestamp.json");
    sim.timestamp.version = 999;
    sim.publish_timestamp();
    let mut c = sim.client();
    c.refresh().unwrap();
    let (_, cache) = c.into_parts();
    // The repository rotates the timestamp key in root 2 and restarts from version 2.
    sim.put("timestamp.json", honest);
    let new_ts = key();
    sim.root.version = 2;
    sim.root.keys.extend(key_map(&[&*new_ts]));
    sim.root
        .roles
        .insert("timestamp".into(), role_keys(&[&*new_ts], 1));
    sim.publish_root();
    sim.timestamp_key = new_ts;
    sim.timestamp.version = 1;
    sim.publish_timestamp();
    let mut c = sim.client_at(cache, t0()).unwrap();
    c.refresh().unwrap();
    assert_eq!(c.timestamp().unwrap().version, 2);
}

#[test]
fn oversized_timestamp_is_rejected() {
    let sim = Sim::new();
    let mut big = sim.get("timestamp.json");
    big.pop();
    big.extend(std::iter::repeat_n(b' ', 20_000));
    big.push(b'}');
    sim.put("timestamp.json", big);
    assert_eq!(kind(sim.client().refresh()), ErrorKind::Integrity);
}

#[test]
fn delegation_path_mismatch_is_not_trusted() {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &["a/*"], false, key());
    sim.add_target("a", "b/x", b"x");
    sim.add_target("a", "a/y", b"y");
    sim.publish();
    let mut c = sim.client();
    assert!(c.target_info("a/y").is_ok());
    assert_eq!(kind(c.target_info("b/x")), ErrorKind::NotFound);
    assert_eq!(kind(c.target_info("a/y/z")), ErrorKind::NotFound);
}

#[test]
fn terminating_delegation_stops_the_search() {
    for terminating in [true, false] {
        let mut sim = Sim::new();
        sim.delegate("targets", "first", &["*"], terminating, key());
        sim.delegate("targets", "second", &["*"], false, key());
        sim.add_target("second", "f", b"from second");
        sim.publish();
        let r = sim.client().target_info("f");
        assert_eq!(r.is_ok(), !terminating, "terminating = {terminating}");
    }
}

#[test]
fn nested_terminating_delegation_also_drops_pending_roles() {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &["*"], false, key());
    sim.delegate("targets", "b", &["*"], false, key());
    sim.delegate("a", "c", &["*"], true, key());
    sim.add_target("b", "f", b"from b");
    sim.publish();
    assert_eq!(kind(sim.client().target_info("f")), ErrorKind::NotFound);
}

#[test]
fn delegated_role_is_verified_with_the_current_delegators_keys() {
    // Both a and b delegate to c, with different keys; c is signed by b's key for it only.
    let mut sim = Sim::new();
    let ka = key();
    let kb = key();
    sim.delegate("targets", "a", &["*"], true, key());
    sim.delegate("a", "c", &["*"], false, ka);
    sim.delegate("targets", "b", &["*"], false, key());
    sim.delegate("b", "c", &["*"], false, kb.clone());
    sim.roles.get_mut("c").unwrap().signers = vec![kb];
    sim.add_target("c", "f", b"f");
    sim.publish();
    // The search reaches c through a (terminating), whose key for c did not sign it.
    assert_eq!(kind(sim.client().target_info("f")), ErrorKind::Threshold);
}

#[test]
fn hash_prefix_delegation() {
    let sim = Sim::new();
    let path = "pkg/one";
    let prefix = &custody_crypto::sha256(path.as_bytes()).hex()[..2];
    let r = custody_tuf::metadata::DelegatedRole {
        name: "h".into(),
        keys: role_keys(&[&*sim.targets_key], 1),
        terminating: false,
        paths: custody_tuf::metadata::PathSpec::HashPrefixes(vec![prefix.to_owned()]),
    };
    assert!(r.matches(path));
    let other = if prefix == "00" { "ff" } else { "00" };
    let r2 = custody_tuf::metadata::DelegatedRole {
        paths: custody_tuf::metadata::PathSpec::HashPrefixes(vec![other.to_owned()]),
        ..r
    };
    assert!(!r2.matches(path));
}

#[test]
fn glob_patterns_match_per_component() {
    use custody_tuf::metadata::path_matches;
    assert!(path_matches("*.tgz", "a.tgz"));
    assert!(!path_matches("*.tgz", "d/a.tgz"));
    assert!(path_matches("d/*", "d/a.tgz"));
    assert!(path_matches("d/?.t[a-g]z", "d/a.tgz"));
    assert!(!path_matches("d/?.t[!a-g]z", "d/a.tgz"));
    assert!(path_matches("*", "x"));
    assert!(!path_matches("d/*", "d/e/f"));
}

#[test]
fn bootstrap_root_must_be_self_signed() {
    let sim = Sim::new();
    let other = key();
    let s: Vec<&dyn custody_crypto::Signer> = vec![&*other];
    let forged = sign_document("root", &sim.root.to_value(), &s, &[]).unwrap();
    let r = custody_tuf::client::Client::new(
        &forged,
        crate::sim::MapFetcher(sim.files, Vec::new()),
        MemoryCache::default(),
        t0(),
        custody_tuf::client::ClientLimits::default(),
    );
    assert_eq!(kind(r), ErrorKind::Threshold);
}

#[test]
fn expired_intermediate_roots_are_walked_through() {
    // Root 2 expired long ago; root 3 is current. Only the final root's expiry matters.
    let mut sim = Sim::new();
    sim.root.version = 2;
    sim.root.expires = sim.now - DAY;
    sim.publish_root();
    sim.root.version = 3;
    sim.root.expires = sim.now + DAY * 30;
    sim.publish_root();
    let mut c = sim.client();
    c.refresh().unwrap();
    assert_eq!(c.root().version, 3);
}

#[test]
fn repository_without_consistent_snapshots_uses_plain_names() {
    let mut sim = Sim::new();
    sim.root.version = 2;
    sim.root.consistent_snapshot = false;
    sim.publish_root();
    sim.add_target("targets", "d/f", b"plain");
    sim.publish();
    let n = sim.snapshot.version;
    let snap = sim.get(&format!("{n}.snapshot.json"));
    sim.put("snapshot.json", snap);
    let t = sim.get(&format!("{}.targets.json", sim.targets.version));
    sim.put("targets.json", t);
    sim.files
        .borrow_mut()
        .retain(|k, _| !k.ends_with(".snapshot.json") && !k.ends_with(".targets.json"));
    let info = sim.client().target_info("d/f").unwrap();
    assert_eq!(info.download_path(false), "d/f");
}

#[test]
fn unknown_key_types_are_kept_but_never_verify() {
    let mut sim = Sim::new();
    sim.root.version = 2;
    let mut signed = sim.root.to_value();
    let odd = serde_json::json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "x"}});
    let id = custody_crypto::sha256(&custody_tuf::cjson::encode(&odd).unwrap()).hex();
    signed["keys"][&id] = odd;
    let first = sim.root_signers[0].clone();
    let first_id = crate::sim::keyid(first.public_key());
    signed["roles"]["root"] = serde_json::json!({"keyids": [first_id, id], "threshold": 2});
    let bytes = sign(&signed, &[&*first]);
    let mut doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let sig = doc["signatures"][0]["sig"].clone();
    doc["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"keyid": id, "sig": sig}));
    sim.put("2.root.json", serde_json::to_vec(&doc).unwrap());
    let r = sim.client().refresh();
    assert!(
        matches!(
            r,
            Err(Error::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn unknown_fields_are_signed_too() {
    let sim = Sim::new();
    let mut signed = sim.timestamp.to_value();
    signed["version"] = serde_json::json!(sim.timestamp.version + 1);
    signed["x-extension"] = serde_json::json!({"note": "kept"});
    let bytes = sign(&signed, &[&*sim.timestamp_key]);
    sim.put("timestamp.json", bytes.clone());
    sim.client().refresh().unwrap();
    let tampered = String::from_utf8(bytes).unwrap().replace("kept", "evil");
    sim.put("timestamp.json", tampered.into_bytes());
    assert_eq!(kind(sim.client().refresh()), ErrorKind::Threshold);
}

#[test]
fn trusted_metadata_is_reused_from_the_cache() {
    let mut sim = Sim::new();
    sim.delegate("targets", "a", &["*"], false, key());
    sim.add_target("a", "f", b"f");
    sim.publish();
    let mut c = sim.client();
    c.target_info("f").unwrap();
    let (fetcher, cache) = c.into_parts();
    assert_eq!(
        fetcher.1,
        [
            "2.root.json",
            "timestamp.json",
            "2.snapshot.json",
            "2.targets.json",
            "1.a.json"
        ]
    );
    // Nothing changed: the next run asks for the next root and the timestamp only.
    let mut c = sim.client_at(cache, t0()).unwrap();
    c.target_info("f").unwrap();
    let (fetcher, _) = c.into_parts();
    assert_eq!(fetcher.1, ["2.root.json", "timestamp.json"]);
}

#[test]
fn every_single_bit_flip_of_a_signed_timestamp_is_rejected_or_harmless() {
    use custody_tuf::metadata::{Envelope, Timestamp};
    let sim = Sim::new();
    let good = sim.get("timestamp.json");
    let check = |bytes: &[u8]| -> Result<Timestamp, Error> {
        let env = Envelope::parse(bytes, "timestamp")?;
        env.verify("timestamp", &sim.root.keys, &sim.root.roles["timestamp"])?;
        Timestamp::from_envelope(&env)
    };
    let want = check(&good).unwrap();
    let mut accepted = 0;
    for i in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[i / 8] ^= 1 << (i % 8);
        if let Ok(t) = check(&bad) {
            // Only the case of a hex letter in the signature may change (the same bytes).
            accepted += 1;
            assert_eq!(i % 8, 5, "flip of bit {i} accepted");
            assert!(bad[i / 8].is_ascii_hexdigit(), "flip of bit {i} accepted");
            assert_eq!(
                (t.version, t.expires, t.snapshot),
                (want.version, want.expires, want.snapshot.clone())
            );
        }
    }
    // At most the 128 hex digits of the one signature.
    assert!(accepted <= 128, "{accepted}");
}
