//! List paging as OCI does it: `limit` and an opaque `page` token in, the page and an
//! `opc-next-page` header out (absent on the last page). The token is the offset into the
//! filtered, stably ordered list; it never encodes anything a client should parse.

use super::errors::ApiError;

/// Default and largest page sizes (OCI's list operations commonly allow up to 1000).
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// One page of `items`, the next page token if more remain, and how many items come after
/// this page.
pub fn page<T: Clone>(
    items: &[T],
    limit: Option<&str>,
    page: Option<&str>,
) -> Result<(Vec<T>, Option<String>, usize), ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::invalid(format!("limit must be between 1 and {MAX_LIMIT}, got `{text}`"))),
        },
    };
    let start = match page {
        None | Some("") => 0,
        Some(token) => token
            .strip_prefix("p")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ApiError::invalid(format!("invalid page token `{token}`")))?,
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| format!("p{end}"));
    Ok((items[start..end].to_vec(), next, items.len() - end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_pages_until_no_token() {
        let items: Vec<u32> = (0..5).collect();
        let (p1, t1, left) = page(&items, Some("2"), None).unwrap();
        assert_eq!((p1, t1.as_deref(), left), (vec![0, 1], Some("p2"), 3));
        let (p3, t3, left) = page(&items, Some("2"), Some("p4")).unwrap();
        assert_eq!((p3, t3, left), (vec![4], None, 0));
        assert_eq!(page(&items, Some("0"), None).unwrap_err().code, "InvalidParameter");
        assert_eq!(page(&items, None, Some("zz")).unwrap_err().code, "InvalidParameter");
    }
}
