//! Reading and writing inventory files: YAML in (through the runbook YAML parser, so one
//! YAML reading rule holds across drctl), block YAML out with lists sorted by key.

use std::path::Path;

use super::emit::to_yaml;
use super::error::InventoryError;
use super::model::{Inventory, VERSION};
use crate::runbook::problem::line_col;
use crate::runbook::yaml::{Node, NodeKind};

/// Parses inventory text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Inventory, InventoryError> {
    let bad = |detail: String| InventoryError::Parse { path: path.to_path_buf(), detail };
    let doc = crate::runbook::yaml::parse(text).map_err(|e| {
        let (line, column) = line_col(text, e.span.start);
        bad(format!("line {line}, column {column}: {e}"))
    })?;
    // A key given twice in one map would keep only its last value, unseen.
    if let Some((first, again)) = doc.duplicate_key() {
        let (line, column) = line_col(text, again.span.start);
        let (first_line, _) = line_col(text, first.span.start);
        return Err(bad(format!(
            "`{}` is given twice in one map (line {line}, column {column}; first on line {first_line}); keep one",
            again.as_scalar().unwrap_or_default()
        )));
    }
    let inventory: Inventory = serde_json::from_value(doc.to_json())
        .map_err(|e| bad(top_error(text, &doc).or_else(|| item_error(text, &doc)).unwrap_or_else(|| e.to_string())))?;
    if inventory.version != VERSION {
        let (line, column) = doc.get("version").map_or((1, 1), |v| line_col(text, v.span.start));
        return Err(bad(format!(
            "line {line}, column {column}: version {} is not supported (expected {VERSION}); this drctl reads \
             inventories of version {VERSION}",
            inventory.version
        )));
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
                // A step that is a number is an index into a list.
                let mut node = nodes.get(n);
                for (depth, key) in inner.iter().enumerate() {
                    if let (Some(NodeKind::Seq(items)), Ok(i)) = (node.map(|n| &n.kind), key.parse::<usize>()) {
                        let Some(item) = items.get(i) else { break };
                        node = Some(item);
                        continue;
                    }
                    let Some((k, v)) = node.and_then(|m| entry(m, key)) else { break };
                    node = Some(if depth + 1 == inner.len() { k } else { v });
                }
                node.map_or(String::new(), |node| {
                    let (line, column) = line_col(text, node.span.start);
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
            let accepted: Vec<&str> = item.unknown_fields.iter().map(String::as_str).collect();
            for (field, value) in &item.spec {
                let nested =
                    crate::actions::oci::converge::fields::nested_misspellings(l.action, field, value, &accepted);
                if let Some(found) = nested.first() {
                    let mut path = vec!["spec", field.as_str()];
                    path.extend(found.path.iter().map(String::as_str));
                    return Err(bad(format!(
                        "{}: item `{}`{}: `spec.{}` is not a field there; did you mean `{}`? Correct the name; if \
                         OCI has a `{}` field there that drctl does not know yet, add `unknown_fields: [{}]` to the item",
                        l.list,
                        item.key,
                        at(&path),
                        found.place(field),
                        found.meant,
                        found.field,
                        found.field
                    )));
                }
            }
        }
    }
    Ok(inventory)
}

/// The first problem outside the lists, said with its place: a top-level or `source` key
/// that is not one (with the one it likely means), one that is missing, or a value of the wrong
/// type. `None` when the file reads but for its items.
fn top_error(text: &str, doc: &Node) -> Option<String> {
    const TOP: [&str; 3] = ["version", "source", "captured_at"];
    const SOURCE: [&str; 3] = ["region", "compartment_id", "namespace"];
    let at = |node: &Node| {
        let (line, column) = line_col(text, node.span.start);
        format!("line {line}, column {column}")
    };
    let NodeKind::Map(entries) = &doc.kind else {
        return Some(format!(
            "{}: an inventory is a map of `version`, `source`, `captured_at` and resource lists, not {}",
            at(doc),
            doc.type_name()
        ));
    };
    let lists = super::model::LISTS.map(|l| l.list);
    for (k, _) in entries {
        let key = k.as_scalar().unwrap_or_default();
        if !TOP.contains(&key) && !lists.contains(&key) {
            let hint = crate::runbook::de::did_you_mean(key, TOP.into_iter().chain(lists))
                .unwrap_or_else(|| format!("the top level holds {} and the resource lists", TOP.join(", ")));
            return Some(format!("{}: unknown top-level key `{key}`; {hint}", at(k)));
        }
    }
    if let Some(missing) = TOP.iter().find(|k| doc.get(k).is_none()) {
        return Some(format!(
            "`{missing}` is missing at the top level; add it (docs/inventory.md shows a whole file), or capture \
             the file again with `drctl inventory`"
        ));
    }
    let version = entry(doc, "version")?;
    if version.1.to_json().as_u64().is_none_or(|v| u32::try_from(v).is_err()) {
        return Some(format!(
            "{}: `version` must be a whole number, {VERSION}, not {}",
            at(version.0),
            version.1.type_name()
        ));
    }
    let captured = entry(doc, "captured_at")?;
    if captured.1.type_name() != "a string" {
        return Some(format!(
            "{}: `captured_at` must be a time as a string (\"2026-11-25T20:00:00Z\"), not {}",
            at(captured.0),
            captured.1.type_name()
        ));
    }
    let (source_key, source) = entry(doc, "source")?;
    let NodeKind::Map(fields) = &source.kind else {
        return Some(format!(
            "{}: `source` must be a map of {}, not {}",
            at(source_key),
            SOURCE.join(", "),
            source.type_name()
        ));
    };
    for (k, v) in fields {
        let key = k.as_scalar().unwrap_or_default();
        if !SOURCE.contains(&key) {
            let hint = crate::runbook::de::did_you_mean(key, SOURCE)
                .unwrap_or_else(|| format!("`source` holds {}", SOURCE.join(", ")));
            return Some(format!("{}: unknown key `source.{key}`; {hint}", at(k)));
        }
        if v.type_name() != "a string" {
            return Some(format!("{}: `source.{key}` must be a string, not {}", at(k), v.type_name()));
        }
    }
    let missing = SOURCE.iter().find(|k| source.get(k).is_none())?;
    let what = match *missing {
        "region" => "the region the inventory was captured in",
        "compartment_id" => "the OCID of the compartment it was captured from",
        _ => "the tenancy's Object Storage namespace",
    };
    Some(format!("{}: `source.{missing}` is missing; add {what}", at(source_key)))
}

/// The first item of a list that does not read as an item, said with its list, its key and its
/// place: a key an item does not have (with the one it likely means), or a value of the wrong
/// type. `None` when every item reads (the problem is elsewhere in the file).
fn item_error(text: &str, doc: &Node) -> Option<String> {
    const KEYS: [&str; 7] = ["key", "application", "vault", "image", "rules", "spec", "unknown_fields"];
    let at = |node: &Node| {
        let (line, column) = line_col(text, node.span.start);
        format!("line {line}, column {column}")
    };
    for l in super::model::LISTS {
        let Some(list) = doc.get(l.list) else { continue };
        let NodeKind::Seq(items) = &list.kind else {
            return Some(format!("{} ({}): must be a list of items, not {}", l.list, at(list), list.type_name()));
        };
        for (n, node) in items.iter().enumerate() {
            let name = node.get("key").and_then(Node::as_scalar).map_or(format!("#{}", n + 1), |k| format!("`{k}`"));
            if let NodeKind::Map(entries) = &node.kind {
                if let Some((k, _)) = entries.iter().find(|(k, _)| !k.as_scalar().is_some_and(|k| KEYS.contains(&k))) {
                    let key = k.as_scalar().unwrap_or_default();
                    let hint = crate::runbook::de::did_you_mean(key, KEYS)
                        .unwrap_or_else(|| format!("keys: {}", KEYS.join(", ")));
                    return Some(format!("{}: item {name} ({}): unknown key `{key}`; {hint}", l.list, at(k)));
                }
            }
            let wanted = |k: &str| match k {
                "spec" | "image" => "a map",
                "rules" | "unknown_fields" => "a list",
                _ => "a string",
            };
            for k in KEYS {
                let Some((key, value)) = entry(node, k) else { continue };
                let is = value.type_name();
                let fits = match wanted(k) {
                    "a map" => matches!(value.kind, NodeKind::Map(_)),
                    "a list" => matches!(value.kind, NodeKind::Seq(_)),
                    _ => is == "a string",
                };
                if !fits {
                    return Some(format!(
                        "{}: item {name} ({}): `{k}` must be {}, not {is}",
                        l.list,
                        at(key),
                        wanted(k)
                    ));
                }
            }
            if let Err(e) = serde_json::from_value::<super::model::Item>(node.to_json()) {
                // The entry the message names, where it says which.
                let place =
                    KEYS.iter().find_map(|k| entry(node, k).filter(|_| e.to_string().contains(&format!("`{k}`"))));
                let place = place.map_or(node, |(k, _)| k);
                return Some(format!("{}: item {name} ({}): {e}", l.list, at(place)));
            }
        }
    }
    None
}

/// The key and value nodes of `key` in a map node.
fn entry<'a>(map: &'a Node, key: &str) -> Option<(&'a Node, &'a Node)> {
    match &map.kind {
        NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(k, v)| (k, v)),
        _ => None,
    }
}

/// Reads an inventory file.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    let text =
        crate::input::read_text(path).map_err(|source| InventoryError::Read { path: path.to_path_buf(), source })?;
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
        let head = "version: 1\nsource: { region: us-ashburn-1, compartment_id: c, namespace: n }\ncaptured_at: x\n";
        let err =
            parse(&format!("{head}vcns:\n- key: a\n  spec: a-vcn\n"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("vcns: item `a` (line 6, column 3): `spec` must be a map, not a string"), "{err}");
        let err = parse(&format!("{head}functions:\n- key: f\n  aplication: o\n  spec: {{}}\n"), Path::new("inv.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(
                "functions: item `f` (line 6, column 3): unknown key `aplication`; did you mean `application`?"
            ),
            "{err}"
        );
        let err =
            parse(&format!("{head}vcns:\n- key: 5\n  spec: {{}}\n"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("vcns: item `5` (line 5, column 3): `key` must be a string, not a number"), "{err}");
        let err = parse(
            &format!("{head}vcns:\n- key: a\n  spec:\n    displayName: a\n    displayName: b\n"),
            Path::new("inv.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with("`displayName` is given twice in one map (line 8, column 5; first on line 7); keep one"),
            "{err}"
        );
        let err = parse(
            &format!(
                "{head}route_tables:\n- key: rt\n  spec:\n    routeRules:\n    - destination: a\n    - destinaton: b\n"
            ),
            Path::new("inv.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.ends_with(
                "route_tables: item `rt` (line 9, column 7): `spec.routeRules[1].destinaton` is not a field there; did \
                 you mean `destination`? Correct the name; if OCI has a `destinaton` field there that drctl does not \
                 know yet, add `unknown_fields: [destinaton]` to the item"
            ),
            "{err}"
        );
        let err = parse("version: 1\nsource: { region: r\n", Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.contains("inv.yaml is not a valid inventory: line 2, column 1: "), "{err}");
        let err = parse(&format!("{head}capturd_at: y\n"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(
            err.ends_with("line 4, column 1: unknown top-level key `capturd_at`; did you mean `captured_at`?"),
            "{err}"
        );
        let err = parse(&head.replace("version: 1", "version: 2"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.contains("line 1, column 10: version 2 is not supported (expected 1)"), "{err}");
        let err = parse(&head.replace("version: 1", "version: one"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("line 1, column 1: `version` must be a whole number, 1, not a string"), "{err}");
        let err = parse(&head.replace("namespace: n", "namespac: n"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("line 2, column 52: unknown key `source.namespac`; did you mean `namespace`?"), "{err}");
        let err = parse(&head.replace(", namespace: n", ""), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "line 2, column 1: `source.namespace` is missing; add the tenancy's Object Storage namespace"
            ),
            "{err}"
        );
        let err = parse(&head.replace("captured_at: x\n", ""), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.contains("`captured_at` is missing at the top level; add it"), "{err}");
        let err = parse("- a\n", Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("line 1, column 1: an inventory is a map of `version`, `source`, `captured_at` and resource lists, not a list"), "{err}");
        let err = parse(&format!("{head}vcns: {{ a: 1 }}\n"), Path::new("inv.yaml")).unwrap_err().to_string();
        assert!(err.ends_with("vcns (line 4, column 7): must be a list of items, not a map"), "{err}");
    }
}
