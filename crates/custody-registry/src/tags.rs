//! Tag-list paging (`n`, `last`) and its `Link` header.

use crate::error::{Invalid, OciCode};

/// The most tags returned in one page when the client asks for more or sets no `n`.
pub const MAX_PAGE: usize = 10_000;

/// A tag-list request: at most `n` tags strictly after `last`, in lexical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPage {
    /// Page size.
    pub n: usize,
    /// Exclusive lower bound.
    pub last: Option<String>,
}

impl TagPage {
    /// From the query parameters `n` and `last`.
    pub fn from_query(n: Option<&str>, last: Option<&str>) -> Result<Self, Invalid> {
        let n = match n {
            None => MAX_PAGE,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| {
                    Invalid::new(OciCode::Unsupported, "n must be a non-negative integer")
                })?
                .min(MAX_PAGE),
        };
        Ok(Self {
            n,
            last: last.filter(|l| !l.is_empty()).map(str::to_owned),
        })
    }
}

/// Cuts `sorted` (lexically ordered tags after `last`, possibly one more than a page) to the
/// page, and returns the `Link` header value for the next page when more tags exist.
pub fn finish_page(
    name: &str,
    page: &TagPage,
    mut sorted: Vec<String>,
) -> (Vec<String>, Option<String>) {
    if sorted.len() > page.n && page.n > 0 {
        sorted.truncate(page.n);
        let last = sorted.last().cloned().unwrap_or_default();
        let link = format!(
            "</v2/{name}/tags/list?n={}&last={last}>; rel=\"next\"",
            page.n
        );
        (sorted, Some(link))
    } else {
        sorted.truncate(page.n);
        (sorted, None)
    }
}

/// The tag-list body: `{"name": ..., "tags": [...]}`.
pub fn tag_list_body(name: &str, tags: &[String]) -> String {
    serde_json::json!({ "name": name, "tags": tags }).to_string()
}
