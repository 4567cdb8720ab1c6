//! Strict JSON: the only way this crate reads untrusted JSON, and RFC 8785 canonical JSON.
//!
//! [`parse_strict`] works in three phases:
//! 1. the size is checked against [`Limits::max_document_bytes`] before anything is read;
//! 2. the bytes are checked to be UTF-8;
//! 3. one pass of `serde_json`'s tokenizer drives a visitor of our own that builds the value,
//!    counts the nesting depth (and stops at [`Limits::max_depth`] before descending further,
//!    so a hostile document cannot exhaust the stack) and rejects an object key seen twice at
//!    any depth. Trailing data after the value is an error.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::{Error, Limits};

/// The largest integer magnitude that RFC 8785 (via IEEE 754 doubles) represents exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// `serde_json`'s own nesting limit, which applies whatever [`Limits::max_depth`] says.
const SERDE_JSON_DEPTH_LIMIT: usize = 128;

/// Parses one JSON document strictly.
///
/// Rejects, with a distinct [`Error`] each: a document larger than
/// [`Limits::max_document_bytes`] ([`Error::TooLarge`]), invalid UTF-8 and syntax errors and
/// trailing data ([`Error::MalformedJson`]), arrays and objects nested deeper than
/// [`Limits::max_depth`] ([`Error::TooDeep`]), and an object with a repeated key at any depth
/// ([`Error::DuplicateKey`]). Keys are compared after unescaping, so `"a"` and `"\u0061"`
/// are the same key.
pub fn parse_strict(bytes: &[u8], limits: &Limits) -> Result<Value, Error> {
    if bytes.len() > limits.max_document_bytes {
        return Err(Error::TooLarge {
            limit: limits.max_document_bytes,
            actual: bytes.len(),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::MalformedJson {
        reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let context = Context {
        max_depth: limits.max_depth,
        failure: RefCell::new(None),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = ValueSeed {
        context: &context,
        depth: 0,
    }
    .deserialize(&mut deserializer)
    .map_err(|e| {
        context.take_failure().unwrap_or_else(|| {
            // serde_json stops at 128 levels on its own, should the limit be set higher.
            if e.to_string().starts_with("recursion limit exceeded") {
                Error::TooDeep {
                    limit: SERDE_JSON_DEPTH_LIMIT,
                }
            } else {
                from_serde(&e)
            }
        })
    })?;
    deserializer.end().map_err(|e| from_serde(&e))?;
    Ok(value)
}

/// Serializes a value as RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code
/// units, no insignificant whitespace, numbers in ECMAScript form, minimal string escaping.
///
/// Integers beyond ±(2^53 − 1) are rejected ([`Error::NotCanonicalizable`]): RFC 8785 models
/// numbers as IEEE 754 doubles, so other implementations would write them differently and a
/// signature over them would not be portable.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, Error> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) => check_number(n)?,
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            Value::Null | Value::Bool(_) | Value::String(_) => {}
        }
    }
    serde_json_canonicalizer::to_vec(value).map_err(|e| Error::NotCanonicalizable {
        reason: e.to_string(),
    })
}

fn check_number(n: &Number) -> Result<(), Error> {
    let in_range = if let Some(u) = n.as_u64() {
        u <= MAX_SAFE_INTEGER
    } else if let Some(i) = n.as_i64() {
        i.unsigned_abs() <= MAX_SAFE_INTEGER
    } else {
        n.as_f64().is_some_and(f64::is_finite)
    };
    if in_range {
        Ok(())
    } else {
        Err(Error::NotCanonicalizable {
            reason: format!("number {n} is not exactly representable as an IEEE 754 double"),
        })
    }
}

fn from_serde(e: &serde_json::Error) -> Error {
    Error::MalformedJson {
        reason: e.to_string(),
    }
}

/// Shared state of one parse: the limit, and the first policy failure (serde errors are
/// strings, so the typed error travels beside them).
struct Context {
    max_depth: usize,
    failure: RefCell<Option<Error>>,
}

impl Context {
    fn fail<E: de::Error>(&self, error: Error) -> E {
        let message = error.to_string();
        self.failure.borrow_mut().get_or_insert(error);
        E::custom(message)
    }

    fn take_failure(&self) -> Option<Error> {
        self.failure.borrow_mut().take()
    }
}

/// Reads one value nested inside `depth` arrays and objects.
struct ValueSeed<'c> {
    context: &'c Context,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor {
            context: self.context,
            depth: self.depth,
        })
    }
}

struct ValueVisitor<'c> {
    context: &'c Context,
    depth: usize,
}

impl ValueVisitor<'_> {
    /// The depth of a container opened here, or the failure if that is too deep.
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > self.context.max_depth {
            return Err(self.context.fail(Error::TooDeep {
                limit: self.context.max_depth,
            }));
        }
        Ok(depth)
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed {
            context: self.context,
            depth,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.context.fail(Error::DuplicateKey {
                    key: crate::error::truncate(&key),
                }));
            }
            let value = map.next_value_seed(ValueSeed {
                context: self.context,
                depth,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests;
