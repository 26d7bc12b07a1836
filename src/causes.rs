//! An error with its causes on one line.

/// `error` followed by its causes, as `outer: inner: innermost`, leaving out a cause whose
/// text the outer ones already show. Client libraries often say only "error sending request"
/// and keep the reason (refused, DNS, TLS, a timeout) in a cause.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_causes_of_a_transport_error_are_shown() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        assert_eq!(with_causes(&Outer(refused)), "error sending request: Connection refused (os error 111)");
    }
}
