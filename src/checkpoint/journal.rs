//! The journal writer: the one place that writes a run's journal and task logs.
//!
//! Records are handed to a dedicated thread, which writes everything that has queued up in one
//! `write` and makes it durable with one `fdatasync` (group commit), then acknowledges each
//! record. The engine starts a task only after its `start` record is acknowledged, and since the
//! file is written in order, that also proves every record before it (for example the `done`
//! records of its dependencies) is on disk. Nothing blocking runs on the async runtime.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::record::{encode, Record};
use super::CheckpointError;

enum Message {
    Record { bytes: Vec<u8>, ack: Option<oneshot::Sender<Result<(), String>>> },
    Log { file: String, text: String },
    Flush(oneshot::Sender<Result<(), String>>),
}

/// A handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Message>,
}

/// Resolves once a record is on disk.
pub struct Ack(oneshot::Receiver<Result<(), String>>);

impl Ack {
    pub async fn wait(self) -> Result<(), CheckpointError> {
        match self.0.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CheckpointError::Write(e)),
            Err(_) => Err(CheckpointError::Write("journal writer stopped".into())),
        }
    }
}

impl Journal {
    /// Opens (creating if needed) the journal at `path` for appending, and task logs under
    /// `log_dir`, and starts the writer thread.
    pub fn open(path: PathBuf, log_dir: PathBuf) -> Result<Journal, CheckpointError> {
        let file = open_append(&path)?;
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("drctl-journal".into())
            .spawn(move || writer_loop(file, log_dir, rx))
            .map_err(|e| CheckpointError::io(&path, e))?;
        Ok(Journal { tx })
    }

    /// Queues a record; the returned [`Ack`] resolves when it is durable.
    pub fn append(&self, record: &Record) -> Ack {
        let (ack, rx) = oneshot::channel();
        let mut bytes = Vec::with_capacity(128);
        encode(record, &mut bytes);
        if self.tx.send(Message::Record { bytes, ack: Some(ack) }).is_err() {
            let (dead, rx) = oneshot::channel();
            let _ = dead.send(Err("journal writer stopped".into()));
            return Ack(rx);
        }
        Ack(rx)
    }

    /// Queues a record without waiting for it; it is made durable with the next group.
    pub fn append_nowait(&self, record: &Record) {
        let mut bytes = Vec::with_capacity(128);
        encode(record, &mut bytes);
        let _ = self.tx.send(Message::Record { bytes, ack: None });
    }

    /// Appends text to a task log (`logs/<file>`); logs are not synced.
    pub fn log(&self, file: &str, text: String) {
        let _ = self.tx.send(Message::Log { file: file.to_owned(), text });
    }

    /// Resolves once everything queued before it is on disk.
    pub fn flush(&self) -> Ack {
        let (ack, rx) = oneshot::channel();
        let _ = self.tx.send(Message::Flush(ack));
        Ack(rx)
    }
}

fn writer_loop(mut file: File, log_dir: PathBuf, rx: mpsc::Receiver<Message>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut acks: Vec<oneshot::Sender<Result<(), String>>> = Vec::new();
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record { bytes, ack } => {
                    buf.extend_from_slice(&bytes);
                    acks.extend(ack);
                }
                Message::Flush(ack) => acks.push(ack),
                Message::Log { file: name, text } => {
                    if let Err(e) = write_log(&log_dir, &name, &text) {
                        tracing::warn!(log = %name, error = %e, "could not write task log");
                    }
                }
            }
            next = rx.try_recv().ok();
        }
        if failed.is_none() && !buf.is_empty() {
            let result = file.write_all(&buf).and_then(|()| file.sync_data());
            if let Err(e) = result {
                failed = Some(format!("journal write failed: {e}"));
            }
        }
        buf.clear();
        let outcome = failed.clone().map_or(Ok(()), Err);
        for ack in acks.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
}

/// Appends to one task log. Files are opened per write: a run may have thousands of tasks, and
/// holding a descriptor for each would exhaust the process's limit.
fn write_log(dir: &std::path::Path, name: &str, text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut file = OpenOptions::new().create(true).append(true).mode(0o600).open(dir.join(name))?;
    file.write_all(text.as_bytes())
}

/// Opens a run-directory file for appending, readable by its owner only.
pub(super) fn open_append(path: &std::path::Path) -> Result<File, CheckpointError> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(|e| CheckpointError::io(path, e))
}
