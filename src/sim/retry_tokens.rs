//! Which operations take `opc-retry-token`.
//!
//! OCI honours a retry token only on the operations that document it (most creates and many
//! actions); on the others, such as Functions' `CreateFunction`, an update or an invoke, the
//! header is ignored and a retried request runs again. The list is read from Oracle's Python
//! SDK by `tests/sim/retry_token_ops.py`, which CI checks to be current.

use std::sync::OnceLock;

/// `METHOD /version/path` per line, `{}` for a path parameter.
const OPERATIONS: &str = include_str!("retry_token_operations.txt");

/// Whether a request with `method` to `path` takes a retry token.
pub fn takes_retry_token(method: &str, path: &str) -> bool {
    static TABLE: OnceLock<Vec<(&'static str, Vec<&'static str>)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        OPERATIONS
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(' '))
            .map(|(method, template)| (method, segments(template).collect()))
            .collect()
    });
    let wanted: Vec<&str> = segments(path).collect();
    table.iter().any(|(m, template)| {
        *m == method
            && template.len() == wanted.len()
            && template.iter().zip(&wanted).all(|(t, w)| *t == "{}" || t == w)
    })
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_and_documented_actions_take_a_token_and_the_rest_do_not() {
        assert!(takes_retry_token("POST", "/20160918/vcns"));
        assert!(takes_retry_token("POST", "/20180608/keys/ocid1.key.oc1..x/actions/disable"));
        assert!(takes_retry_token("POST", "/20181201/rules"));
        // Functions documents none; updates and invokes take none.
        assert!(!takes_retry_token("POST", "/20181201/functions"));
        assert!(!takes_retry_token("POST", "/20181201/applications"));
        assert!(!takes_retry_token("POST", "/20181201/functions/ocid1.fnfunc.oc1..x/actions/invoke"));
        assert!(!takes_retry_token("PUT", "/20160918/vcns/ocid1.vcn.oc1..x"));
        assert!(!takes_retry_token("GET", "/20160918/vcns"));
        assert!(!takes_retry_token("POST", "/20160918/vcns/extra"));
    }
}
