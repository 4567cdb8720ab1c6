//! Scoped bearer tokens: created by the operator, stored hashed, checked on every write.
//!
//! A token reads `custody_<id>_<secret>`: the id (16 hex characters) names the stored record,
//! the secret (32 random bytes, base64url) is stored only as its SHA-256 and compared in
//! constant time.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;

use base64::Engine as _;
use custody_crypto::{constant_time_eq, random_bytes, sha256};
use custody_store::{SqliteTokenStore, TokenRecord};
use secrecy::SecretString;

use crate::codes::Code;
use crate::error::{Error, Result};

const PREFIX: &str = "custody_";

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Everything, including managing tokens.
    Admin,
    /// Submit entries to the transparency log.
    LogWrite,
    /// Act on repositories matching `pattern` (exact, or a prefix ending in `*`).
    Repository {
        /// The repository name or prefix pattern.
        pattern: String,
        /// Allowed actions among pull, push, delete.
        actions: Vec<String>,
    },
    /// Act on deployment environments: `read` (history, gate decisions) and `promote`
    /// (record promotions and rollbacks).
    Environment {
        /// The environment's name, or `*` for every environment.
        name: String,
        /// Allowed actions among read, promote.
        actions: Vec<String>,
    },
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin => f.write_str("admin"),
            Self::LogWrite => f.write_str("log:write"),
            Self::Repository { pattern, actions } => {
                write!(f, "repository:{pattern}:{}", actions.join(","))
            }
            Self::Environment { name, actions } => {
                write!(f, "environment:{name}:{}", actions.join(","))
            }
        }
    }
}

impl FromStr for Scope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::new(Code::InvalidArgument, format!("scope '{s}': {why}"));
        match s {
            "admin" => return Ok(Self::Admin),
            "log:write" => return Ok(Self::LogWrite),
            _ => {}
        }
        if let Some(rest) = s.strip_prefix("environment:") {
            return environment_scope(rest).map_err(bad);
        }
        let rest = s.strip_prefix("repository:").ok_or_else(|| {
            bad("use admin, log:write, repository:NAME:ACTIONS or environment:NAME:ACTIONS")
        })?;
        let (pattern, actions) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("missing actions"))?;
        let body = pattern.strip_suffix('*').unwrap_or(pattern);
        // OCI repository names: '/'-separated components of a-z 0-9 and . _ - that start and
        // end with a letter or digit (so no '..' traversal); a prefix pattern may end in '*'.
        let alnum =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let component_ok = |c: &str| {
            alnum(c.chars().next())
                && alnum(c.chars().last())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        let complete = body.strip_suffix('/').unwrap_or(body);
        if pattern.is_empty()
            || body.contains('*')
            || (!complete.is_empty() && !complete.split('/').all(component_ok))
            || (complete.is_empty() && !pattern.ends_with('*'))
        {
            return Err(bad(
                "the repository name may use a-z 0-9 . _ - / and one trailing *",
            ));
        }
        let mut list: Vec<String> = Vec::new();
        for action in actions.split(',') {
            if !["pull", "push", "delete"].contains(&action) {
                return Err(bad("actions are pull, push, delete"));
            }
            if !list.iter().any(|a| a == action) {
                list.push(action.to_owned());
            }
        }
        Ok(Self::Repository {
            pattern: pattern.to_owned(),
            actions: list,
        })
    }
}

/// `NAME:ACTIONS` of an `environment:` scope.
fn environment_scope(rest: &str) -> std::result::Result<Scope, &'static str> {
    let (name, actions) = rest.rsplit_once(':').ok_or("missing actions")?;
    if name != "*" && custody_deploy::validate_environment(name).is_err() {
        return Err("the environment name is a-z, 0-9 and _, starting with a letter (or *)");
    }
    let mut list: Vec<String> = Vec::new();
    for action in actions.split(',') {
        if !["read", "promote"].contains(&action) {
            return Err("environment actions are read, promote");
        }
        if !list.iter().any(|a| a == action) {
            list.push(action.to_owned());
        }
    }
    Ok(Scope::Environment {
        name: name.to_owned(),
        actions: list,
    })
}

impl Scope {
    /// Whether this granted scope allows `needed`.
    pub fn allows(&self, needed: &Self) -> bool {
        match (self, needed) {
            (Self::Admin, _) => true,
            (Self::LogWrite, Self::LogWrite) => true,
            (
                Self::Repository { pattern, actions },
                Self::Repository {
                    pattern: name,
                    actions: wanted,
                },
            ) => {
                let matches = match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => pattern == name,
                };
                matches && wanted.iter().all(|w| actions.contains(w))
            }
            (
                Self::Environment { name, actions },
                Self::Environment {
                    name: needed_name,
                    actions: wanted,
                },
            ) => (name == "*" || name == needed_name) && wanted.iter().all(|w| actions.contains(w)),
            _ => false,
        }
    }
}

/// A token's public description.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Its id.
    pub id: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its description.
    pub description: String,
    /// Created, Unix seconds.
    pub created: i64,
    /// Revoked, Unix seconds.
    pub revoked: Option<i64>,
}

fn db(e: impl fmt::Display) -> Error {
    Error::new(Code::LogStorage, format!("token database: {e}"))
}

/// Creates a token; the returned secret is shown once and never stored.
pub fn create_token(
    database: &Path,
    scopes: &[Scope],
    description: &str,
    now: i64,
) -> Result<(TokenInfo, SecretString)> {
    if scopes.is_empty() {
        return Err(Error::new(
            Code::InvalidArgument,
            "a token needs at least one --scope",
        ));
    }
    let id =
        hex_lower(&random_bytes::<8>().map_err(|e| Error::new(Code::Internal, e.to_string()))?);
    let secret = random_bytes::<32>().map_err(|e| Error::new(Code::Internal, e.to_string()))?;
    let secret_text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let record = TokenRecord {
        id: id.clone(),
        secret_hash: sha256(secret_text.as_bytes()).as_bytes().to_vec(),
        scopes: scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        description: description.to_owned(),
        created: now,
        revoked: None,
    };
    SqliteTokenStore::open(database)
        .map_err(db)?
        .insert(&record)
        .map_err(db)?;
    let token = SecretString::from(format!("{PREFIX}{id}_{secret_text}"));
    Ok((info(&record), token))
}

fn info(r: &TokenRecord) -> TokenInfo {
    TokenInfo {
        id: r.id.clone(),
        scopes: r.scopes.split(' ').map(str::to_owned).collect(),
        description: r.description.clone(),
        created: r.created,
        revoked: r.revoked,
    }
}

/// Every token (without secrets).
pub fn list_tokens(database: &Path) -> Result<Vec<TokenInfo>> {
    Ok(SqliteTokenStore::open(database)
        .map_err(db)?
        .list()
        .map_err(db)?
        .iter()
        .map(info)
        .collect())
}

/// Revokes a token by id; effective for the next request.
pub fn revoke_token(database: &Path, id: &str, now: i64) -> Result<()> {
    if SqliteTokenStore::open(database)
        .map_err(db)?
        .revoke(id, now)
        .map_err(db)?
    {
        Ok(())
    } else {
        Err(Error::new(
            Code::InvalidArgument,
            format!("no token with id '{id}'"),
        ))
    }
}

/// Checks presented tokens against the store (one lookup per request, so a revocation takes
/// effect immediately), over a few connections so that concurrent requests do not queue on one.
pub struct TokenChecker {
    stores: Vec<Mutex<SqliteTokenStore>>,
    next: std::sync::atomic::AtomicUsize,
}

/// Connections a [`TokenChecker`] keeps.
const TOKEN_CONNECTIONS: usize = 4;

impl TokenChecker {
    /// Opens the token table of the database at `database`.
    pub fn open(database: &Path) -> Result<Self> {
        Ok(Self {
            stores: (0..TOKEN_CONNECTIONS)
                .map(|_| SqliteTokenStore::open(database).map(Mutex::new))
                .collect::<std::result::Result<_, _>>()
                .map_err(db)?,
            next: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Returns the token id if `presented` is a valid, unrevoked token whose scopes allow `needed`.
    pub fn authorize(&self, presented: Option<&str>, needed: &Scope) -> Result<String> {
        let invalid = |why: &str| Error::new(Code::TokenInvalid, why.to_owned());
        let presented = presented.ok_or_else(|| invalid("no token was presented"))?;
        let (id, secret) =
            split_token(presented).ok_or_else(|| invalid("the token is malformed"))?;
        let record = {
            let i =
                self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.stores.len();
            let store = self.stores[i]
                .lock()
                .map_err(|_| Error::new(Code::Internal, "token store lock poisoned"))?;
            store.get(id).map_err(db)?
        };
        let record = record.ok_or_else(|| invalid("the token is unknown"))?;
        let presented_hash = sha256(secret.as_bytes());
        if !constant_time_eq(presented_hash.as_bytes(), &record.secret_hash) {
            return Err(invalid("the token is unknown"));
        }
        if record.revoked.is_some() {
            return Err(invalid("the token was revoked"));
        }
        let granted: Vec<Scope> = record
            .scopes
            .split(' ')
            .filter_map(|s| s.parse().ok())
            .collect();
        if granted.iter().any(|g| g.allows(needed)) {
            Ok(record.id)
        } else {
            Err(Error::new(
                Code::TokenScopeMissing,
                format!("token {} does not grant {needed}", record.id),
            ))
        }
    }
}

/// The (id, secret) parts of a well-formed `custody_<id>_<secret>` token.
fn split_token(presented: &str) -> Option<(&str, &str)> {
    let (id, secret) = presented.strip_prefix(PREFIX)?.split_once('_')?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((id, secret))
}

/// The public id part of a presented token, to name the actor of a refused request; never the
/// secret. `None` when the token is malformed.
pub fn token_id(presented: &str) -> Option<&str> {
    split_token(presented).map(|(id, _)| id)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
