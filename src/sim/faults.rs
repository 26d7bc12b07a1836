//! Injected faults for disaster-recovery drills, per region: an outage (connections
//! refused, or 503 to everything), throttling (429) and server errors (500) at a rate,
//! extra latency for operations matching a pattern, and work requests that fail.
//!
//! Faults come from a YAML file at start ([`load_file`]) and from [`FaultCommand`]s sent
//! to the admin listener while running. This module holds and evaluates them; the server
//! applies them to requests and closes or reopens listeners on outages.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::errors::{ApiError, SimError};

/// How a region in outage behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutageMode {
    /// Close the listener: connections are refused.
    Refuse,
    /// Keep listening and answer every request with 503 ServiceUnavailable.
    Error,
}

/// Extra latency for operations whose `METHOD /path` matches `op` (`*` matches any text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyRule {
    pub op: String,
    /// `100ms..300ms` (uniform) or a single duration.
    pub delay: String,
}

/// The faults of one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegionFaults {
    pub outage: Option<OutageMode>,
    pub throttle: f64,
    pub errors: f64,
    pub latency: Vec<LatencyRule>,
    pub fail_work_requests: f64,
}

/// A change sent while running (`drctl sim fault ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultCommand {
    Outage { on: bool, mode: OutageMode },
    Throttle { rate: f64 },
    Errors { rate: f64 },
    Latency { op: String, delay: String },
    FailWorkRequests { rate: f64 },
    Clear,
}

/// All regions' faults plus a version channel that listeners watch for outage changes.
#[derive(Debug)]
pub struct Faults {
    regions: Mutex<BTreeMap<String, RegionFaults>>,
    version: watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { regions: Mutex::new(BTreeMap::new()), version: watch::channel(0).0 }
    }
}

/// What the middleware should do with a request before serving it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub delay: Duration,
    pub error: Option<ApiError>,
}

impl Faults {
    pub fn get(&self, region: &str) -> RegionFaults {
        self.regions.lock().unwrap_or_else(|p| p.into_inner()).get(region).cloned().unwrap_or_default()
    }

    pub fn all(&self) -> BTreeMap<String, RegionFaults> {
        self.regions.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces a region's faults (validated first).
    pub fn set(&self, region: &str, faults: RegionFaults) -> Result<(), SimError> {
        validate(&faults)?;
        self.regions.lock().unwrap_or_else(|p| p.into_inner()).insert(region.to_string(), faults);
        self.version.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Applies one command to a region.
    pub fn apply(&self, region: &str, command: FaultCommand) -> Result<RegionFaults, SimError> {
        let mut f = self.get(region);
        match command {
            FaultCommand::Outage { on, mode } => f.outage = on.then_some(mode),
            FaultCommand::Throttle { rate } => f.throttle = rate,
            FaultCommand::Errors { rate } => f.errors = rate,
            FaultCommand::Latency { op, delay } => {
                f.latency.retain(|r| r.op != op);
                f.latency.push(LatencyRule { op, delay });
            }
            FaultCommand::FailWorkRequests { rate } => f.fail_work_requests = rate,
            FaultCommand::Clear => f = RegionFaults::default(),
        }
        self.set(region, f.clone())?;
        Ok(f)
    }

    /// A receiver that changes whenever any fault changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Decides the fate of one request (`op` is `METHOD /path`).
    pub fn verdict(&self, region: &str, op: &str) -> Verdict {
        let f = self.get(region);
        let mut rng = rand::rng();
        let delay = f
            .latency
            .iter()
            .find(|r| wildcard(&r.op, op))
            .and_then(|r| parse_delay(&r.delay).ok())
            .map(|(lo, hi)| if hi > lo { rng.random_range(lo..=hi) } else { lo })
            .unwrap_or_default();
        let error = if f.outage.is_some() {
            Some(ApiError::unavailable())
        } else if f.throttle > 0.0 && rng.random_bool(f.throttle.clamp(0.0, 1.0)) {
            Some(ApiError::throttled())
        } else if f.errors > 0.0 && rng.random_bool(f.errors.clamp(0.0, 1.0)) {
            Some(ApiError::internal())
        } else {
            None
        };
        Verdict { delay, error }
    }

    /// Whether a new work request in `region` should end FAILED.
    pub fn work_request_fails(&self, region: &str) -> bool {
        let rate = self.get(region).fail_work_requests.clamp(0.0, 1.0);
        rate > 0.0 && rand::rng().random_bool(rate)
    }
}

fn validate(f: &RegionFaults) -> Result<(), SimError> {
    check(f).map_err(|(_, detail)| SimError::Fault { detail })
}

/// Where a mistake in a region's faults is: a field, or a field of one latency rule.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Field(&'static str),
    Rule(usize, &'static str),
}

/// The first mistake in `f`, and where it is.
fn check(f: &RegionFaults) -> Result<(), (Place, String)> {
    for (name, rate) in [("throttle", f.throttle), ("errors", f.errors), ("fail_work_requests", f.fail_work_requests)] {
        if !(0.0..=1.0).contains(&rate) {
            return Err((Place::Field(name), format!("{name} rate must be within 0..1, got {rate}")));
        }
    }
    for (i, r) in f.latency.iter().enumerate() {
        parse_delay(&r.delay).map_err(|detail| (Place::Rule(i, "delay"), detail))?;
        check_op(&r.op).map_err(|detail| (Place::Rule(i, "op"), detail))?;
    }
    Ok(())
}

/// The fields of a region's faults, as a faults file names them.
const FIELDS: [&str; 5] = ["outage", "throttle", "errors", "latency", "fail_work_requests"];

/// One region's faults from its node of a faults file, or the first mistake in them with the
/// offset of the node it is in: an unknown field at its key, a value of the wrong type or
/// out of range at the value.
fn region_faults(node: &crate::runbook::yaml::Node) -> Result<RegionFaults, (usize, String)> {
    use crate::runbook::yaml::NodeKind;
    // The caller refuses a region whose entry is not a map.
    let entries = match &node.kind {
        NodeKind::Map(entries) => entries.as_slice(),
        _ => &[],
    };
    for (key, value) in entries {
        let name = key.as_scalar().unwrap_or_default();
        if !FIELDS.contains(&name) {
            let hint = crate::runbook::de::did_you_mean(name, FIELDS).map(|d| format!(" ({d})")).unwrap_or_default();
            return Err((
                key.span.start,
                format!("unknown field `{name}`{hint}; a region's faults are {}", FIELDS.join(", ")),
            ));
        }
        // Each field alone first, so that a value of the wrong type is named where it is.
        let one = serde_json::json!({ name: value.to_json() });
        serde_json::from_value::<RegionFaults>(one).map_err(|e| (value.span.start, format!("`{name}`: {e}")))?;
    }
    let faults: RegionFaults = serde_json::from_value(node.to_json()).map_err(|e| (node.span.start, e.to_string()))?;
    check(&faults).map_err(|(place, detail)| {
        let at = match place {
            Place::Field(name) => node.get(name),
            Place::Rule(i, name) => match node.get("latency").map(|l| &l.kind) {
                Some(NodeKind::Seq(rules)) => rules.get(i).map(|rule| rule.get(name).unwrap_or(rule)),
                _ => None,
            },
        };
        (at.unwrap_or(node).span.start, detail)
    })?;
    Ok(faults)
}

/// The methods a latency rule's `op` may start with (`*`: any).
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "*"];

/// A latency rule's `op` is `METHOD /path`, with `*` anywhere: any other form never matches a
/// request, and a drill would inject nothing without a word.
fn check_op(op: &str) -> Result<(), String> {
    let fix = "write `METHOD /path`: GET, POST, PUT, DELETE, PATCH, HEAD or * for any method, then the path \
               (`*` matches any text), e.g. `GET /20160918/vcns*`";
    let Some((method, path)) = op.split_once(' ') else {
        return Err(format!("latency op `{op}` never matches a request: {fix}"));
    };
    // A request's operation is its method and path, without a query: a blank or `?` in the
    // rule's path never matches one.
    let path_ok = (path.starts_with('/') || path.starts_with('*')) && !path.contains([' ', '\t', '?']);
    if !METHODS.contains(&method) || !path_ok {
        return Err(format!("latency op `{op}` never matches a request: {fix}"));
    }
    Ok(())
}

/// `100ms..300ms` or `250ms` to a range of durations.
pub fn parse_delay(text: &str) -> Result<(Duration, Duration), String> {
    let one = |t: &str| humantime::parse_duration(t.trim()).map_err(|e| format!("bad duration `{t}`: {e}"));
    match text.split_once("..") {
        Some((lo, hi)) => {
            let (lo, hi) = (one(lo)?, one(hi)?);
            if hi < lo {
                return Err(format!("latency range `{text}` ends before it starts"));
            }
            Ok((lo, hi))
        }
        None => one(text).map(|d| (d, d)),
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Reads a faults file: a YAML map of region id to [`RegionFaults`].
pub fn load_file(path: &Path) -> Result<BTreeMap<String, RegionFaults>, SimError> {
    // A mistake in the file, or a file that is not there, is the operator's to fix, like a bad
    // option (exit 2).
    let text = crate::input::read_text(path)
        .map_err(|e| SimError::Usage(format!("cannot read faults file {}: {e}", path.display())))?;
    let shape = "the faults file maps region ids to their faults, e.g. `us-phoenix-1: { throttle: 0.3 }`";
    let bad = |detail: String| SimError::Usage(format!("faults file {}: {detail}", path.display()));
    let at = |offset: usize| {
        let (line, column) = crate::runbook::problem::line_col(&text, offset);
        format!("{}:{line}:{column}", path.display())
    };
    let doc = crate::runbook::yaml::parse(&text)
        .map_err(|e| SimError::Usage(format!("faults file {}: {e}", at(e.span.start))))?;
    if let Some((_, again)) = doc.duplicate_key() {
        return Err(SimError::Usage(format!(
            "faults file {}: `{}` is given twice in one map; keep one",
            at(again.span.start),
            again.as_scalar().unwrap_or_default()
        )));
    }
    let crate::runbook::yaml::NodeKind::Map(entries) = &doc.kind else { return Err(bad(shape.to_owned())) };
    let mut map = BTreeMap::new();
    for (key, node) in entries {
        let region = key.as_scalar().unwrap_or_default();
        if !matches!(node.kind, crate::runbook::yaml::NodeKind::Map(_)) {
            let at = at(key.span.start);
            return Err(SimError::Usage(format!("faults file {at}: `{region}` is not a region with faults: {shape}")));
        }
        let faults = region_faults(node)
            .map_err(|(offset, detail)| SimError::Usage(format!("faults file {}: `{region}`: {detail}", at(offset))))?;
        map.insert(region.to_owned(), faults);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_operations() {
        assert!(wildcard("POST /20181201/functions*", "POST /20181201/functions"));
        assert!(wildcard("*functions*", "GET /20260325/functions/ocid1.fnfunc"));
        assert!(!wildcard("GET *", "POST /x"));
        assert!(wildcard("GET /x", "GET /x"));
    }

    #[test]
    fn latency_ops_name_a_method_and_a_path() {
        for good in ["GET /20160918/vcns*", "GET *", "* /x", "POST /20181201/functions"] {
            assert!(check_op(good).is_ok(), "{good}");
        }
        for bad in ["/20160918/vcns*", "FOO /x", "get /x", "*functions*", "GET vcns", "GET /x extra", "GET /x?y=1"] {
            assert!(check_op(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delays_parse() {
        assert_eq!(parse_delay("100ms..300ms").unwrap(), (Duration::from_millis(100), Duration::from_millis(300)));
        assert_eq!(parse_delay("1s").unwrap(), (Duration::from_secs(1), Duration::from_secs(1)));
        assert!(parse_delay("3s..1s").is_err());
    }

    #[test]
    fn outage_answers_503_and_rates_are_checked() {
        let f = Faults::default();
        f.apply("r", FaultCommand::Outage { on: true, mode: OutageMode::Error }).unwrap();
        assert_eq!(f.verdict("r", "GET /").error.unwrap().status, 503);
        assert_eq!(f.verdict("other", "GET /").error, None);
        assert!(f.apply("r", FaultCommand::Throttle { rate: 1.5 }).is_err());
        f.apply("r", FaultCommand::Clear).unwrap();
        f.apply("r", FaultCommand::Throttle { rate: 1.0 }).unwrap();
        assert_eq!(f.verdict("r", "GET /").error.unwrap().code, "TooManyRequests");
    }
}
