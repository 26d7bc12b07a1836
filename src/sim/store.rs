//! The simulator's state: every resource of every region, the work requests, the retry
//! tokens seen and the Object Storage objects, behind one lock in [`Sim`].
//!
//! Lifecycle transitions are timestamps, not timers: a resource records "becomes ACTIVE at
//! t" and [`Store::settle`] applies due transitions whenever state is read, so the store
//! is plain data that serialises and survives a restart mid-transition. Nothing here
//! speaks HTTP; services turn requests into calls on it.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds since the Unix epoch, the store's clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// RFC 3339 text of a store timestamp, with milliseconds, as OCI prints them.
pub fn rfc3339(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Milliseconds since the Unix epoch of an RFC 3339 time (`Z` or a `±hh:mm` offset, as
/// clients send them); `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let (local, offset_ms) = match text.len().checked_sub(6).and_then(|at| text.get(at..).map(|tail| (at, tail))) {
        Some((at, tail)) if (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' => {
            let hours: i64 = tail.get(1..3)?.parse().ok()?;
            let minutes: i64 = tail.get(4..6)?.parse().ok()?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            (format!("{}Z", &text[..at]), sign * (hours * 60 + minutes) * 60_000)
        }
        _ => (text.to_string(), 0),
    };
    let at = humantime::parse_rfc3339(&local).ok()?;
    let ms = at.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64 - offset_ms;
    u64::try_from(ms).ok()
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil calendar algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { era * 400 + yoe + 1 } else { era * 400 + yoe }, m, d)
}

/// A state change that happens at a given time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at_ms: u64,
    pub state: String,
}

/// One simulated resource: its wire JSON plus what the simulator needs around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// The kind's name, `functions.function`, `core.vcn`, ...
    pub kind: String,
    /// Region that owns it (the home region for tenancy-level identity resources).
    pub region: String,
    /// Tenancy-level: readable from every region.
    pub global: bool,
    pub id: String,
    pub etag: String,
    /// Creation order, the stable sort key of lists.
    pub seq: u64,
    /// The body served on GET (camelCase, `lifecycleState` kept current by `settle`).
    pub body: Value,
    pub pending: Option<Transition>,
    /// Set once the resource reached its deleted state; it answers 404 after `gone_at_ms`.
    pub gone_at_ms: Option<u64>,
}

impl Resource {
    pub fn state(&self) -> &str {
        self.body.get("lifecycleState").and_then(Value::as_str).unwrap_or("")
    }
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
    pub fn set_state(&mut self, state: &str) {
        if let Some(obj) = self.body.as_object_mut() {
            obj.insert("lifecycleState".into(), Value::String(state.into()));
        }
    }
}

/// A recorded work request (status derived from time, see [`WorkRequestRecord::status`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRequestRecord {
    pub id: String,
    pub region: String,
    pub operation_type: String,
    pub compartment_id: String,
    pub entity_type: String,
    /// CREATED, UPDATED or DELETED: what the work request does to its resource.
    pub action_type: String,
    pub resource_id: String,
    pub entity_uri: String,
    pub accepted_ms: u64,
    pub finish_ms: u64,
    pub fails: bool,
}

/// What an earlier request with a given `opc-retry-token` produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// Method, path and body hash of the original request.
    pub fingerprint: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at_ms: u64,
}

/// An Object Storage object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredObject {
    pub content: Vec<u8>,
    pub content_type: String,
    pub etag: String,
    pub time_modified_ms: u64,
}

/// All simulated state. Serialised whole by `state.rs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub resources: BTreeMap<String, Resource>,
    pub work_requests: BTreeMap<String, WorkRequestRecord>,
    /// `(region, token)` flattened to `region token`.
    pub retry_tokens: BTreeMap<String, RecordedResponse>,
    /// `region/namespace/bucket/object`.
    pub objects: BTreeMap<String, StoredObject>,
    pub next_seq: u64,
    /// Every region's container registry (absent from state files written before it).
    #[serde(default)]
    pub registry: super::registry::state::RegistryState,
}

/// The kind of a container repository, whose images live in the registry.
const REPOSITORY: &str = "artifacts.containerrepository";

/// How long a deleted resource keeps answering GET with its deleted state before 404.
pub const DELETED_VISIBLE_MS: u64 = 2_000;

/// How long OCI keeps an `opc-retry-token`: a request with the same token within this time
/// gets the first one's answer; after it, the token is new again.
pub const RETRY_TOKEN_MS: u64 = 24 * 3_600_000;

/// How many tokens are recorded between two sweeps of the expired ones.
const TOKEN_SWEEP: usize = 1024;

impl RecordedResponse {
    /// Whether the token it was recorded under still stands at `now`.
    pub fn stands(&self, now: u64) -> bool {
        now.saturating_sub(self.at_ms) < RETRY_TOKEN_MS
    }
}

impl Store {
    /// Records the answer to a request with a new retry token. Each time the tokens kept reach
    /// a multiple of [`TOKEN_SWEEP`], those past their 24 hours are forgotten: the state does
    /// not grow with every token ever used, and a request does not walk all the tokens.
    pub fn record_token(&mut self, key: String, recorded: RecordedResponse) {
        let now = recorded.at_ms;
        self.retry_tokens.insert(key, recorded);
        if self.retry_tokens.len() % TOKEN_SWEEP == 0 {
            self.retry_tokens.retain(|_, earlier| earlier.stands(now));
        }
    }
}

impl Store {
    /// Applies every transition that is due at `now` (and forgets long-deleted resources).
    pub fn settle(&mut self, now: u64) {
        let mut gone = Vec::new();
        let mut emptied = Vec::new();
        for (id, r) in self.resources.iter_mut() {
            if let Some(t) = r.pending.clone() {
                if t.at_ms <= now {
                    r.set_state(&t.state);
                    r.pending = None;
                    // OCIR deletes a repository's images with it, at once.
                    if r.kind == REPOSITORY && t.state == "DELETED" {
                        emptied.push(id.clone());
                    }
                }
            }
            if r.gone_at_ms.is_some_and(|g| g <= now) {
                gone.push(id.clone());
            }
        }
        for id in emptied {
            if let Some(r) = self.resources.get(&id).cloned() {
                self.forget_registry_repository(&r);
            }
        }
        for id in gone {
            if let Some(r) = self.resources.remove(&id) {
                self.forget_contents(&r);
            }
        }
    }

    /// Removes the registry repository behind the deleted container repository `gone`, with
    /// its images, unless a live repository of the same name has taken its place since.
    fn forget_registry_repository(&mut self, gone: &Resource) {
        let name_of = |r: &Resource| {
            format!(
                "{}/{}",
                r.str_field("namespace").unwrap_or_default(),
                r.str_field("displayName").unwrap_or_default()
            )
        };
        let name = name_of(gone);
        let replaced = self.resources.values().any(|r| {
            r.kind == REPOSITORY
                && r.id != gone.id
                && r.region == gone.region
                && !matches!(r.str_field("lifecycleState"), Some("DELETING" | "DELETED"))
                && name_of(r) == name
        });
        if replaced {
            return;
        }
        if let Some(region) = self.registry.regions.get_mut(&gone.region) {
            region.repositories.remove(&name);
        }
    }

    /// What goes with a forgotten resource: sub-resources stored under its OCID
    /// (`<parent>/<id>`, an NSG's security rules), and for a container repository the
    /// registry repository behind it with its images, as OCIR deletes them with it.
    fn forget_contents(&mut self, gone: &Resource) {
        let prefix = format!("{}/", gone.id);
        self.resources.retain(|id, _| !id.starts_with(&prefix));
        if gone.kind == REPOSITORY {
            self.forget_registry_repository(gone);
        }
    }

    /// The resource `id` as seen from `region` (its own or a global one), if it exists.
    pub fn visible(&self, region: &str, id: &str) -> Option<&Resource> {
        self.resources.get(id).filter(|r| r.region == region || r.global)
    }

    pub fn visible_mut(&mut self, region: &str, id: &str) -> Option<&mut Resource> {
        self.resources.get_mut(id).filter(|r| r.region == region || r.global)
    }

    /// Resources of `kind` visible from `region`, in creation order.
    pub fn of_kind<'a>(&'a self, region: &'a str, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        let mut all: Vec<&Resource> =
            self.resources.values().filter(move |r| r.kind == kind && (r.region == region || r.global)).collect();
        all.sort_by_key(|r| r.seq);
        all.into_iter()
    }

    /// Points the addresses the simulator wrote into resources of `region` (a vault's
    /// `managementEndpoint`, a function's `invokeEndpoint`) at `base`: a simulator restarted
    /// from its state file may listen on other ports than when the resources were made.
    pub fn rebase(&mut self, region: &str, base: &str) {
        const LOOPBACK: &str = "http://127.0.0.1:";
        for r in self.resources.values_mut().filter(|r| r.region == region) {
            let Some(body) = r.body.as_object_mut() else { continue };
            for value in body.values_mut() {
                let Some(text) = value.as_str().and_then(|t| t.strip_prefix(LOOPBACK)) else { continue };
                let rest = text.trim_start_matches(|c: char| c.is_ascii_digit());
                *value = Value::String(format!("{base}{rest}"));
            }
        }
    }

    pub fn insert(&mut self, mut r: Resource) {
        r.seq = self.next_seq;
        self.next_seq += 1;
        self.resources.insert(r.id.clone(), r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_tokens_stand_for_a_day() {
        let recorded = |at_ms| RecordedResponse {
            fingerprint: "POST /x".into(),
            status: 200,
            headers: Vec::new(),
            body: String::new(),
            at_ms,
        };
        assert!(recorded(0).stands(RETRY_TOKEN_MS - 1) && !recorded(0).stands(RETRY_TOKEN_MS));
        let mut store = Store::default();
        store.record_token("r old".into(), recorded(0));
        for i in 1..TOKEN_SWEEP {
            store.record_token(format!("r new {i}"), recorded(RETRY_TOKEN_MS));
        }
        assert_eq!(store.retry_tokens.len(), TOKEN_SWEEP - 1, "swept when the tokens reached {TOKEN_SWEEP}");
        assert!(!store.retry_tokens.contains_key("r old"));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00.123Z"), Some(1_767_225_600_123));
        assert_eq!(parse_rfc3339("2026-01-01T01:30:00+01:30"), Some(1_767_225_600_000));
        assert_eq!(parse_rfc3339("2025-12-31T23:00:00.000-01:00"), Some(1_767_225_600_000));
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }

    #[test]
    fn settle_applies_due_transitions_only() {
        let mut s = Store::default();
        let mk = |id: &str, at| Resource {
            kind: "k".into(),
            region: "r".into(),
            global: false,
            id: id.into(),
            etag: "e".into(),
            seq: 0,
            body: json!({"lifecycleState": "CREATING"}),
            pending: Some(Transition { at_ms: at, state: "ACTIVE".into() }),
            gone_at_ms: None,
        };
        s.insert(mk("a", 10));
        s.insert(mk("b", 30));
        s.settle(20);
        assert_eq!(s.resources["a"].state(), "ACTIVE");
        assert_eq!(s.resources["b"].state(), "CREATING");
        assert_eq!(s.of_kind("r", "k").map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_forgotten_resource_takes_its_rules_and_registry_repository_with_it() {
        let mut s = Store::default();
        let mk = |kind: &str, id: &str, body: Value, gone: Option<u64>| Resource {
            kind: kind.into(),
            region: "r".into(),
            global: false,
            id: id.into(),
            etag: "e".into(),
            seq: 0,
            body,
            pending: None,
            gone_at_ms: gone,
        };
        s.insert(mk("core.networksecuritygroup", "nsg1", json!({}), Some(10)));
        s.insert(mk("core.securityrule", "nsg1/AAA", json!({}), None));
        s.insert(mk("core.networksecuritygroup", "nsg2", json!({}), None));
        s.insert(mk("core.securityrule", "nsg2/BBB", json!({}), None));
        let repo = json!({"namespace": "ns", "displayName": "app/web"});
        s.insert(mk("artifacts.containerrepository", "repo1", repo, Some(10)));
        for name in ["ns/app/web", "ns/app/api"] {
            s.registry.region_mut("r").repositories.insert(name.into(), Default::default());
        }
        s.settle(20);
        assert_eq!(s.resources.keys().map(String::as_str).collect::<Vec<_>>(), ["nsg2", "nsg2/BBB"]);
        let left: Vec<&str> = s.registry.regions["r"].repositories.keys().map(String::as_str).collect();
        assert_eq!(left, ["ns/app/api"]);
    }
}
