//! The one URI check the formats need: is this an absolute URI (RFC 3986 §4.3)?

/// True when `s` has an RFC 3986 scheme followed by `:` and a non-empty remainder without
/// whitespace or control characters.
///
/// This is deliberately not a full RFC 3986 parser: it rejects relative references, bare words
/// and anything with spaces, which is what the specs' "TypeURI" and "ResourceURI" rule out.
pub(crate) fn is_absolute(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts_with_letter
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests;
