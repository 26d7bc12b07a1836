//! Reading and writing inventory files: YAML in (through the runbook YAML parser, so one
//! YAML reading rule holds across drctl), block YAML out with lists sorted by key.

use std::path::Path;

use super::emit::to_yaml;
use super::error::InventoryError;
use super::model::{Inventory, VERSION};
use crate::runbook::yaml::{Node, NodeKind};

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
        let nodes = match doc.get(l.list).map(|n| &n.kind) {
            Some(NodeKind::Seq(items)) => items.as_slice(),
            _ => &[],
        };
        for (n, item) in inventory.list(l.list).iter().enumerate() {
            // Where the item, or a key inside it, is written: `line L, column C`.
            let at = |inner: &[&str]| {
                // The deepest node of the path that is there; the last key itself, not its value.
                let mut node = nodes.get(n);
                for (depth, key) in inner.iter().enumerate() {
                    let Some((k, v)) = node.and_then(|m| entry(m, key)) else { break };
                    node = Some(if depth + 1 == inner.len() { k } else { v });
                }
                node.map_or(String::new(), |node| {
                    let (line, column) = line_column(text, node.span.start);
                    format!(" (line {line}, column {column})")
                })
            };
            if !seen.insert(item.key.as_str()) {
                return Err(bad(format!("{}: key `{}` appears twice{}", l.list, item.key, at(&["key"]))));
            }
            // A misspelled field would be sent as written and the resource made without it.
            for field in item.spec.keys().filter(|f| !item.unknown_fields.contains(f)) {
                if let Some(meant) = crate::actions::oci::converge::fields::misspelling(l.action, field) {
                    let noun =
                        crate::actions::oci::converge::kinds::ResourceKind::find(l.action).map_or(l.kind, |k| k.noun);
                    return Err(bad(format!(
                        "{}: item `{}`{}: `spec.{field}` is not a field of a {noun}; did you mean `{meant}`? Correct \
                         the name; if OCI has a `{field}` field that drctl does not know yet, add `unknown_fields: \
                         [{field}]` to the item",
                        l.list,
                        item.key,
                        at(&["spec", field])
                    )));
                }
            }
        }
    }
    Ok(inventory)
}

/// The key and value nodes of `key` in a map node.
fn entry<'a>(map: &'a Node, key: &str) -> Option<(&'a Node, &'a Node)> {
    match &map.kind {
        NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(k, v)| (k, v)),
        _ => None,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_errors_name_their_line_and_column() {
        let text = "version: 1\nsource: { region: us-ashburn-1, compartment_id: c, namespace: n }\ncaptured_at: x\nvcns:\n- key: a\n  spec: { displayName: a }\n- key: a\n  spec: { displayName: b }\n";
        let err = parse(text, Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("vcns: key `a` appears twice (line 7, column 3)"), "{err}");
        let text = "version: 1\nsource: { region: us-ashburn-1, compartment_id: c, namespace: n }\ncaptured_at: x\nvcns:\n- key: a\n  spec:\n    displayName: a\n    cidrBlok: [10.0.0.0/16]\n";
        let err = parse(text, Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(
            err.contains("vcns: item `a` (line 8, column 5): `spec.cidrBlok` is not a field of a VCN; did you mean"),
            "{err}"
        );
    }
}
