//! The lifecycle states each resource kind has in OCI, from the `LIFECYCLE_STATE_*` values of
//! Oracle's Python SDK models (2.189). A list filtered by any other `lifecycleState` is a 400,
//! as in OCI, rather than an empty list that would read as "nothing there".

/// The states of the kind named `kind` (the simulator's kind name); empty when not known.
pub fn of(kind: &str) -> &'static [&'static str] {
    const FUNCTIONS: &[&str] = &["ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "INACTIVE", "UPDATING"];
    const CORE: &[&str] = &["AVAILABLE", "PROVISIONING", "TERMINATED", "TERMINATING"];
    const CORE_UPDATING: &[&str] = &["AVAILABLE", "PROVISIONING", "TERMINATED", "TERMINATING", "UPDATING"];
    const IDENTITY: &[&str] = &["ACTIVE", "CREATING", "DELETED", "DELETING", "INACTIVE"];
    const LOGGING: &[&str] = &["ACTIVE", "CREATING", "DELETING", "FAILED", "INACTIVE", "UPDATING"];
    const GATEWAY: &[&str] = &["ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "UPDATING"];
    match kind {
        "functions.application" | "functions.function" | "events.rule" | "resourcescheduler.schedule" => FUNCTIONS,
        "core.vcn" | "core.subnet" => CORE_UPDATING,
        "core.routetable"
        | "core.securitylist"
        | "core.networksecuritygroup"
        | "core.servicegateway"
        | "core.natgateway"
        | "core.internetgateway"
        | "core.dhcpoptions" => CORE,
        "identity.compartment" | "identity.policy" | "identity.dynamicgroup" => IDENTITY,
        "artifacts.containerrepository" => &["AVAILABLE", "DELETED", "DELETING"],
        "kms.vault" => &[
            "ACTIVE",
            "BACKUP_IN_PROGRESS",
            "CANCELLING_DELETION",
            "CREATING",
            "DELETED",
            "DELETING",
            "PENDING_DELETION",
            "RESTORING",
            "SCHEDULING_DELETION",
            "UPDATING",
        ],
        "kms.key" => &[
            "BACKUP_IN_PROGRESS",
            "CANCELLING_DELETION",
            "CREATING",
            "DELETED",
            "DELETING",
            "DISABLED",
            "DISABLING",
            "ENABLED",
            "ENABLING",
            "PENDING_DELETION",
            "RESTORING",
            "SCHEDULING_DELETION",
            "UPDATING",
        ],
        "vault.secret" => &[
            "ACTIVE",
            "CANCELLING_DELETION",
            "CREATING",
            "DELETED",
            "DELETING",
            "FAILED",
            "PENDING_DELETION",
            "SCHEDULING_DELETION",
            "UPDATING",
        ],
        "logging.loggroup" | "logging.log" => LOGGING,
        "monitoring.alarm" => &["ACTIVE", "DELETED", "DELETING"],
        "apigateway.gateway" | "apigateway.deployment" => GATEWAY,
        "sch.serviceconnector" => {
            &["ACTIVE", "CREATING", "DELETED", "DELETING", "FAILED", "INACTIVE", "NEEDS_ATTENTION", "UPDATING"]
        }
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_has_its_states_and_they_hold_its_lifecycle() {
        for kind in crate::sim::services::kinds() {
            let states = super::of(kind.name);
            assert!(!states.is_empty(), "{}", kind.name);
            let lc = kind.lifecycle;
            let mut own = vec![lc.active, lc.deleting];
            own.extend(lc.creating);
            for state in own {
                // Logging has no DELETED state: a deleted log group is gone.
                assert!(states.contains(&state) || state == "DELETED", "{}: {state}", kind.name);
            }
        }
    }
}
