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
pub mod problem;
pub mod retry;
pub mod schema;
pub mod validate;
pub mod yaml;
mod yaml_fast;

pub use checked::Runbook;
pub use problem::{Invalid, Problem};
pub use validate::load;
