//! Vault and Key Management: KMS vaults (`/20180608/vaults`, with a management endpoint
//! that is this region's base URL), KMS keys on that endpoint (`/20180608/keys`), secrets
//! (`/20180608/secrets`, vault service) with their versions (`secret_versions`), which the
//! secrets retrieval service (`secret_bundles`) reads. Secret content is kept as given
//! (base64); nothing is encrypted.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use super::secret_versions::{Versions, Wanted};
use crate::sim::call::{json, respond, Call};
use crate::sim::context::RegionCtx;
use crate::sim::errors::ApiError;
use crate::sim::resource::{self, unique_in_compartment, Kind, Lifecycle, ListShape, Prepare, BASE};
use crate::sim::sorting;
use crate::sim::store::{now_ms, parse_rfc3339, rfc3339, Resource};

/// KMS keys are ENABLED rather than ACTIVE.
const KEY_LIFECYCLE: Lifecycle = Lifecycle {
    creating: Some("CREATING"),
    active: "ENABLED",
    deleting: "DELETING",
    deleted: "DELETED",
    failed: "DELETED",
};

pub static VAULT: Kind = Kind { name: "kms.vault", ocid_type: "vault", prepare: prepare_vault, ..BASE };
pub static KEY: Kind =
    Kind { name: "kms.key", ocid_type: "key", lifecycle: KEY_LIFECYCLE, prepare: prepare_key, ..BASE };
pub static SECRET: Kind = Kind {
    name: "vault.secret",
    ocid_type: "vaultsecret",
    prepare: prepare_secret,
    sort_keys: sorting::UPPER_NAME,
    ..BASE
};

fn prepare_vault(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_none() {
        p.require("displayName")?;
        let vault_type = p.require("vaultType")?;
        if !matches!(vault_type.as_str(), "DEFAULT" | "VIRTUAL_PRIVATE" | "EXTERNAL") {
            return Err(ApiError::invalid(format!("Unknown vaultType `{vault_type}`.")));
        }
    }
    let base = p.sim.base(p.region);
    p.body.insert("managementEndpoint".into(), json!(base));
    p.body.insert("cryptoEndpoint".into(), json!(base));
    p.default("isPrimary", json!(true));
    Ok(())
}

fn prepare_key(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    if p.existing.is_some() {
        return Ok(());
    }
    p.require("displayName")?;
    let shape = p.body.get("keyShape").cloned().ok_or_else(|| ApiError::missing("keyShape"))?;
    if shape.get("algorithm").and_then(Value::as_str).is_none() || shape.get("length").and_then(Value::as_u64).is_none()
    {
        return Err(ApiError::invalid("keyShape needs algorithm and length."));
    }
    // The lengths KeyShape allows, in bytes, by algorithm.
    let algorithm = shape.get("algorithm").and_then(Value::as_str).unwrap_or_default();
    let length = shape.get("length").and_then(Value::as_u64).unwrap_or_default();
    let allowed: &[u64] = match algorithm {
        "AES" => &[16, 24, 32],
        "RSA" => &[256, 384, 512],
        "ECDSA" => &[32, 48, 66],
        other => return Err(ApiError::invalid(format!("keyShape.algorithm `{other}` is not one of AES, RSA, ECDSA."))),
    };
    if !allowed.contains(&length) {
        let allowed: Vec<String> = allowed.iter().map(u64::to_string).collect();
        return Err(ApiError::invalid(format!(
            "keyShape.length {length} is not a length of {algorithm} keys ({} bytes).",
            allowed.join(", ")
        )));
    }
    // Keys live in the vault whose management endpoint received the call; with one
    // endpoint per region that is the newest active vault of the compartment, unless
    // the client names one.
    let compartment = p.require("compartmentId")?;
    let vault = match p.str("vaultId") {
        Some(id) => resource::require_active(p.store, p.region, &id, VAULT.name)?,
        None => p
            .store
            .of_kind(p.region, VAULT.name)
            .filter(|v| v.state() == "ACTIVE" && v.str_field("compartmentId") == Some(compartment.as_str()))
            .last()
            .cloned()
            .ok_or_else(|| ApiError::not_found("an ACTIVE vault in this compartment"))?,
    };
    p.body.insert("vaultId".into(), json!(vault.id));
    let (version, versions) = super::key_versions::first_version(p.region, p.id, &vault.id, &compartment);
    p.body.insert("currentKeyVersion".into(), json!(version));
    p.body.insert(super::key_versions::VERSIONS.into(), versions);
    p.default("protectionMode", json!("HSM"));
    p.default("isPrimary", json!(true));
    Ok(())
}

fn prepare_secret(p: &mut Prepare<'_>) -> Result<(), ApiError> {
    let content = p.body.remove("secretContent");
    let versions = match p.existing {
        Some(old) => old.body.get("_versions").cloned().unwrap_or(json!([])),
        None => {
            p.require("secretName")?;
            unique_in_compartment(p, SECRET.name, "secretName")?;
            resource::require_active(p.store, p.region, &p.require("vaultId")?, VAULT.name)?;
            resource::require_active(p.store, p.region, &p.require("keyId")?, KEY.name)?;
            if content.is_none() {
                return Err(ApiError::missing("secretContent"));
            }
            json!([])
        }
    };
    let mut versions = versions.as_array().cloned().unwrap_or_default();
    if let Some(old) = p.existing {
        let promoted = p.body.get("currentVersionNumber") != old.body.get("currentVersionNumber");
        if promoted && content.is_some() {
            return Err(ApiError::invalid(
                "secretContent and currentVersionNumber cannot be given in one update: make the new version, then \
                 promote one.",
            ));
        }
        promote(p, old, versions.len() as u64)?;
    }
    if let Some(name) = content.as_ref().and_then(|c| c.get("name")).and_then(Value::as_str) {
        check_version_name(name, &versions)?;
    }
    if let Some(content) = content {
        let encoded =
            content.get("content").and_then(Value::as_str).ok_or_else(|| ApiError::missing("secretContent.content"))?;
        if BASE64.decode(encoded).is_err() {
            return Err(ApiError::invalid("secretContent.content must be base64."));
        }
        let pending = match content.get("stage").and_then(Value::as_str) {
            None | Some("CURRENT") => false,
            Some("PENDING") => true,
            Some(other) => {
                return Err(ApiError::invalid(format!("secretContent.stage `{other}` is not one of CURRENT, PENDING.")))
            }
        };
        let number = versions.len() as u64 + 1;
        versions.push(json!({"versionNumber": number, "content": encoded, "name": content.get("name"),
                             "timeCreated": rfc3339(now_ms())}));
        if pending && p.existing.is_some() {
            // A pending version waits beside the current one until it is promoted; the
            // secret's current version does not change.
            p.body.insert("_pendingVersion".into(), json!(number));
        } else {
            if let Some(old) = p.existing.and_then(|old| old.body.get("currentVersionNumber")).cloned() {
                p.body.insert("_previousVersion".into(), old);
            }
            p.body.insert("currentVersionNumber".into(), json!(number));
            p.body.remove("_pendingVersion");
        }
    }
    p.body.insert("_versions".into(), json!(versions));
    p.default("metadata", json!({}));
    Ok(())
}

/// A secret version's name: letters, digits, `-`, `_` and `.`, unique among the secret's
/// versions (the SDK's `SecretContentDetails.name`).
fn check_version_name(name: &str, versions: &[Value]) -> Result<(), ApiError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(ApiError::invalid(format!(
            "secretContent.name `{name}`: use letters, digits, hyphens, underscores and periods."
        )));
    }
    let taken = versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(name));
    if let Some(version) = taken {
        return Err(ApiError::invalid(format!(
            "secretContent.name `{name}` is the name of version {} already; names are unique across a secret's \
             versions.",
            version.get("versionNumber").and_then(Value::as_u64).unwrap_or_default()
        )));
    }
    Ok(())
}

/// `UpdateSecret` with `currentVersionNumber` makes that version current (how a PENDING
/// version is promoted); the one current before becomes PREVIOUS.
fn promote(p: &mut Prepare<'_>, old: &Resource, versions: u64) -> Result<(), ApiError> {
    let before = old.body.get("currentVersionNumber").and_then(Value::as_u64);
    let Some(wanted) = p.whole_number("currentVersionNumber")?.filter(|&n| Some(n) != before) else {
        return Ok(());
    };
    if wanted == 0 || wanted > versions {
        return Err(ApiError::invalid(format!(
            "currentVersionNumber {wanted} is not a version of this secret (1 to {versions})."
        )));
    }
    if let Some(before) = before {
        p.body.insert("_previousVersion".into(), json!(before));
    }
    if p.body.get("_pendingVersion").and_then(Value::as_u64) == Some(wanted) {
        p.body.remove("_pendingVersion");
    }
    Ok(())
}

pub fn routes(router: Router<RegionCtx>) -> Router<RegionCtx> {
    let router = resource::routes(router, &VAULT, &["/20180608/vaults"]);
    let router = resource::routes(router, &KEY, &["/20180608/keys"]);
    let router = resource::routes(router, &SECRET, &["/20180608/secrets"]);
    router
        .route(
            "/20180608/secrets/{id}/versions",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(secret_versions(&ctx, &call)) }),
        )
        .route(
            "/20180608/secrets/{id}/version/{number}",
            get(|ctx: State<RegionCtx>, call: Call| async move { respond(secret_version(&ctx, &call)) }),
        )
        .route(
            "/20180608/secrets/{id}/actions/scheduleDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &SECRET, true)) }),
        )
        .route(
            "/20180608/secrets/{id}/actions/cancelDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &SECRET, false)) }),
        )
        .route(
            "/20180608/vaults/{id}/actions/scheduleDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &VAULT, true)) }),
        )
        .route(
            "/20180608/vaults/{id}/actions/cancelDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &VAULT, false)) }),
        )
        .route(
            "/20180608/keys/{id}/actions/scheduleDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &KEY, true)) }),
        )
        .route(
            "/20180608/keys/{id}/actions/cancelDeletion",
            post(|ctx: State<RegionCtx>, call: Call| async move { respond(deletion(&ctx, &call, &KEY, false)) }),
        )
}

/// Vaults, secrets and keys are not deleted at once in OCI: deletion is scheduled (state
/// PENDING_DELETION, `timeOfDeletion` as asked, default in 30 days) and can be cancelled,
/// which gives back the state the resource had (a key may have been DISABLED).
fn deletion(ctx: &RegionCtx, call: &Call, kind: &'static Kind, schedule: bool) -> Result<Response, ApiError> {
    let mut store = ctx.sim.store();
    let mut found = resource::find(&store, &ctx.region, kind, call.param("id"))?;
    call.check_if_match(&found.etag)?;
    // A disabled key can be deleted too; cancelling gives back the state it had.
    let before = found.body.get(BEFORE_DELETION).and_then(Value::as_str).map(str::to_owned);
    let (from, to): (Vec<&str>, String) = if schedule {
        let from = if kind.name == KEY.name { vec!["ENABLED", "DISABLED"] } else { vec![kind.lifecycle.active] };
        (from, "PENDING_DELETION".to_owned())
    } else {
        (vec!["PENDING_DELETION"], before.unwrap_or_else(|| kind.lifecycle.active.to_owned()))
    };
    if !from.contains(&found.state()) {
        return Err(ApiError::incorrect_state(format!(
            "{} {} is {}, not {}.",
            kind.name,
            found.id,
            found.state(),
            from.join(" or ")
        )));
    }
    let when = if schedule { Some(time_of_deletion(call, kind)?) } else { None };
    let was = found.state().to_owned();
    found.set_state(&to);
    if let Some(body) = found.body.as_object_mut() {
        match when {
            Some(when) => {
                body.insert("timeOfDeletion".into(), when);
                body.insert(BEFORE_DELETION.into(), json!(was));
            }
            None => {
                body.remove("timeOfDeletion");
                body.remove(BEFORE_DELETION);
            }
        };
    }
    found.etag = crate::sim::ocid::new_etag();
    let view = resource::public(&found.body);
    let etag = found.etag.clone();
    store.resources.insert(found.id.clone(), found);
    drop(store);
    ctx.sim.touch();
    Ok(json(200, &view, &[("etag", etag)]))
}

/// The stored body field keeping a resource's state before its deletion was scheduled.
const BEFORE_DELETION: &str = "_stateBeforeDeletion";

const DAY_MS: u64 = 24 * 3600 * 1000;
/// Slack for the time a request spends in transit, so that a client asking for exactly
/// seven days from its own now is not refused.
const TRANSIT_MS: u64 = 60 * 1000;

/// The `timeOfDeletion` of a scheduleDeletion body (default 30 days from now), as RFC 3339.
/// Vaults and keys take only 7 to 30 days from now (ScheduleVaultDeletionDetails,
/// ScheduleKeyDeletionDetails); secrets document no window.
fn time_of_deletion(call: &Call, kind: &Kind) -> Result<Value, ApiError> {
    let now = now_ms();
    let body = call.json_object()?;
    let Some(given) = body.get("timeOfDeletion").filter(|v| !v.is_null()) else {
        return Ok(json!(rfc3339(now + 30 * DAY_MS)));
    };
    let at = given
        .as_str()
        .and_then(parse_rfc3339)
        .ok_or_else(|| ApiError::invalid(format!("timeOfDeletion must be an RFC 3339 time, got {given}.")))?;
    let windowed = kind.name == VAULT.name || kind.name == KEY.name;
    if windowed && !(now + 7 * DAY_MS - TRANSIT_MS..=now + 30 * DAY_MS + TRANSIT_MS).contains(&at) {
        return Err(ApiError::invalid(format!(
            "timeOfDeletion {} must be between 7 and 30 days from now ({} to {}).",
            rfc3339(at),
            rfc3339(now + 7 * DAY_MS),
            rfc3339(now + 30 * DAY_MS)
        )));
    }
    Ok(json!(rfc3339(at)))
}

/// A secret version as the vault service shows it (SecretVersion, SecretVersionSummary).
fn vault_version(versions: &Versions, version: &Value) -> Value {
    let mut out = versions.common(version);
    out.insert("name".into(), version.get("name").cloned().unwrap_or(Value::Null));
    out.insert("contentType".into(), json!("BASE64"));
    out.insert("isContentAutoGenerated".into(), json!(false));
    Value::Object(out)
}

/// `ListSecretVersions`.
fn secret_versions(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let secret = resource::find(&ctx.sim.store(), &ctx.region, &SECRET, call.param("id"))?;
    let mut items = Versions::of(&secret).summaries(vault_version);
    sorting::sort(&mut items, &call.query, sorting::SECRET_VERSIONS)?;
    resource::list_response(ListShape::Array, &items, call)
}

/// `GetSecretVersion`.
fn secret_version(ctx: &RegionCtx, call: &Call) -> Result<Response, ApiError> {
    let secret = resource::find(&ctx.sim.store(), &ctx.region, &SECRET, call.param("id"))?;
    let number = call
        .param("number")
        .parse::<u64>()
        .map_err(|_| ApiError::invalid(format!("secretVersionNumber `{}` is not a number.", call.param("number"))))?;
    let versions = Versions::of(&secret);
    let version = versions.select(&Wanted { number: Some(number), name: None, stage: None })?;
    Ok(json(200, &vault_version(&versions, version), &[]))
}
