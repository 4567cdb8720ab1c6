//! Passphrases come from `CUSTODY_PASSPHRASE` or an interactive prompt, never from arguments
//! (which other users can read in the process list).

use std::io::IsTerminal as _;

use custody_app::{Code, Error, Result};
use secrecy::{ExposeSecret as _, SecretString};

/// The environment variable that supplies a passphrase non-interactively.
pub(crate) const ENV: &str = "CUSTODY_PASSPHRASE";

/// A passphrase to decrypt an existing key.
pub(crate) fn for_existing_key(path: &std::path::Path) -> Result<SecretString> {
    if let Some(p) = from_env()? {
        return Ok(p);
    }
    prompt(&format!("Passphrase for {}: ", path.display()))
}

/// A passphrase to encrypt a new key (asked twice when interactive).
pub(crate) fn for_new_key() -> Result<SecretString> {
    if let Some(p) = from_env()? {
        return Ok(p);
    }
    let first = prompt("Passphrase for the new key: ")?;
    let second = prompt("Repeat the passphrase: ")?;
    if first.expose_secret() != second.expose_secret() {
        return Err(Error::new(
            Code::InvalidArgument,
            "the two passphrases differ",
        ));
    }
    Ok(first)
}

fn from_env() -> Result<Option<SecretString>> {
    match std::env::var(ENV) {
        Ok(v) if v.is_empty() => Err(Error::new(
            Code::PassphraseRequired,
            format!("{ENV} is set but empty"),
        )),
        Ok(v) => Ok(Some(SecretString::from(v))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::new(
            Code::InvalidArgument,
            format!("{ENV} is not valid UTF-8"),
        )),
    }
}

fn prompt(text: &str) -> Result<SecretString> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            Code::PassphraseRequired,
            format!("a passphrase is needed, {ENV} is not set and there is no terminal to ask"),
        ));
    }
    let value = rpassword::prompt_password(text).map_err(|e| {
        Error::new(
            Code::PassphraseRequired,
            format!("cannot read the passphrase: {e}"),
        )
    })?;
    if value.is_empty() {
        return Err(Error::new(
            Code::PassphraseRequired,
            "the passphrase is empty",
        ));
    }
    Ok(SecretString::from(value))
}
