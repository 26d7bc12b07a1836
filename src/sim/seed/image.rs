//! Builds a function's container image from its source directory, deterministically: one
//! gzip layer of a tar of the directory under `function/` (entries sorted, mtime 0, owner
//! 0:0, modes 0755/0644, gzip without a timestamp), an OCI image config whose command is
//! `func.yaml`'s `entrypoint`, and an OCI manifest. The same directory gives the same
//! digest on every machine. It builds bytes only; pushing is the caller's.

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::GzBuilder;
use serde_json::{json, Value};

use super::SeedError;
use crate::sim::registry::manifests::OCI_MANIFEST;
use crate::sim::registry::state::sha256_digest;

/// An image ready to push: its blobs and manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
    /// Digest of `manifest`.
    pub digest: String,
}

/// Command of a Python function when `func.yaml` names none (the Fn Python FDK's).
const DEFAULT_CMD: [&str; 3] = ["/python/bin/fdk", "/function/func.py", "handler"];

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> SeedError + '_ {
    move |source| SeedError::Read { path: path.to_path_buf(), source }
}

/// Every file and directory under `dir`, relative, sorted by path.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, bool)>, SeedError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(read_err(&current))? {
            let entry = entry.map_err(read_err(&current))?;
            let path = entry.path();
            let is_dir = entry.file_type().map_err(read_err(&path))?.is_dir();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
            if is_dir {
                stack.push(path);
            }
            out.push((rel, is_dir));
        }
    }
    out.sort();
    Ok(out)
}

fn tar_of(dir: &Path) -> Result<Vec<u8>, SeedError> {
    let mut builder = tar::Builder::new(Vec::new());
    let write_err = |e: std::io::Error| SeedError::Image { dir: dir.to_path_buf(), detail: e.to_string() };
    let header_for = |path: &str, size: u64, dir_entry: bool| -> Result<tar::Header, SeedError> {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).map_err(write_err)?;
        h.set_size(size);
        h.set_mode(if dir_entry { 0o755 } else { 0o644 });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(if dir_entry { tar::EntryType::Directory } else { tar::EntryType::Regular });
        h.set_cksum();
        Ok(h)
    };
    let root = header_for("function/", 0, true)?;
    builder.append(&root, std::io::empty()).map_err(write_err)?;
    for (rel, is_dir) in entries(dir)? {
        let name = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/");
        if is_dir {
            let h = header_for(&format!("function/{name}/"), 0, true)?;
            builder.append(&h, std::io::empty()).map_err(write_err)?;
        } else {
            let path = dir.join(&rel);
            let bytes = std::fs::read(&path).map_err(read_err(&path))?;
            let h = header_for(&format!("function/{name}"), bytes.len() as u64, false)?;
            builder.append(&h, bytes.as_slice()).map_err(write_err)?;
        }
    }
    builder.into_inner().map_err(write_err)
}

fn gzip(bytes: &[u8], dir: &Path) -> Result<Vec<u8>, SeedError> {
    use std::io::Write as _;
    let err = |e: std::io::Error| SeedError::Image { dir: dir.to_path_buf(), detail: e.to_string() };
    let mut gz = GzBuilder::new().mtime(0).write(Vec::new(), Compression::default());
    gz.write_all(bytes).map_err(err)?;
    gz.finish().map_err(err)
}

/// The command from `func.yaml`'s `entrypoint`, or the Python FDK's default.
fn command(dir: &Path) -> Vec<String> {
    let entrypoint = std::fs::read_to_string(dir.join("func.yaml"))
        .ok()
        .and_then(|text| crate::runbook::yaml::parse(&text).ok())
        .and_then(|doc| doc.to_json().get("entrypoint").and_then(Value::as_str).map(str::to_string));
    match entrypoint {
        Some(e) if !e.trim().is_empty() => e.split_whitespace().map(str::to_string).collect(),
        _ => DEFAULT_CMD.iter().map(|s| s.to_string()).collect(),
    }
}

/// Builds the image of the function whose source is `dir`.
pub fn build(dir: &Path) -> Result<BuiltImage, SeedError> {
    let tar = tar_of(dir)?;
    let layer = gzip(&tar, dir)?;
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": command(dir), "WorkingDir": "/function", "Env": ["FN_FORMAT=http-stream"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&tar)]},
    }))
    .unwrap_or_default();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256_digest(&layer), "size": layer.len()}],
    }))
    .unwrap_or_default();
    Ok(BuiltImage { digest: sha256_digest(&manifest), config, layer, manifest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_digest_whatever_the_mtime() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            std::fs::create_dir(d.join("lib")).unwrap();
            std::fs::write(d.join("func.py"), "def handler(ctx, data): pass\n").unwrap();
            std::fs::write(d.join("lib/x.txt"), "x").unwrap();
            std::fs::write(d.join("func.yaml"), "entrypoint: /python/bin/fdk /function/func.py handler\n").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(b.path().join("lib/x.txt"), "x").unwrap();
        let (ia, ib) = (build(a.path()).unwrap(), build(b.path()).unwrap());
        assert_eq!(ia, ib);
        let config: Value = serde_json::from_slice(&ia.config).unwrap();
        assert_eq!(config["config"]["Cmd"], json!(["/python/bin/fdk", "/function/func.py", "handler"]));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(ia.layer.as_slice()));
        let names: Vec<String> =
            archive.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            ["function/", "function/func.py", "function/func.yaml", "function/lib/", "function/lib/x.txt"]
        );
        std::fs::write(b.path().join("lib/x.txt"), "y").unwrap();
        assert_ne!(build(b.path()).unwrap().digest, ia.digest);
    }
}
