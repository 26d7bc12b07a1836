//! What a person sees: progress, terminal output, and the masking of secrets.

pub mod redact;
