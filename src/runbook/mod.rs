//! Runbooks: the YAML model, loading with source spans, expressions and validation.

pub mod expr;
