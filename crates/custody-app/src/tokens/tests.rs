use secrecy::ExposeSecret as _;

use super::*;

fn repo(p: &str, a: &[&str]) -> Scope {
    Scope::Repository {
        pattern: p.into(),
        actions: a.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn scopes_parse_and_allow_least_privilege() {
    assert_eq!("admin".parse::<Scope>().unwrap(), Scope::Admin);
    assert_eq!("log:write".parse::<Scope>().unwrap(), Scope::LogWrite);
    let pull = "repository:team/app:pull".parse::<Scope>().unwrap();
    assert!(pull.allows(&repo("team/app", &["pull"])));
    assert!(
        !pull.allows(&repo("team/app", &["push"])),
        "a pull token cannot push"
    );
    assert!(!pull.allows(&repo("team/other", &["pull"])));
    assert!(!pull.allows(&Scope::LogWrite));
    let prefix = "repository:team/*:pull,push".parse::<Scope>().unwrap();
    assert!(prefix.allows(&repo("team/x", &["pull", "push"])));
    assert!(!prefix.allows(&repo("teams/x", &["pull"])));
    assert!(Scope::Admin.allows(&repo("any", &["delete"])));
    for bad in [
        "",
        "log:read",
        "repository:",
        "repository:a",
        "repository:A:pull",
        "repository:a*b:pull",
        "repository:a:fly",
        "repository:../x:pull",
        "repository:a//b:pull",
        "repository:-a:pull",
    ] {
        assert!(bad.parse::<Scope>().is_err(), "{bad}");
    }
    assert!("repository:*:pull".parse::<Scope>().is_ok());
}

#[test]
fn tokens_are_checked_hashed_scoped_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("custody.db");
    let (info, token) = create_token(&db, &[Scope::LogWrite], "ci", 100).unwrap();
    let checker = TokenChecker::open(&db).unwrap();
    assert_eq!(
        checker
            .authorize(Some(token.expose_secret()), &Scope::LogWrite)
            .unwrap(),
        info.id
    );
    // Wrong scope, missing, malformed and forged tokens.
    assert_eq!(
        checker
            .authorize(Some(token.expose_secret()), &Scope::Admin)
            .unwrap_err()
            .code(),
        Code::TokenScopeMissing
    );
    assert_eq!(
        checker
            .authorize(None, &Scope::LogWrite)
            .unwrap_err()
            .code(),
        Code::TokenInvalid
    );
    assert_eq!(
        checker
            .authorize(Some("Bearer x"), &Scope::LogWrite)
            .unwrap_err()
            .code(),
        Code::TokenInvalid
    );
    // The last character changed (to a different one: the secret may already end in 'A').
    let text = token.expose_secret();
    let last = if text.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{last}", &text[..text.len() - 1]);
    assert_eq!(
        checker
            .authorize(Some(&forged), &Scope::LogWrite)
            .unwrap_err()
            .code(),
        Code::TokenInvalid
    );
    // The database holds no secret.
    let stored = std::fs::read(&db).unwrap();
    let secret = token.expose_secret().rsplit('_').next().unwrap();
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    // Revocation takes effect on the next check, and a replay is refused.
    revoke_token(&db, &info.id, 200).unwrap();
    assert_eq!(
        checker
            .authorize(Some(token.expose_secret()), &Scope::LogWrite)
            .unwrap_err()
            .code(),
        Code::TokenInvalid
    );
    assert!(revoke_token(&db, "0000000000000000", 200).is_err());
    let listed = list_tokens(&db).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked, Some(200));
}

#[test]
fn environment_scopes_parse_and_allow_only_their_environment_and_actions() {
    let prod: Scope = "environment:prod:read,promote".parse().unwrap();
    assert_eq!(prod.to_string(), "environment:prod:read,promote");
    let need = |name: &str, action: &str| Scope::Environment {
        name: name.to_owned(),
        actions: vec![action.to_owned()],
    };
    assert!(prod.allows(&need("prod", "promote")));
    assert!(!prod.allows(&need("staging", "read")));
    let read_all: Scope = "environment:*:read".parse().unwrap();
    assert!(read_all.allows(&need("staging", "read")));
    assert!(!read_all.allows(&need("staging", "promote")));
    assert!(!read_all.allows(&Scope::LogWrite));
    assert!(!prod.allows(&repo("prod", &["pull"])));
    for bad in [
        "environment:prod",
        "environment:Prod:read",
        "environment:prod:push",
        "environment:../x:read",
        "environment::read",
    ] {
        assert!(bad.parse::<Scope>().is_err(), "{bad} must be refused");
    }
}
