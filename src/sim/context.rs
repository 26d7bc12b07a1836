//! The shared simulator ([`Sim`]: settings, accepted keys, state, faults) and the
//! per-listener view of it ([`RegionCtx`]) that every handler receives.
//!
//! All state sits behind one mutex that is never held across an `await`; every access
//! first settles due lifecycle transitions so readers always see the current state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::auth::Keyring;
use super::faults::Faults;
use super::store::{now_ms, Store};

/// What the simulator is configured with at start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Region ids, one listener each, in order (port-base + index).
    pub regions: Vec<String>,
    /// Identity writes are accepted only here.
    pub home_region: String,
    /// Time from CREATING to ACTIVE (and DELETING to DELETED, work request to done).
    pub latency: Duration,
    /// Tenancy OCID: the root compartment.
    pub tenancy: String,
    /// Object Storage namespace of the tenancy.
    pub namespace: String,
    /// Service limits by name (see `services/limits.rs`), overriding the defaults.
    pub limits: BTreeMap<String, u64>,
    /// Basic credentials the registry (`/v2/`) requires; `None` serves it anonymously.
    pub registry_auth: Option<(String, String)>,
}

impl Settings {
    pub fn latency_ms(&self) -> u64 {
        self.latency.as_millis() as u64
    }
}

/// The whole simulator, shared by every region listener and the admin listener.
#[derive(Debug)]
pub struct Sim {
    pub settings: Settings,
    pub keys: Keyring,
    store: Mutex<Store>,
    pub faults: Faults,
    /// Base URL of each region's listener, filled in once bound.
    bases: Mutex<BTreeMap<String, String>>,
    /// Signalled on every state change, for the state saver.
    pub changed: Notify,
    /// Changes so far, and how many of them the state file holds (see [`Sim::durable`]).
    version: AtomicU64,
    saved: tokio::sync::watch::Sender<u64>,
    /// Why the last save failed, until one succeeds.
    save_error: Mutex<Option<String>>,
    /// Whether a saver keeps a state file (`--state`).
    saving: AtomicBool,
    /// One gate per `opc-retry-token` in use, so concurrent first uses of a token are handled
    /// one after the other: the second sees the first's recorded result instead of creating again.
    retry_gates: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Sim {
    pub fn new(settings: Settings, keys: Keyring, store: Store) -> Arc<Sim> {
        Arc::new(Sim {
            settings,
            keys,
            store: Mutex::new(store),
            faults: Faults::default(),
            bases: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            version: AtomicU64::new(0),
            saved: tokio::sync::watch::Sender::new(0),
            save_error: Mutex::new(None),
            saving: AtomicBool::new(false),
            retry_gates: Mutex::new(BTreeMap::new()),
        })
    }

    /// The gate of one retry token (see [`Sim::retry_gates`]).
    pub fn retry_gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self.retry_gates.lock().unwrap_or_else(|p| p.into_inner());
        // Gates nobody holds any more are of requests that have ended: forgotten, so that the
        // map holds only the tokens in flight rather than every token ever used.
        gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        gates.entry(key.to_owned()).or_default().clone()
    }

    /// The store with due transitions applied. Hold it briefly, never across an await.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked mid-update leaves plain data behind; keep serving it.
        let mut guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        guard.settle(now_ms());
        guard
    }

    /// Records that state changed (the saver writes it out).
    pub fn touch(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// A saver keeps the state file from now on: answers to changes wait for it.
    pub(super) fn keep_saved(&self) {
        self.saving.store(true, Ordering::SeqCst);
    }

    /// The saver's side: the changes a snapshot taken now holds (read before taking it).
    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// The saver's side: writing the changes up to `version` ended, with the error that
    /// kept them from the state file if any.
    pub(super) fn saved(&self, version: u64, error: Option<String>) {
        *self.save_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
        self.saved.send_if_modified(|saved| {
            let newer = version > *saved;
            *saved = (*saved).max(version);
            newer
        });
    }

    /// Returns once the state file holds every change made so far, when there is one: an
    /// answer is given only for what a restart keeps, as OCI's are. A client that recorded
    /// the answer (a run's journal) and then lost the simulator with it (a killed `drctl run
    /// --sim`) finds the same state at its resume.
    /// Errs with why when the state file could not be written.
    pub async fn durable(&self) -> Result<(), String> {
        if !self.saving.load(Ordering::SeqCst) {
            return Ok(());
        }
        let version = self.version.load(Ordering::SeqCst);
        let mut saved = self.saved.subscribe();
        let _ = saved.wait_for(|s| *s >= version).await;
        match self.save_error.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }

    pub fn set_base(&self, region: &str, base: String) {
        self.bases.lock().unwrap_or_else(|p| p.into_inner()).insert(region.to_string(), base);
    }

    /// The base URL of a region's listener (empty before it is bound).
    pub fn base(&self, region: &str) -> String {
        self.bases.lock().unwrap_or_else(|p| p.into_inner()).get(region).cloned().unwrap_or_default()
    }

    pub fn bases(&self) -> BTreeMap<String, String> {
        self.bases.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A handler's view: the simulator and the region of the listener that took the request.
#[derive(Debug, Clone)]
pub struct RegionCtx {
    pub sim: Arc<Sim>,
    pub region: String,
}

impl RegionCtx {
    pub fn is_home(&self) -> bool {
        self.region == self.sim.settings.home_region
    }
}
