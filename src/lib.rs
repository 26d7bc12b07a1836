//! drctl: a declarative runbook execution engine for cloud disaster recovery.
//!
//! The modules follow the data flow of a run: a YAML [`runbook`] is loaded with spans and
//! validated, turned into a dependency [`graph`], previewed as a [`plan`], executed by the
//! [`engine`] through [`actions`], and made durable by [`checkpoint`]; [`report`] tells afterwards what a run did. The [`oci`] and
//! [`registry`] modules are the clients the cloud actions use; [`sim`] is the local OCI
//! simulator, which production modules never import.

pub mod actions;
pub mod call_retries;
pub mod causes;
pub mod checkpoint;
pub mod cleanup;
pub mod cli;
pub mod engine;
pub mod graph;
pub mod hash;
pub mod input;
pub mod inventory;
pub mod oci;
pub mod plan;
pub mod registry;
pub mod report;
pub mod runbook;
pub mod sim;
pub mod tls;
pub mod ui;
