//! Shared by the simulator's integration tests: a simulator directory made by
//! `drctl sim init`'s code, the simulator launched in-process exactly as
//! `drctl sim --dir DIR` launches it, and a production `OciClient` pointed at it through
//! the endpoints file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use drctl::oci::key::load_private_key_file;
use drctl::oci::{Endpoints, OciClient, RequestSigner, RetryPolicy};
use drctl::sim::cli::{launch, Launched, ServeArgs};
use drctl::sim::setup::{self, SimIdentity};

pub struct TestSim {
    pub dir: tempfile::TempDir,
    pub identity: SimIdentity,
    pub launched: Launched,
}

impl TestSim {
    /// Initialises a directory and serves it with `tweak` applied to the default options.
    pub async fn start(tweak: impl FnOnce(&mut ServeArgs)) -> TestSim {
        let dir = tempfile::tempdir().unwrap();
        let identity = setup::init(dir.path(), "us-ashburn-1").unwrap();
        let mut args = ServeArgs::for_dir(dir.path());
        args.latency = Duration::from_millis(30);
        tweak(&mut args);
        let launched = launch(&args).await.unwrap();
        TestSim { dir, identity, launched }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn endpoints_file(&self) -> PathBuf {
        self.dir.path().join(setup::ENDPOINTS)
    }

    pub fn base(&self, region: &str) -> String {
        self.launched.running.endpoints[region].clone()
    }

    pub fn signer(&self) -> RequestSigner {
        let key = load_private_key_file(&self.identity.key_file, None).unwrap();
        RequestSigner::api_key(&self.identity.tenancy, &self.identity.user, &self.identity.fingerprint, key)
    }

    /// The production client, endpoints from `endpoints.json`, without retries so tests
    /// see each status as served.
    pub fn client(&self) -> OciClient {
        self.client_with(self.signer())
    }

    pub fn client_with(&self, signer: RequestSigner) -> OciClient {
        OciClient::builder(signer)
            .endpoints(Endpoints::from_file(&self.endpoints_file()).unwrap())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }
}
