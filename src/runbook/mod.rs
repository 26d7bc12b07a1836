//! Runbooks: the YAML model, loading with source spans, expressions and validation.
//!
//! The flow is `yaml` (a tree with spans) → `de` + `model` (typed, as written) → `validate`
//! (every problem reported at once, as diagnostics) → `checked::Runbook`, the only form later
//! stages see.

pub mod checked;
pub mod de;
pub mod duration;
pub mod expr;
pub mod model;
pub mod retry;
pub mod yaml;

pub use checked::Runbook;
