//! Inventories (contract C3): what a compartment of a region holds, captured live through
//! the signed OCI client ([`capture`]), kept as a YAML file ([`file`]), and loaded with a
//! fallback to a saved file when the region does not answer ([`load_or_saved`]).
//!
//! Layout: `model` (the file's types), `file` and `emit` (YAML in and out), `sources`
//! (where each list is read from), `normalize` (server-filled fields out), `refs`
//! (`@{kind:key}` in and out), `capture`, `fallback`. It only reads from OCI, never writes,
//! and never holds a secret's value.

pub mod capture;
mod emit;
pub mod error;
pub mod fallback;
pub mod file;
pub mod model;
pub mod normalize;
pub mod refs;
pub mod sources;

pub use capture::capture;
pub use error::InventoryError;
pub use fallback::{load_or_saved, Loaded, Origin};
pub use file::{load, parse, render, save};
pub use model::{ImageInfo, Inventory, Item, ListKind, Source, LISTS};
