//! The JSON Schema of the runbook format, generated from the model types.

use super::model::RunbookDoc;

/// The schema as pretty JSON, as checked in at `schemas/runbook.schema.json`.
pub fn runbook_schema() -> String {
    let schema = schemars::schema_for!(RunbookDoc);
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
