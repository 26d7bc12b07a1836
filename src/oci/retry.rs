//! When and how long to retry an OCI call: the one place that decides which failures are
//! retryable, and the backoff of Oracle's SDK default strategy as a plain value.
//!
//! Defaults match `oci.retry.DEFAULT_RETRY_STRATEGY` (SDK 2.189.0): at most 8 attempts and
//! 600 s in total; after failed attempt `n` wait `min(base * factor^(n-1) + U(0, jitter),
//! max_delay)` with base 1 s, factor 2, jitter 1 s, max 30 s; retry connection errors and
//! timeouts, 409 IncorrectState/LockConflict, 429, and every 5xx except 501. A
//! `retry-after` header lengthens the wait to at least what the server asked. This module
//! does no I/O and never sleeps; the client does.

use std::time::Duration;

use rand::Rng;

/// A retry policy. Tests shrink the delays; `RetryPolicy::none()` disables retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retries).
    pub max_attempts: u32,
    /// Time budget from the first attempt; no retry starts after it would be exceeded.
    pub total_timeout: Duration,
    pub base_delay: Duration,
    pub factor: f64,
    pub max_delay: Duration,
    /// Upper bound of the uniform random addition to each delay.
    pub jitter: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            total_timeout: Duration::from_secs(600),
            base_delay: Duration::from_secs(1),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: Duration::from_secs(1),
        }
    }
}

/// What went wrong on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The connection failed or timed out before a response arrived.
    Transport,
    /// The service answered with an error status and (maybe) an error code.
    Status { status: u16, code: Option<&'a str> },
}

/// Whether a failure is worth retrying (Oracle's default checker).
pub fn is_retryable(failure: Failure<'_>) -> bool {
    match failure {
        Failure::Transport => true,
        Failure::Status { status: 409, code } => {
            matches!(code, Some("IncorrectState") | Some("LockConflict"))
        }
        Failure::Status { status: 429, .. } => true,
        Failure::Status { status, .. } => status >= 500 && status != 501,
    }
}

impl RetryPolicy {
    /// A policy that makes exactly one attempt.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The policy of a preview's reads (`plan --refresh`): three attempts within 15 s. A plan
    /// shows a read that failed and goes on; it does not wait minutes for a region that does
    /// not answer, as a run's calls do.
    pub fn preview() -> Self {
        RetryPolicy { max_attempts: 3, total_timeout: Duration::from_secs(15), ..RetryPolicy::default() }
    }

    /// The backoff after failed attempt `attempt` (1-based), without `retry-after`.
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = attempt.saturating_sub(1).min(63) as i32;
        let base = self.base_delay.as_secs_f64() * self.factor.powi(exp);
        let jitter = if self.jitter.is_zero() { 0.0 } else { rng.random_range(0.0..self.jitter.as_secs_f64()) };
        let secs = (base + jitter).min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }

    /// Decides whether to retry after failed attempt `attempt` (1-based), `elapsed` after
    /// the first attempt started. Returns the delay, or `None` to give up.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        failure: Failure<'_>,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !is_retryable(failure) {
            return None;
        }
        let delay = match retry_after {
            Some(asked) => asked.max(self.backoff(attempt, rng)),
            None => self.backoff(attempt, rng),
        };
        // A service may ask for any wait (`retry-after: 18446744073709551615`): no sum overflows.
        elapsed.checked_add(delay).is_some_and(|end| end <= self.total_timeout).then_some(delay)
    }
}

/// The longest wait a `retry-after` is read as: any longer is past every call's budget anyway.
const LONGEST_ASKED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `retry-after`: delta seconds or an HTTP date (relative to `now`), at most a week.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    let asked = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(secs).unwrap_or(LONGEST_ASKED)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(asked.min(LONGEST_ASKED))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn retryable_statuses_match_the_sdk() {
        let s = |status, code| Failure::Status { status, code };
        assert!(is_retryable(Failure::Transport));
        assert!(is_retryable(s(409, Some("IncorrectState"))));
        assert!(is_retryable(s(409, Some("LockConflict"))));
        assert!(!is_retryable(s(409, Some("Conflict"))));
        assert!(is_retryable(s(429, Some("TooManyRequests"))));
        for status in [500, 502, 503, 504, 599] {
            assert!(is_retryable(s(status, None)), "{status}");
        }
        for status in [400, 401, 403, 404, 412, 501] {
            assert!(!is_retryable(s(status, None)), "{status}");
        }
    }

    #[test]
    fn default_backoff_grows_then_caps() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        let expected_floor = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0];
        for (i, floor) in expected_floor.iter().enumerate() {
            let d = p.backoff(i as u32 + 1, &mut rng).as_secs_f64();
            assert!(d >= *floor && d <= (floor + 1.0).min(30.0), "attempt {}: {d}", i + 1);
        }
    }

    #[test]
    fn stops_at_max_attempts_budget_and_non_retryable() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let f = Failure::Status { status: 503, code: None };
        assert!(p.next_delay(7, Duration::ZERO, f, None, &mut rng).is_some());
        assert!(p.next_delay(8, Duration::ZERO, f, None, &mut rng).is_none());
        assert!(p.next_delay(1, Duration::from_secs(599), f, None, &mut rng).is_none());
        let bad = Failure::Status { status: 400, code: Some("InvalidParameter") };
        assert!(p.next_delay(1, Duration::ZERO, bad, None, &mut rng).is_none());
    }

    #[test]
    fn retry_after_lengthens_the_wait() {
        let p = RetryPolicy { jitter: Duration::ZERO, ..RetryPolicy::default() };
        let mut rng = StdRng::seed_from_u64(1);
        let f = Failure::Status { status: 429, code: None };
        let d = p.next_delay(1, Duration::ZERO, f, Some(Duration::from_secs(7)), &mut rng);
        assert_eq!(d, Some(Duration::from_secs(7)));
        let d = p.next_delay(3, Duration::ZERO, f, Some(Duration::from_secs(1)), &mut rng);
        assert_eq!(d, Some(Duration::from_secs(4)));
    }

    #[test]
    fn parses_retry_after_forms() {
        let now = httpdate::parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Thu, 01 Jan 2026 00:00:09 GMT", now), Some(Duration::from_secs(9)));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("18446744073709551615", now), Some(LONGEST_ASKED));
        assert_eq!(parse_retry_after("1e300", now), Some(LONGEST_ASKED));
    }

    #[test]
    fn a_wait_past_any_budget_gives_up_without_overflow() {
        let p = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let f = Failure::Status { status: 429, code: None };
        let asked = Some(Duration::MAX);
        assert_eq!(p.next_delay(1, Duration::from_secs(2), f, asked, &mut rng), None);
    }
}
