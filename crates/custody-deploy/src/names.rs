//! Environment and repository names.

use crate::DeployError;

/// Checks an environment name: `[a-z][a-z0-9_]{0,62}` (a Rego identifier).
pub fn validate_environment(name: &str) -> Result<(), DeployError> {
    let bytes = name.as_bytes();
    let valid = (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if valid {
        Ok(())
    } else {
        Err(DeployError::InvalidEnvironment(name.to_owned()))
    }
}

/// Checks a repository name against the OCI distribution grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
pub fn validate_repository(name: &str) -> Result<(), DeployError> {
    if name.is_empty() || name.len() > 255 || !name.split('/').all(valid_component) {
        return Err(DeployError::InvalidRepository(name.to_owned()));
    }
    Ok(())
}

fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut first = true;
    while i < bytes.len() {
        if !first {
            // A separator: `.`, `_`, `__` or one or more `-`.
            match bytes[i] {
                b'.' => i += 1,
                b'_' => {
                    i += if bytes.get(i + 1) == Some(&b'_') {
                        2
                    } else {
                        1
                    }
                }
                b'-' => {
                    while bytes.get(i) == Some(&b'-') {
                        i += 1;
                    }
                }
                _ => return false,
            }
        }
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        first = false;
    }
    !first
}

#[cfg(test)]
mod tests;
