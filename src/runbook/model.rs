//! The runbook file format (version 1) as typed structs, exactly as written.
//!
//! These types mirror the YAML one to one and are the source of `schemas/runbook.schema.json`.
//! They keep spans and raw nodes so that validation can point at the line of every mistake;
//! nothing here interprets values (durations, expressions, references): that is
//! [`super::validate`]'s job, which turns this into a checked [`super::Runbook`].

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::de::{Lenient, RawNode, Spanned};

/// A string with its place in the file.
pub type Text = Spanned<String>;

/// A duration written like `500ms`, `30s`, `5m`, `1h30m`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct DurationText(pub Text);

impl JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\s*([0-9]+(\\.[0-9]+)?\\s*(nsec|ns|usec|us|µs|msec|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wk|w|months?|M|years?|y)\\s*)+$",
            "description": "A duration such as 500ms, 30s, 5m or 1h30m",
            "examples": ["30s", "5m", "1h30m"]
        })
    }
}

/// A runbook file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "drctl runbook", description = "A declarative disaster-recovery runbook for drctl")]
pub struct RunbookDoc {
    /// Format version; always 1.
    #[schemars(required, range(min = 1, max = 1))]
    pub version: Option<Lenient<Spanned<u32>>>,
    /// Short name of the runbook, used in run listings and reports.
    #[schemars(required)]
    pub name: Option<Lenient<Text>>,
    #[serde(default)]
    pub description: Option<Lenient<String>>,
    /// Recovery objectives; the run warns at 80% of the RTO and reports against it.
    #[serde(default)]
    pub objectives: Option<Lenient<Objectives>>,
    /// Parameters given with `--param name=value` or `--params-file`.
    #[serde(default)]
    pub params: Option<Lenient<IndexMap<Text, Lenient<ParamDoc>>>>,
    /// Settings every task inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Option<Lenient<Defaults>>,
    /// Phase names in order; every task's `phase` must be one of them.
    #[serde(default)]
    pub phases: Option<Lenient<Vec<Text>>>,
    /// Concurrency groups: name → how many tasks of the group may run at once.
    #[serde(default)]
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 1}))]
    pub concurrency: Option<Lenient<IndexMap<Text, Lenient<Spanned<u32>>>>>,
    /// The tasks, keyed by task id.
    // Task ids as `validate` takes them, for ASCII: no spaces, no punctuation but `-` and `_`,
    // not starting with a digit or `-` (a pattern without Unicode classes, which not every
    // editor's regex engine has).
    #[schemars(required, extend("minProperties" = 1, "propertyNames" = {
        "pattern": r##"^[^\s0-9\-!"#$%&'()*+,./:;<=>?@\[\\\]^`{|}~][^\s!"#$%&'()*+,./:;<=>?@\[\\\]^`{|}~]*$"##
    }))]
    pub tasks: Option<Lenient<IndexMap<Text, Lenient<Box<TaskDoc>>>>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Objectives {
    /// Recovery time objective.
    #[serde(default)]
    pub rto: Option<DurationText>,
    /// Recovery point objective (reported, not enforced).
    #[serde(default)]
    pub rpo: Option<DurationText>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Number,
    Bool,
    List,
    Map,
}

/// `true` or `false` for the words a bool parameter takes, in any case: the same wherever a
/// parameter is given (its default, a params file, `--param`, `DRCTL_PARAM_*`).
pub fn bool_word(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A runbook parameter.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamDoc {
    #[serde(rename = "type", default)]
    pub kind: Option<Spanned<ParamType>>,
    #[serde(default)]
    pub required: bool,
    /// Masked as `***` everywhere drctl writes or prints, and never stored in the run directory.
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub default: Option<RawNode>,
    #[serde(default)]
    pub description: Option<String>,
    /// Allowed values.
    #[serde(default, rename = "enum")]
    #[schemars(extend("minItems" = 1))]
    pub allowed: Option<Spanned<Vec<RawNode>>>,
}

/// Settings inherited by every task.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub retry: Option<RetryDoc>,
    /// Timeout of one attempt.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub timeout: Option<DurationText>,
    /// How many tasks may run at once (the `--parallelism` flag wins).
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    #[schemars(range(min = 1))]
    pub parallelism: Option<Spanned<u32>>,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub on_failure: Option<Spanned<OnFailure>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Constant,
    Exponential,
}

/// What happens when a task has failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// No new task starts; running ones finish; the run ends failed and can be resumed.
    Abort,
    /// Dependents are skipped; everything else goes on.
    Continue,
    /// The run stops (exit 3) until an operator resumes, retries or skips the task.
    Pause,
}

/// Retry policy of a task.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryDoc {
    /// Attempts in all, the first included (1 = no retry).
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    #[schemars(range(min = 1))]
    pub attempts: Option<Spanned<u32>>,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub backoff: Option<Backoff>,
    /// Wait before the second attempt.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub delay: Option<DurationText>,
    /// Longest wait between attempts.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub max_delay: Option<DurationText>,
    /// Spread waits randomly (decorrelated jitter) so retries of many tasks do not align.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub jitter: Option<bool>,
    /// Error classes worth a retry: `any`, `timeout`, `network`, `exit:N`, `http:5xx`,
    /// `http:429`, `http:NNN`. Default: any error the action calls retryable.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub retry_on: Option<Vec<Text>>,
    /// Total time the task may spend on all attempts and waits.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub budget: Option<DurationText>,
}

/// One task.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDoc {
    /// The action that does the work: `shell`, `http`, `approval`, `sleep`, `assert`,
    /// `wait_until`, `oci.request`, `registry.copy`, ...
    pub uses: Text,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub phase: Option<Text>,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub description: Option<Box<str>>,
    /// Tasks that must succeed before this one starts (references in expressions add more).
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub depends_on: Vec<Text>,
    /// Condition; when false the task is skipped (and so are tasks that need its outputs).
    #[serde(default, rename = "if", deserialize_with = "crate::runbook::de::present_field")]
    #[schemars(extend("type" = ["string", "boolean", "number"]))]
    pub condition: Option<Box<RawNode>>,
    /// One instance per item of this list (an expression or a literal list); `${{ each }}` is
    /// the item inside the task.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    #[schemars(extend("type" = ["string", "array"]))]
    pub for_each: Option<Box<RawNode>>,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub retry: Option<Box<RetryDoc>>,
    /// Timeout of one attempt.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub timeout: Option<Box<DurationText>>,
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub on_failure: Option<Box<Spanned<OnFailure>>>,
    /// Name of a concurrency group declared under `concurrency`.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub concurrency: Option<Box<Text>>,
    /// Inputs of the action; strings may hold `${{ }}` expressions.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    #[schemars(extend("type" = "object"))]
    pub with: Option<RawNode>,
    /// A probe run on resume for a task caught mid-flight: if it succeeds, the work is
    /// already done and the task is marked succeeded without running again.
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub check: Option<Box<CheckDoc>>,
    /// Expected duration, for plans and RTO estimates (measured durations of earlier runs of
    /// the same runbook are used when this is absent).
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub estimate: Option<Box<DurationText>>,
    /// Output names whose values are secrets (masked everywhere, never stored).
    #[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]
    pub secret_outputs: Vec<Text>,
}

/// A probe: an action whose success means the task's work is done.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckDoc {
    pub uses: Text,
    #[serde(default)]
    #[schemars(extend("type" = "object"))]
    pub with: Option<RawNode>,
}
