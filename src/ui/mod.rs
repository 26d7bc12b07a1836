//! What a person sees: progress, terminal output, and the masking of secrets.

pub mod progress;
pub mod redact;
