//! The journal writer: the one place that writes a run's journal and task logs.
//!
//! Records are handed to a dedicated thread, which writes everything that has queued up in one
//! `write` and makes it durable with one `fdatasync` (group commit), then acknowledges each
//! record. The engine starts a task only after its `start` record is acknowledged, and since the
//! file is written in order, that also proves every record before it (for example the `done`
//! records of its dependencies) is on disk. Nothing blocking runs on the async runtime.
//!
//! Records nobody waits for are written at once (so a crash of drctl loses none of them) but
//! synced only with the next acknowledged record, or at most [`LINGER`] later. A sync takes
//! milliseconds on most disks and syncs of one file run one after another, so a sync started
//! for records nobody waits on would delay the next `start` record, which a task does wait on.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::record::{encode, Record};
use super::CheckpointError;

/// Longest time a record that nobody waits for stays written but not synced.
pub const LINGER: Duration = Duration::from_millis(10);

type AckSender = oneshot::Sender<Result<(), String>>;

enum Message {
    /// Encoded records, and the acknowledgements to send once they are durable.
    Records {
        bytes: Vec<u8>,
        acks: Vec<AckSender>,
    },
    Log {
        file: String,
        text: String,
    },
    Flush(AckSender),
}

/// Records gathered by one step of the scheduling loop and handed to the writer in one message,
/// so that a dependency's `done` record and its dependents' `start` records share one sync.
#[derive(Default)]
pub struct Batch {
    bytes: Vec<u8>,
    acks: Vec<AckSender>,
}

impl Batch {
    /// Adds a record nobody waits for.
    pub fn push(&mut self, record: &Record) {
        encode(record, &mut self.bytes);
    }

    /// Adds a record; the returned [`Ack`] resolves once the batch is durable.
    pub fn push_acked(&mut self, record: &Record) -> Ack {
        encode(record, &mut self.bytes);
        let (ack, rx) = oneshot::channel();
        self.acks.push(ack);
        Ack(rx)
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
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
        let mut batch = Batch::default();
        let ack = batch.push_acked(record);
        self.send(&mut batch);
        ack
    }

    /// Queues a record without waiting for it; it is made durable with the next group.
    pub fn append_nowait(&self, record: &Record) {
        let mut batch = Batch::default();
        batch.push(record);
        self.send(&mut batch);
    }

    /// Hands every record of `batch` to the writer in one message, leaving `batch` empty. If
    /// the writer has stopped, the batch's acknowledgements resolve to an error.
    pub fn send(&self, batch: &mut Batch) {
        if batch.is_empty() {
            return;
        }
        let Batch { bytes, acks } = std::mem::take(batch);
        // A failed send drops the acknowledgement senders, which their `Ack`s report.
        let _ = self.tx.send(Message::Records { bytes, acks });
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
    let mut acks: Vec<AckSender> = Vec::new();
    let mut failed: Option<String> = None;
    // When the oldest record that is written but not yet synced was written.
    let mut unsynced_since: Option<Instant> = None;
    loop {
        let first = match unsynced_since {
            None => rx.recv().ok(),
            Some(since) => match rx.recv_timeout(LINGER.saturating_sub(since.elapsed())) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    sync(&file, &mut failed);
                    break;
                }
            },
        };
        if first.is_none() && unsynced_since.is_none() {
            break; // every handle is gone and nothing is left to sync
        }
        let mut next = first;
        while let Some(message) = next.take() {
            match message {
                Message::Records { bytes, acks: waiting } => {
                    buf.extend_from_slice(&bytes);
                    acks.extend(waiting);
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
        if !buf.is_empty() {
            if failed.is_none() {
                if let Err(e) = file.write_all(&buf) {
                    failed = Some(format!("journal write failed: {e}"));
                }
            }
            buf.clear();
            unsynced_since.get_or_insert_with(Instant::now);
        }
        let lingered = unsynced_since.is_some_and(|since| since.elapsed() >= LINGER);
        if acks.is_empty() && !lingered {
            continue;
        }
        if unsynced_since.take().is_some() {
            sync(&file, &mut failed);
        }
        let outcome = failed.clone().map_or(Ok(()), Err);
        for ack in acks.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
}

/// Makes everything written so far durable, unless the journal has already failed.
fn sync(file: &File, failed: &mut Option<String>) {
    if failed.is_none() {
        if let Err(e) = file.sync_data() {
            *failed = Some(format!("journal write failed: {e}"));
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
