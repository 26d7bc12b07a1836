//! The versions of a Vault secret and their rotation stages, as the simulator keeps them in
//! the secret's private fields (`_versions`, `_previousVersion`, `_pendingVersion`) and as
//! both the vault service (secret versions) and the secrets retrieval service (bundles)
//! read them. Nothing here speaks HTTP or changes a secret.

use serde_json::Value;

use crate::sim::call::Call;
use crate::sim::errors::ApiError;
use crate::sim::store::Resource;

/// The rotation stages OCI names.
pub const STAGES: [&str; 5] = ["CURRENT", "PENDING", "LATEST", "PREVIOUS", "DEPRECATED"];

/// A secret's versions with the numbers that decide their stages.
pub struct Versions {
    pub secret_id: String,
    pub versions: Vec<Value>,
    current: u64,
    previous: Option<u64>,
    pending: Option<u64>,
}

/// Which version a request asks for: `versionNumber`, else `secretVersionName`, else
/// `stage`; with none, the current one. A `stage` given with a number or name must be
/// one of that version's stages.
pub struct Wanted {
    pub number: Option<u64>,
    pub name: Option<String>,
    pub stage: Option<&'static str>,
}

impl Wanted {
    /// The selection in a request's query (`versionNumber`, `secretVersionName`, `stage`).
    pub fn from_query(call: &Call) -> Result<Wanted, ApiError> {
        let number = call
            .query_value("versionNumber")
            .map(|n| n.parse::<u64>().map_err(|_| ApiError::invalid("versionNumber must be a number.")))
            .transpose()?;
        let stage = call
            .query_value("stage")
            .map(|s| {
                STAGES
                    .iter()
                    .copied()
                    .find(|known| *known == s)
                    .ok_or_else(|| ApiError::invalid(format!("stage {s} is not one of {}.", STAGES.join(", "))))
            })
            .transpose()?;
        Ok(Wanted { number, name: call.query_value("secretVersionName").map(str::to_string), stage })
    }
}

impl Versions {
    pub fn of(secret: &Resource) -> Versions {
        let number = |field: &str| secret.body.get(field).and_then(Value::as_u64);
        Versions {
            secret_id: secret.id.clone(),
            versions: secret.body.get("_versions").and_then(Value::as_array).cloned().unwrap_or_default(),
            current: number("currentVersionNumber").unwrap_or(1),
            previous: number("_previousVersion"),
            pending: number("_pendingVersion"),
        }
    }

    fn latest(&self) -> u64 {
        self.versions.len() as u64
    }

    /// The current version, the newest one (LATEST), the one a PENDING update left waiting,
    /// and the one that was current before (PREVIOUS); older ones are DEPRECATED.
    pub fn stages(&self, n: u64) -> Vec<&'static str> {
        let mut stages = Vec::new();
        if n == self.current {
            stages.push("CURRENT");
        }
        if Some(n) == self.pending {
            stages.push("PENDING");
        }
        if n == self.latest() {
            stages.push("LATEST");
        }
        if Some(n) == self.previous {
            stages.push("PREVIOUS");
        }
        if stages.is_empty() {
            stages.push("DEPRECATED");
        }
        stages
    }

    /// Every version, oldest first, as `summary` renders each.
    pub fn summaries(&self, summary: fn(&Versions, &Value) -> Value) -> Vec<Value> {
        self.versions.iter().map(|v| summary(self, v)).collect()
    }

    /// What the vault service and the retrieval service both say of a version.
    pub fn common(&self, version: &Value) -> serde_json::Map<String, Value> {
        let number = Self::number(version);
        let mut out = serde_json::Map::new();
        out.insert("secretId".into(), Value::String(self.secret_id.clone()));
        out.insert("versionNumber".into(), number.into());
        out.insert("timeCreated".into(), version.get("timeCreated").cloned().unwrap_or(Value::Null));
        out.insert("stages".into(), self.stages(number).into());
        out
    }

    pub fn number(version: &Value) -> u64 {
        version.get("versionNumber").and_then(Value::as_u64).unwrap_or_default()
    }

    /// The version `wanted` names; 404 when there is none.
    pub fn select(&self, wanted: &Wanted) -> Result<&Value, ApiError> {
        let by_number = |n: u64| self.versions.iter().find(|v| Self::number(v) == n);
        let found = match (wanted.number, &wanted.name, wanted.stage) {
            (Some(n), _, _) => by_number(n),
            (None, Some(name), _) => self.versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(name)),
            (None, None, Some("PREVIOUS")) => self.previous.and_then(by_number),
            (None, None, Some("PENDING")) => self.pending.and_then(by_number),
            (None, None, Some("LATEST")) => by_number(self.latest()),
            (None, None, Some("DEPRECATED")) => {
                (1..=self.latest()).rev().find(|&n| self.stages(n) == ["DEPRECATED"]).and_then(by_number)
            }
            (None, None, _) => by_number(self.current),
        };
        found.filter(|v| wanted.stage.is_none_or(|s| self.stages(Self::number(v)).contains(&s))).ok_or_else(|| {
            let what = match (wanted.number, &wanted.name, wanted.stage) {
                (Some(n), _, _) => format!("secret version {n}"),
                (None, Some(name), _) => format!("secret version named `{name}`"),
                (None, None, Some(s)) => format!("secret version in stage {s}"),
                (None, None, None) => format!("current version {}", self.current),
            };
            ApiError::not_found(&format!("{what} of secret {}", self.secret_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secret() -> Resource {
        Resource {
            kind: "vault.secret".into(),
            region: "us-ashburn-1".into(),
            global: false,
            id: "s".into(),
            etag: String::new(),
            seq: 0,
            body: json!({"currentVersionNumber": 2, "_previousVersion": 1, "_versions": [
                {"versionNumber": 1, "name": "v1"}, {"versionNumber": 2, "name": "v2"}, {"versionNumber": 3, "name": null}
            ], "_pendingVersion": 3}),
            pending: None,
            gone_at_ms: None,
        }
    }

    fn wanted(number: Option<u64>, name: Option<&str>, stage: Option<&'static str>) -> Wanted {
        Wanted { number, name: name.map(str::to_string), stage }
    }

    #[test]
    fn a_version_is_found_by_name_number_or_stage() {
        let v = Versions::of(&secret());
        let pick = |w: Wanted| v.select(&w).map(Versions::number);
        assert_eq!(pick(wanted(None, Some("v1"), None)), Ok(1));
        assert_eq!(pick(wanted(None, None, None)), Ok(2));
        assert_eq!(pick(wanted(None, None, Some("PENDING"))), Ok(3));
        assert_eq!(pick(wanted(Some(1), None, Some("PREVIOUS"))), Ok(1));
        assert_eq!(pick(wanted(None, Some("v9"), None)).unwrap_err().status, 404);
        assert_eq!(pick(wanted(None, Some("v1"), Some("CURRENT"))).unwrap_err().status, 404);
        assert_eq!(v.stages(3), ["PENDING", "LATEST"]);
    }
}
