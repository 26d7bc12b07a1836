//! The runbook expression language (`${{ ... }}`).
