//! Runbooks: the YAML model, loading with source spans, expressions and validation.

pub mod expr;
pub mod de;
pub mod yaml;
pub mod duration;
pub mod model;
pub mod retry;
