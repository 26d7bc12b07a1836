//! Why converging a resource failed, with the resource kind, name and region in every message,
//! and the error class that lets the task's retry policy do the right thing: throttling, 5xx,
//! IncorrectState, timeouts and failed work requests may be retried; bad inputs, missing
//! references, 4xx and create-only differences may not.

use thiserror::Error;

use crate::actions::oci::action_error;
use crate::actions::{ActionError, ErrorClass};
use crate::oci::{ClientError, WaitError};

#[derive(Debug, Error)]
pub enum ConvergeError {
    #[error("{what}: {step} failed: {source}{advice}")]
    Api { what: String, step: String, source: ClientError, advice: String },
    #[error("{what}: {step}: {source}")]
    Wait { what: String, step: String, source: WaitError },
    /// The create went through and then failed (work request or lifecycle state FAILED);
    /// `outcome` says what became of the failed resource.
    #[error("{what}: create failed: {source}; {outcome}")]
    CreateFailed { what: String, source: WaitError, outcome: String },
    #[error("{what}: {count} resources match by {identity} ({ids}); give `id` to address one of them")]
    Ambiguous { what: String, count: usize, identity: String, ids: String },
    #[error("{what}: `{field}` differs (current {current}, desired {desired}) and cannot be updated: {advice}")]
    CreateOnly { what: String, field: String, current: String, desired: String, advice: String },
    #[error("{what} is {state}: {advice}")]
    BadState { what: String, state: String, advice: String },
    #[error("{what}: {message}")]
    Input { what: String, message: String },
    #[error("{what}: the service answered without {missing}; cannot tell which resource was created")]
    NoResourceId { what: String, missing: String },
}

impl ConvergeError {
    pub fn input(what: &str, message: impl Into<String>) -> Self {
        ConvergeError::Input { what: what.to_string(), message: message.into() }
    }
}

impl From<ConvergeError> for ActionError {
    fn from(err: ConvergeError) -> ActionError {
        let message = err.to_string();
        match err {
            ConvergeError::Api { source, .. } => ActionError { message, ..action_error(source) },
            ConvergeError::Wait { source, .. } => match source {
                WaitError::Client(client) => ActionError { message, ..action_error(client) },
                WaitError::Timeout { .. } => ActionError::new(ErrorClass::Timeout, message),
                // A failed work request is often transient (capacity, a dependency settling).
                WaitError::WorkRequestFailed { .. } => ActionError::new(ErrorClass::Other, message),
                WaitError::Failed { .. } | WaitError::MissingField { .. } | WaitError::Cancelled { .. } => {
                    ActionError::fatal(ErrorClass::Other, message)
                }
            },
            // The next attempt creates it afresh, replacing a FAILED resource still there.
            ConvergeError::CreateFailed { .. } => ActionError::new(ErrorClass::Other, message),
            ConvergeError::Input { .. } | ConvergeError::Ambiguous { .. } | ConvergeError::CreateOnly { .. } => {
                ActionError::input(message)
            }
            ConvergeError::BadState { .. } | ConvergeError::NoResourceId { .. } => {
                ActionError::fatal(ErrorClass::Other, message)
            }
        }
    }
}

/// What to do about a common error answer, for the step that got it.
pub fn advice_for(source: &ClientError, step: &str, home_region: Option<&str>) -> String {
    let Some(api) = source.api() else { return String::new() };
    let text = match (api.status, api.code.as_str()) {
        (403, "NotAllowed") => format!(
            "identity resources are created, updated and deleted only in the tenancy's home region{}; reads work in every region. Check that the home region is reachable, or set `region` to it",
            home_region.map(|h| format!(" ({h})")).unwrap_or_default()
        ),
        (404, _) if step.starts_with("create") => {
            "a resource this one refers to (compartment, parent, subnet, key, function...) does not exist in this region: check the `refs` and that the task creating it runs first".to_string()
        }
        (409, "Conflict") if step.starts_with("delete") => {
            "something still lives in it: delete its children first (order the cleanup tasks children-first)".to_string()
        }
        (409, "Conflict") if step.starts_with("create") && api.message.contains("container repository") => {
            "a repository of this name exists in another compartment: pushing an image to a repository that does not exist yet creates it in the tenancy's root compartment. Move it to the runbook's compartment (`oci artifacts container repository change-compartment`) or delete it, and create repositories before copying images into them".to_string()
        }
        (409, "Conflict") if step.starts_with("create") => {
            "a resource with this name already exists where the lookup did not find it (another parent or compartment?): rename it or address it with `id`".to_string()
        }
        _ => return String::new(),
    };
    format!("\n  what to do: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::OciError;

    fn api(status: u16, code: &str) -> ClientError {
        let body = format!(r#"{{"code": "{code}", "message": "m"}}"#);
        ClientError::Api(Box::new(OciError::from_response(status, body.as_bytes(), None, "POST", "http://h/x")))
    }

    #[test]
    fn identity_writes_outside_the_home_region_say_so() {
        let advice = advice_for(&api(403, "NotAllowed"), "create", Some("us-ashburn-1"));
        assert!(advice.contains("only in the tenancy's home region (us-ashburn-1)"), "{advice}");
        assert_eq!(advice_for(&api(400, "InvalidParameter"), "create", None), "");
    }

    #[test]
    fn a_repository_made_by_a_push_elsewhere_says_how_to_move_it() {
        let body = r#"{"code": "Conflict", "message": "A container repository named `orders/x` already exists in this region (compartment ocid1.tenancy.oc1..t)."}"#;
        let taken =
            ClientError::Api(Box::new(OciError::from_response(409, body.as_bytes(), None, "POST", "http://h/x")));
        let advice = advice_for(&taken, "create", None);
        assert!(advice.contains("change-compartment"), "{advice}");
        assert!(advice_for(&api(409, "Conflict"), "create", None).contains("address it with `id`"));
    }

    #[test]
    fn classes_follow_what_a_retry_can_fix() {
        let what = "oci.core.vcn `v` in us-phoenix-1".to_string();
        let err =
            |source| ConvergeError::Api { what: what.clone(), step: "create".into(), source, advice: String::new() };
        let throttled = ActionError::from(err(api(429, "TooManyRequests")));
        assert_eq!((throttled.class.clone(), throttled.retryable), (ErrorClass::HttpStatus(429), true));
        let busy = ActionError::from(err(api(409, "IncorrectState")));
        assert!(busy.retryable);
        let bad = ActionError::from(err(api(400, "InvalidParameter")));
        assert!(!bad.retryable);
        assert!(
            bad.message.starts_with("oci.core.vcn `v` in us-phoenix-1: create failed: POST http://h/x failed: 400"),
            "{}",
            bad.message
        );
        let timeout = ActionError::from(ConvergeError::Wait {
            what,
            step: "waiting".into(),
            source: WaitError::Timeout {
                what: "x".into(),
                wanted: "ACTIVE".into(),
                timeout: std::time::Duration::from_secs(1),
                last: "CREATING".into(),
            },
        });
        assert_eq!((timeout.class, timeout.retryable), (ErrorClass::Timeout, true));
    }
}
