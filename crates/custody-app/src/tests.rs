use crate::Code;

#[test]
fn codes_are_unique_and_ordered() {
    let numbers: Vec<u16> = Code::ALL.iter().map(|c| c.number()).collect();
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        numbers, sorted,
        "codes must be unique and listed in numeric order"
    );
}

#[test]
fn exit_status_is_the_first_digit() {
    for code in Code::ALL {
        assert!((1..=3).contains(&code.exit_status()), "{code}");
        assert_eq!(code.to_string().len(), "CUSTODY-E1001".len());
    }
    assert_eq!(Code::ArtifactDigestMismatch.exit_status(), 1);
    assert_eq!(Code::Usage.exit_status(), 2);
    assert_eq!(Code::ReadFailed.exit_status(), 3);
}

#[test]
fn codes_parse_in_every_accepted_form() {
    for code in Code::ALL {
        assert_eq!(code.to_string().parse::<Code>(), Ok(*code));
        assert_eq!(code.to_string().to_lowercase().parse::<Code>(), Ok(*code));
        assert_eq!(code.number().to_string().parse::<Code>(), Ok(*code));
    }
    assert!("CUSTODY-E9999".parse::<Code>().is_err());
    assert!("nonsense".parse::<Code>().is_err());
}

#[test]
fn every_code_has_text() {
    for code in Code::ALL {
        assert!(
            !code.title().is_empty()
                && !code.meaning().is_empty()
                && !code.remediation().is_empty()
        );
        assert!(
            !code.title().ends_with('.'),
            "titles have no trailing period: {code}"
        );
    }
}

/// docs/errors.md is generated from the code table; set CUSTODY_BLESS=1 to regenerate it.
#[test]
fn docs_errors_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let expected = crate::errors_markdown();
    if std::env::var_os("CUSTODY_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/errors.md is out of date: run `CUSTODY_BLESS=1 cargo nextest run -p custody-app docs_errors_md_is_current`"
    );
}
