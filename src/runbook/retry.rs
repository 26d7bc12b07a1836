//! Retry policies: how many attempts, how long to wait between them, and which errors count.

use std::time::Duration;

use rand::Rng;

use super::model::Backoff;
use crate::actions::{ActionError, ErrorClass};

/// An error class named in `retry_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOn {
    Any,
    Timeout,
    Network,
    ExitCode(i32),
    /// `http:5xx` is `HttpClass(5)`.
    HttpClass(u16),
    HttpStatus(u16),
}

impl RetryOn {
    /// Parses `any`, `timeout`, `network`, `exit:N`, `http:5xx`, `http:NNN`.
    pub fn parse(text: &str) -> Result<RetryOn, String> {
        let t = text.trim();
        match t {
            "any" => return Ok(RetryOn::Any),
            "timeout" => return Ok(RetryOn::Timeout),
            "network" => return Ok(RetryOn::Network),
            _ => {}
        }
        if let Some(code) = t.strip_prefix("exit:") {
            return code.parse().map(RetryOn::ExitCode).map_err(|_| format!("`{code}` is not an exit code"));
        }
        if let Some(status) = t.strip_prefix("http:") {
            if let Some(class) = status.strip_suffix("xx") {
                return match class.parse::<u16>() {
                    Ok(c @ 1..=5) => Ok(RetryOn::HttpClass(c)),
                    _ => Err(format!("`{status}` is not an HTTP status class (1xx to 5xx)")),
                };
            }
            return match status.parse::<u16>() {
                Ok(s @ 100..=599) => Ok(RetryOn::HttpStatus(s)),
                _ => Err(format!("`{status}` is not an HTTP status")),
            };
        }
        Err(format!("unknown error class `{t}`"))
    }

    fn matches(&self, class: &ErrorClass) -> bool {
        match (self, class) {
            (RetryOn::Any, _) => true,
            (RetryOn::Timeout, ErrorClass::Timeout) => true,
            (RetryOn::Network, ErrorClass::Network) => true,
            (RetryOn::ExitCode(want), ErrorClass::ExitCode(got)) => want == got,
            (RetryOn::HttpClass(c), ErrorClass::HttpStatus(s)) => s / 100 == *c,
            (RetryOn::HttpStatus(want), ErrorClass::HttpStatus(got)) => want == got,
            _ => false,
        }
    }
}

/// The retry policy of one task, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1.
    pub attempts: u32,
    pub backoff: Backoff,
    pub delay: Duration,
    pub max_delay: Duration,
    pub jitter: bool,
    /// Empty: every error the action calls retryable. Otherwise the classes named, whatever the
    /// action says, or with `any` every error but bad inputs.
    pub retry_on: Vec<RetryOn>,
    /// Total time for all attempts and waits.
    pub budget: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 1,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            jitter: true,
            retry_on: Vec::new(),
            budget: None,
        }
    }
}

impl RetryPolicy {
    /// Whether an attempt that failed with `err` should be followed by another, given how many
    /// attempts were made already.
    pub fn should_retry(&self, err: &ActionError, attempts_made: u32) -> bool {
        if attempts_made >= self.attempts {
            return false;
        }
        if self.retry_on.is_empty() {
            return err.retryable;
        }
        // A class the runbook names is retried even when the action would not retry it on its
        // own (a 404 while a new resource propagates); `any` takes every error but bad inputs.
        self.retry_on.iter().any(|r| match r {
            RetryOn::Any => err.retryable || err.class != ErrorClass::Input,
            named => named.matches(&err.class),
        })
    }

    /// The longest wait between attempts: `max_delay`, or `delay` if that is longer.
    pub fn longest_wait(&self) -> Duration {
        self.max_delay.max(self.delay)
    }

    /// The wait after failed attempt number `attempt` (1-based), before any `retry-after`.
    /// With jitter the wait is drawn from the upper half of the computed delay, which spreads
    /// retries while keeping the documented maximum.
    pub fn delay_after(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let base = match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Exponential => {
                let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
                self.delay.saturating_mul(factor)
            }
        }
        .min(self.longest_wait());
        if !self.jitter || base.is_zero() {
            return base;
        }
        let half = base / 2;
        half + Duration::from_nanos(rng.random_range(0..=half.as_nanos().min(u64::MAX as u128) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { attempts: 5, jitter: false, ..RetryPolicy::default() }
    }

    #[test]
    fn exponential_delays_are_capped() {
        let p = RetryPolicy { max_delay: Duration::from_secs(5), ..policy() };
        let mut rng = rand::rng();
        let delays: Vec<_> = (1..=5).map(|a| p.delay_after(a, &mut rng).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 5, 5]);
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        let p = RetryPolicy { jitter: true, ..policy() };
        let mut rng = rand::rng();
        for _ in 0..100 {
            let d = p.delay_after(3, &mut rng);
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4), "{d:?}");
        }
    }

    #[test]
    fn retry_on_filters_classes() {
        let p = RetryPolicy { retry_on: vec![RetryOn::parse("http:5xx").unwrap()], ..policy() };
        assert!(p.should_retry(&ActionError::new(ErrorClass::HttpStatus(503), "x"), 1));
        assert!(!p.should_retry(&ActionError::new(ErrorClass::HttpStatus(404), "x"), 1));
        assert!(!p.should_retry(&ActionError::new(ErrorClass::HttpStatus(503), "x"), 5));
        assert!(!p.should_retry(&ActionError::input("bad"), 1));
        assert_eq!(RetryOn::parse("exit:3"), Ok(RetryOn::ExitCode(3)));
        assert!(RetryOn::parse("http:7xx").is_err());
        assert!(RetryOn::parse("sometimes").is_err());
    }

    #[test]
    fn a_named_class_is_retried_even_when_the_action_would_not() {
        let not_found = || ActionError::fatal(ErrorClass::HttpStatus(404), "not found");
        let named = RetryPolicy { retry_on: vec![RetryOn::parse("http:404").unwrap()], ..policy() };
        assert!(named.should_retry(&not_found(), 1));
        let any = RetryPolicy { retry_on: vec![RetryOn::Any], ..policy() };
        assert!(any.should_retry(&not_found(), 1));
        assert!(!any.should_retry(&ActionError::input("bad"), 1));
        assert!(!policy().should_retry(&not_found(), 1), "with no retry_on the action decides");
    }
}
