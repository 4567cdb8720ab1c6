//! Reading typed fields out of a parsed JSON object, with the field's path in every error.

use serde_json::{Map, Value};

use crate::{Error, b64};

/// How a JSON `null` field is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nulls {
    /// `null` is a type error (custody's own formats, DSSE, in-toto).
    Reject,
    /// `null` means "unset" (the protobuf JSON mapping used by Sigstore bundles).
    AreAbsent,
}

/// A JSON object being read, and where it sits in the document.
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    nulls: Nulls,
}

impl<'a> Obj<'a> {
    /// Views `value` as an object; `path` names it in errors (empty for the document itself).
    pub(crate) fn new(value: &'a Value, path: &str, nulls: Nulls) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: path.to_owned(),
                nulls,
            }),
            other => Err(Error::invalid(
                if path.is_empty() { "(document)" } else { path },
                format!("expected an object, found {}", type_name(other)),
            )),
        }
    }

    /// The object's fields.
    pub(crate) fn entries(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The path of a field of this object.
    pub(crate) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Fails on the first field whose name is not in `allowed`.
    pub(crate) fn deny_unknown(&self, allowed: &[&str]) -> Result<(), Error> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(Error::UnknownField {
                field: self.path(&crate::error::truncate(key)),
            }),
            None => Ok(()),
        }
    }

    /// The raw value of a field, or `None` when absent (or `null` under [`Nulls::AreAbsent`]).
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            Some(Value::Null) if self.nulls == Nulls::AreAbsent => None,
            other => other,
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn require(&self, key: &str) -> Result<&'a Value, Error> {
        self.get(key).ok_or_else(|| Error::missing(self.path(key)))
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> Error {
        Error::invalid(
            self.path(key),
            format!("expected {expected}, found {}", type_name(found)),
        )
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str, Error> {
        self.opt_str(key)?
            .ok_or_else(|| Error::missing(self.path(key)))
    }

    pub(crate) fn opt_obj(&self, key: &str) -> Result<Option<Self>, Error> {
        self.get(key)
            .map(|v| Self::new(v, &self.path(key), self.nulls))
            .transpose()
    }

    pub(crate) fn req_obj(&self, key: &str) -> Result<Self, Error> {
        Self::new(self.require(key)?, &self.path(key), self.nulls)
    }

    pub(crate) fn opt_array(&self, key: &str) -> Result<Option<&'a [Value]>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong_type(key, "an array", other)),
        }
    }

    pub(crate) fn req_array(&self, key: &str) -> Result<&'a [Value], Error> {
        self.opt_array(key)?
            .ok_or_else(|| Error::missing(self.path(key)))
    }

    /// The objects of an array field, each with its path (`key[i]`).
    pub(crate) fn objects_in(&self, key: &str, items: &'a [Value]) -> Result<Vec<Self>, Error> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| Self::new(item, &format!("{}[{i}]", self.path(key)), self.nulls))
            .collect()
    }

    /// A base64 string field, read as standard or URL-safe, padded or not.
    pub(crate) fn opt_bytes_lenient(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.opt_str(key)?
            .map(|s| b64::decode_lenient(s, &self.path(key)))
            .transpose()
    }

    pub(crate) fn req_bytes_lenient(&self, key: &str) -> Result<Vec<u8>, Error> {
        b64::decode_lenient(self.req_str(key)?, &self.path(key))
    }

    /// A JSON number that is a non-negative integer.
    pub(crate) fn req_u64(&self, key: &str) -> Result<u64, Error> {
        match self.require(key)? {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| Error::invalid(self.path(key), "expected a non-negative integer")),
            other => Err(self.wrong_type(key, "a number", other)),
        }
    }

    /// A protobuf `int64` in the JSON mapping: a decimal string (as written) or a number.
    /// Absent means zero.
    pub(crate) fn pb_int64(&self, key: &str) -> Result<Option<i64>, Error> {
        let bad = || Error::invalid(self.path(key), "expected a 64-bit integer");
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                s.parse::<i64>().map(Some).map_err(|_| bad())
            }
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(other) => Err(self.wrong_type(key, "an integer string", other)),
        }
    }

    /// A protobuf `int64` that must not be negative, read as `u64`; absent means zero.
    pub(crate) fn pb_uint(&self, key: &str) -> Result<u64, Error> {
        let value = self.pb_int64(key)?.unwrap_or(0);
        u64::try_from(value).map_err(|_| Error::invalid(self.path(key), "must not be negative"))
    }

    /// An object whose values are all strings (an in-toto DigestSet, SLSA `builder.version`).
    pub(crate) fn opt_string_map(
        &self,
        key: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, Error> {
        let Some(obj) = self.opt_obj(key)? else {
            return Ok(None);
        };
        let mut out = std::collections::BTreeMap::new();
        for (name, value) in obj.map {
            match value {
                Value::String(s) => {
                    out.insert(name.clone(), s.clone());
                }
                other => return Err(obj.wrong_type(name, "a string", other)),
            }
        }
        Ok(Some(out))
    }
}

/// The JSON type of a value, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
