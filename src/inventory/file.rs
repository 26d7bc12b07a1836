//! Reading and writing inventory files: YAML in (through the runbook YAML parser, so one
//! YAML reading rule holds across drctl), block YAML out with lists sorted by key.

use std::path::Path;

use super::emit::to_yaml;
use super::error::InventoryError;
use super::model::{Inventory, VERSION};

/// Parses inventory text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Inventory, InventoryError> {
    let bad = |detail: String| InventoryError::Parse { path: path.to_path_buf(), detail };
    let doc = crate::runbook::yaml::parse(text).map_err(|e| bad(e.to_string()))?;
    let inventory: Inventory = serde_json::from_value(doc.to_json()).map_err(|e| bad(e.to_string()))?;
    if inventory.version != VERSION {
        return Err(bad(format!("version {} is not supported (expected {VERSION})", inventory.version)));
    }
    for l in super::model::LISTS {
        let mut seen = std::collections::BTreeSet::new();
        for item in inventory.list(l.list) {
            if !seen.insert(item.key.as_str()) {
                return Err(bad(format!("{}: key `{}` appears twice", l.list, item.key)));
            }
            // A misspelled field would be sent as written and the resource made without it.
            for field in item.spec.keys().filter(|f| !item.unknown_fields.contains(f)) {
                if let Some(meant) = crate::actions::oci::converge::fields::misspelling(l.action, field) {
                    let noun =
                        crate::actions::oci::converge::kinds::ResourceKind::find(l.action).map_or(l.kind, |k| k.noun);
                    return Err(bad(format!(
                        "{}: item `{}`: `spec.{field}` is not a field of a {noun}; did you mean `{meant}`? Correct the \
                         name; if OCI has a `{field}` field that drctl does not know yet, add `unknown_fields: \
                         [{field}]` to the item",
                        l.list, item.key
                    )));
                }
            }
        }
    }
    Ok(inventory)
}

/// Reads an inventory file.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| InventoryError::Read { path: path.to_path_buf(), source })?;
    parse(&text, path)
}

/// The inventory as YAML text, lists sorted by key.
pub fn render(inventory: &Inventory) -> String {
    let mut sorted = inventory.clone();
    sorted.sort();
    to_yaml(&serde_json::to_value(&sorted).unwrap_or_default())
}

/// Writes an inventory file.
pub fn save(inventory: &Inventory, path: &Path) -> Result<(), InventoryError> {
    std::fs::write(path, render(inventory)).map_err(|source| InventoryError::Write { path: path.to_path_buf(), source })
}
