//! The polymorphic objects nested in some resource bodies: an API deployment's
//! `specification` (a route's backend is an HTTP backend, a function, a stock response...), a
//! connector's `source`, `tasks` and `target` (by `kind`), a gateway's cache and CA bundles, a
//! schedule's resources and filters. Their fields come from `schemas/oci-models.json`, which
//! `schemas/oci_models.py` writes from the models of Oracle's Python SDK. Where a model has
//! variants, the value of its discriminator (`type`, `kind`) picks the variant's fields.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use super::field_types::{Want, WrongType};
use super::fields::Nested;

#[derive(Deserialize)]
struct File {
    roots: BTreeMap<String, Root>,
    models: BTreeMap<String, BTreeMap<String, Model>>,
}

#[derive(Deserialize)]
struct Root {
    service: String,
    fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Model {
    fields: BTreeMap<String, String>,
    #[serde(default)]
    discriminator: Option<String>,
    #[serde(default)]
    variants: BTreeMap<String, String>,
    /// The discriminator's values, for messages.
    #[serde(skip)]
    values: Vec<&'static str>,
}

static FILE: LazyLock<File> = LazyLock::new(|| {
    // The file is part of the source, checked by a test; it cannot be malformed at run time.
    let mut file: File = serde_json::from_str(include_str!("../../../../schemas/oci-models.json"))
        .unwrap_or_else(|e| panic!("schemas/oci-models.json: {e}"));
    for models in file.models.values_mut() {
        for model in models.values_mut() {
            model.values = model.variants.keys().map(|k| &*Box::leak(k.clone().into_boxed_str())).collect();
        }
    }
    file
});

/// The SDK type of top-level field `top` of an `action` body, with its service's models, when
/// drctl checks it from the models.
fn root(action: &str, top: &str) -> Option<(&'static BTreeMap<String, Model>, &'static str)> {
    let file: &'static File = &FILE;
    let root = file.roots.get(action)?;
    Some((file.models.get(&root.service)?, root.fields.get(top)?.as_str()))
}

/// Whether the models describe top-level field `top` of an `action` body.
pub fn describes(action: &str, top: &str) -> bool {
    root(action, top).is_some()
}

/// What a walk finds.
#[derive(Default)]
struct Found {
    misspelled: Vec<Nested>,
    wrong: Vec<WrongType>,
}

/// Misspelled fields inside top-level field `top` of an `action` body; names in `accepted`
/// are taken as written.
pub fn misspellings(action: &str, top: &str, value: &Value, accepted: &[&str]) -> Vec<Nested> {
    walk_root(action, top, value, accepted).misspelled
}

/// Values inside top-level field `top` of an `action` body that are not of their field's
/// type, and discriminators (`type`, `kind`) naming no variant.
pub fn wrong_types(action: &str, top: &str, value: &Value) -> Vec<WrongType> {
    walk_root(action, top, value, &[]).wrong
}

fn walk_root(action: &str, top: &str, value: &Value, accepted: &[&str]) -> Found {
    let mut found = Found::default();
    if let Some((models, sdk_type)) = root(action, top) {
        let mut walk = Walk { models, accepted, found: &mut found, path: Vec::new() };
        walk.value(sdk_type, value);
    }
    found
}

struct Walk<'a> {
    models: &'static BTreeMap<String, Model>,
    accepted: &'a [&'a str],
    found: &'a mut Found,
    path: Vec<String>,
}

/// A field's type in the SDK's notation: `str`, `list[X]`, `dict(str, X)`, a model's name.
enum Sdk<'t> {
    Scalar(Want),
    Any,
    List(&'t str),
    Map(&'t str),
    Model(&'t str),
}

fn sdk(text: &str) -> Sdk<'_> {
    if let Some(inner) = text.strip_prefix("list[").and_then(|t| t.strip_suffix(']')) {
        return Sdk::List(inner);
    }
    if let Some(inner) = text.strip_prefix("dict(str, ").and_then(|t| t.strip_suffix(')')) {
        return Sdk::Map(inner);
    }
    match text {
        "str" | "datetime" | "date" => Sdk::Scalar(Want::Text),
        "int" => Sdk::Scalar(Want::Integer),
        "float" => Sdk::Scalar(Want::Number),
        "bool" => Sdk::Scalar(Want::Bool),
        "object" => Sdk::Any,
        model => Sdk::Model(model),
    }
}

fn unresolved(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.contains("${{"))
}

impl Walk<'_> {
    fn value(&mut self, sdk_type: &'static str, value: &Value) {
        if value.is_null() || unresolved(value) {
            return;
        }
        match sdk(sdk_type) {
            Sdk::Any => {}
            Sdk::Scalar(want) => {
                if !want.fits(value) {
                    self.found.wrong.push(WrongType {
                        path: self.path.clone(),
                        want,
                        found: crate::runbook::expr::type_name(value).to_owned(),
                    });
                }
            }
            Sdk::List(inner) => {
                if let Value::Array(items) = value {
                    for (i, item) in items.iter().enumerate() {
                        self.path.push(i.to_string());
                        self.value(inner, item);
                        self.path.pop();
                    }
                }
            }
            Sdk::Map(inner) => {
                if let Value::Object(map) = value {
                    for (key, item) in map {
                        self.path.push(key.clone());
                        self.value(inner, item);
                        self.path.pop();
                    }
                }
            }
            Sdk::Model(name) => {
                if let (Value::Object(map), Some(model)) = (value, self.models.get(name)) {
                    self.object(model, map);
                }
            }
        }
    }

    /// An object of `model`: its variant's fields when its discriminator names one, else the
    /// fields of every variant.
    fn object(&mut self, model: &'static Model, map: &serde_json::Map<String, Value>) {
        let chosen = model.discriminator.as_ref().and_then(|key| {
            let value = map.get(key)?;
            let variant = value.as_str().and_then(|v| model.variants.get(v)).and_then(|v| self.models.get(v));
            if variant.is_none() && value.is_string() && !unresolved(value) {
                self.path.push(key.clone());
                self.found.wrong.push(WrongType {
                    path: self.path.clone(),
                    want: Want::OneOf(&model.values),
                    found: format!("`{}`", value.as_str().unwrap_or_default()),
                });
                self.path.pop();
            }
            variant
        });
        let candidates: Vec<&'static Model> = match chosen {
            Some(variant) => vec![variant],
            None => std::iter::once(model).chain(model.variants.values().filter_map(|v| self.models.get(v))).collect(),
        };
        let known: BTreeSet<&'static str> =
            candidates.iter().flat_map(|m| m.fields.keys().map(String::as_str)).collect();
        let known: Vec<&'static str> = known.into_iter().collect();
        for (key, inner) in map {
            self.path.push(key.clone());
            // A field the candidates agree on the type of; a variant not yet known leaves
            // the rest unchecked.
            let mut types = candidates.iter().filter_map(|m| m.fields.get(key));
            match types.next() {
                Some(first) if types.all(|t| t == first) => self.value(first, inner),
                Some(_) => {}
                None => {
                    if !self.accepted.contains(&key.as_str()) {
                        if let Some(meant) = super::fields::closest(key, &known) {
                            self.found.misspelled.push(Nested { path: self.path.clone(), field: key.clone(), meant });
                        }
                    }
                }
            }
            self.path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn places(found: &[WrongType]) -> Vec<String> {
        found.iter().map(|w| format!("{} {}", w.place("specification"), w.found)).collect()
    }

    #[test]
    fn the_models_file_reads_and_every_named_model_is_in_it() {
        for (action, root) in &FILE.roots {
            let models = &FILE.models[&root.service];
            let named = root.fields.values().chain(models.values().flat_map(|m| m.fields.values()));
            for text in named {
                let name = match sdk(text) {
                    Sdk::List(inner) | Sdk::Map(inner) => inner,
                    _ => text.as_str(),
                };
                if let Sdk::Model(name) = sdk(name) {
                    assert!(models.contains_key(name), "{action}: {name} is not in the models");
                }
            }
            for model in models.values() {
                for variant in model.variants.values() {
                    assert!(models.contains_key(variant), "{action}: variant {variant} is missing");
                }
            }
        }
    }

    #[test]
    fn a_variant_is_picked_by_its_discriminator() {
        let spec = json!({"routes": [
            {"path": "/a", "methods": ["GET"], "backend": {"type": "HTTP_BACKEND", "url": "https://x", "readTimeoutInSeconds": "60"}},
            {"path": "/b", "backend": {"type": "ORACLE_FUNCTIONS_BACKEND", "functionID": "ocid1.fnfunc.x"}},
            {"path": "/c", "backend": {"type": "STOCK_RESPONSE_BACKEND", "status": "200", "body": "ok"}},
            {"path": "/d", "backend": {"type": "HTTP_BAKEND", "url": "https://x"}},
            {"path": "/e", "backend": {"type": "${{ params.kind }}", "url": 5}}
        ]});
        let wrong = wrong_types("oci.apigateway.deployment", "specification", &spec);
        assert_eq!(
            places(&wrong),
            [
                "specification.routes[0].backend.readTimeoutInSeconds a string",
                "specification.routes[2].backend.status a string",
                "specification.routes[3].backend.type `HTTP_BAKEND`",
                "specification.routes[4].backend.url a number",
            ]
        );
        assert!(wrong[2].want.describe().contains("`HTTP_BACKEND`"));
        let slips = misspellings("oci.apigateway.deployment", "specification", &spec, &[]);
        let got: Vec<(String, &str)> = slips.iter().map(|n| (n.place("specification"), n.meant)).collect();
        assert_eq!(got, [("specification.routes[1].backend.functionID".to_owned(), "functionId")]);
        assert!(misspellings("oci.apigateway.deployment", "specification", &spec, &["functionID"]).is_empty());
    }

    #[test]
    fn connectors_are_checked_by_kind_and_free_form_maps_are_not() {
        let source = json!({"kind": "logging", "logSources": [{"compartmentId": "c", "logGroupID": "g"}]});
        let slips = misspellings("oci.sch.connector", "source", &source, &[]);
        assert_eq!(slips.len(), 1);
        assert_eq!(slips[0].meant, "logGroupId");
        let target = json!({"kind": "functions", "functionId": "f", "batchSizeInKbs": 5.5});
        let wrong = wrong_types("oci.sch.connector", "target", &target);
        assert_eq!(wrong.len(), 1);
        assert_eq!(wrong[0].want, Want::Integer);
        let plugin = json!({"kind": "plugin", "pluginName": "QueueSource", "configMap": {"queueId": 5}});
        assert!(wrong_types("oci.sch.connector", "source", &plugin).is_empty());
        // No discriminator: the fields of every variant are known.
        let loose = json!({"streamId": "s", "cursr": {}});
        assert_eq!(misspellings("oci.sch.connector", "source", &loose, &[])[0].meant, "cursor");
        assert!(!describes("oci.sch.connector", "displayName"));
    }
}
