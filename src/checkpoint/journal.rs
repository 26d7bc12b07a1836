//! The journal writer: the one place that writes a run's journal and task logs.
//!
//! Records are handed to a dedicated thread, which writes everything that has queued up in one
//! `write` and makes it durable with one `fdatasync` (group commit), then acknowledges each
//! record. The engine starts a task only after its `start` record is acknowledged, and since the
//! file is written in order, that also proves every record before it (for example the `done`
//! records of its dependencies) is on disk. Nothing blocking runs on the async runtime.
//!
//! Records nobody waits for are written at once (so a crash of drctl loses none of them) but
//! synced only with the next acknowledged record, or at most [`LINGER`] later. A record that
//! describes something a power loss ends too (the pid of a running child) is never synced on
//! its own account: it reaches the disk with whatever sync comes next. A sync takes
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
        /// False for records that need no sync of their own (see [`Journal::append_unsynced`]).
        linger: bool,
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
    /// `log_dir`, and starts the writer thread. The files and directories in `sync_first` are
    /// synced before the first record is written.
    pub fn open(path: PathBuf, log_dir: PathBuf, sync_first: Vec<PathBuf>) -> Result<Journal, CheckpointError> {
        let file = open_append(&path)?;
        end_on_a_whole_record(&path).map_err(|e| CheckpointError::io(&path, e))?;
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("drctl-journal".into())
            .spawn(move || writer_loop(file, log_dir, sync_first, rx))
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

    /// Queues a record that is never synced on its own account: one whose loss in a power
    /// failure costs nothing because what it describes ends with the machine (the pid of a
    /// running child, which resume uses to wait for a child that outlived a crash of drctl).
    /// It is written at once, so a crash of drctl alone loses nothing, and reaches the disk
    /// with the next sync, instead of forcing one [`LINGER`] later when no other comes first.
    pub fn append_unsynced(&self, record: &Record) {
        let mut bytes = Vec::new();
        encode(record, &mut bytes);
        let _ = self.tx.send(Message::Records { bytes, acks: Vec::new(), linger: false });
    }

    /// Hands every record of `batch` to the writer in one message, leaving `batch` empty. If
    /// the writer has stopped, the batch's acknowledgements resolve to an error.
    pub fn send(&self, batch: &mut Batch) {
        if batch.is_empty() {
            return;
        }
        let Batch { bytes, acks } = std::mem::take(batch);
        // A failed send drops the acknowledgement senders, which their `Ack`s report.
        let _ = self.tx.send(Message::Records { bytes, acks, linger: true });
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

fn writer_loop(mut file: File, log_dir: PathBuf, sync_first: Vec<PathBuf>, rx: mpsc::Receiver<Message>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut acks: Vec<AckSender> = Vec::new();
    let mut failed: Option<String> = None;
    for path in &sync_first {
        if let Err(e) = File::open(path).and_then(|f| f.sync_all()) {
            failed.get_or_insert(format!("could not sync {}: {e}", path.display()));
        }
    }
    // When the oldest record that is written, not yet synced and due a sync was written.
    let mut unsynced_since: Option<Instant> = None;
    // Whether anything was written since the last sync.
    let mut dirty = false;
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
        let mut due = false;
        while let Some(message) = next.take() {
            match message {
                Message::Records { bytes, acks: waiting, linger } => {
                    buf.extend_from_slice(&bytes);
                    acks.extend(waiting);
                    due |= linger;
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
            dirty = true;
        }
        if due {
            unsynced_since.get_or_insert_with(Instant::now);
        }
        let lingered = unsynced_since.is_some_and(|since| since.elapsed() >= LINGER);
        if acks.is_empty() && !lingered {
            continue;
        }
        unsynced_since = None;
        if std::mem::take(&mut dirty) {
            sync(&file, &mut failed);
        }
        let outcome = failed.clone().map_or(Ok(()), Err);
        for ack in acks.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
}

/// Makes sure the journal ends with a complete line before records are appended to it.
///
/// A crash mid-write leaves a torn last record, which replay ignores as never acknowledged.
/// Appending after it would glue the next record onto the torn line and make it damage in the
/// middle of the journal, so the torn record is cut off. A last record that is whole but lost
/// its newline keeps its place and gets the newline.
fn end_on_a_whole_record(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, len - 1)?;
    let end = if last[0] == b'\n' { len - 1 } else { len };
    // Where the last line starts: after the newline before `end`, found in 64 KiB steps.
    let mut start = 0;
    let mut pos = end;
    let mut chunk = vec![0u8; 64 * 1024];
    while pos > 0 {
        let n = pos.min(chunk.len() as u64);
        let part = &mut chunk[..n as usize];
        file.read_exact_at(part, pos - n)?;
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            start = pos - n + i as u64 + 1;
            break;
        }
        pos -= n;
    }
    let mut line = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut line, start)?;
    let whole = super::record::decode(&line).is_ok();
    match (whole, last[0] == b'\n') {
        (true, true) => Ok(()),
        (true, false) => file.write_all_at(b"\n", len),
        (false, _) => {
            tracing::debug!(bytes = end - start, "cutting a torn record off the end of the journal");
            file.set_len(start)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::record::Millis;
    use crate::checkpoint::InstanceId;

    fn record(task: &str, at: Millis) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode(&Record::Start { id: InstanceId { task: task.into(), key: None }, attempt: 1, at }, &mut bytes);
        bytes
    }

    fn ends_after(bytes: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        std::fs::write(&path, bytes).unwrap();
        end_on_a_whole_record(&path).unwrap();
        std::fs::read(&path).unwrap()
    }

    #[test]
    fn a_torn_last_record_is_cut_off() {
        let first = record("a", 1);
        let second = record("b", 2);
        let mut torn = first.clone();
        torn.extend_from_slice(&second[..second.len() / 2]);
        assert_eq!(ends_after(&torn), first);
        // Zeros left by a crash read as a torn record too.
        let mut zeros = first.clone();
        zeros.extend_from_slice(&[0; 300]);
        assert_eq!(ends_after(&zeros), first);
    }

    #[tokio::test]
    async fn an_unsynced_record_is_written_at_once_and_keeps_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let journal = Journal::open(path.clone(), dir.path().join("logs"), Vec::new()).unwrap();
        let spawned = Record::Spawned { id: InstanceId { task: "a".into(), key: None }, pid: 42, started: 7 };
        journal.append_unsynced(&spawned);
        let mut expected = Vec::new();
        encode(&spawned, &mut expected);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read(&path).unwrap() != expected {
            assert!(Instant::now() < deadline, "the unsynced record was not written");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        journal
            .append(&Record::Start { id: InstanceId { task: "b".into(), key: None }, attempt: 1, at: 2 })
            .wait()
            .await
            .unwrap();
        expected.extend_from_slice(&record("b", 2));
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }

    /// A journal cut at any byte, with or without zeros after the cut (a crash mid-write, or
    /// a file system that extended the file but never wrote the data), replays as exactly the
    /// records wholly before the cut. Once opened for appending it ends on a whole record,
    /// and a record appended then replays after them.
    mod crash {
        use super::*;
        use crate::checkpoint::replay::replay_bytes;
        use proptest::prelude::*;
        use std::path::Path;

        fn id(i: usize) -> InstanceId {
            // Names of different lengths, so cuts land at every kind of place in a line.
            InstanceId { task: format!("task-{}", "x".repeat(i * 7 % 23)) + &i.to_string(), key: None }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn a_cut_anywhere_replays_as_the_whole_records_before_it(
                n in 1usize..10,
                cut_at in 0.0f64..=1.0,
                zeros in prop_oneof![Just(0usize), 1usize..600],
            ) {
                let mut bytes = Vec::new();
                let mut ends = Vec::new(); // offset just past each record's newline
                for i in 0..n {
                    encode(&Record::Start { id: id(i), attempt: 1, at: i as Millis }, &mut bytes);
                    ends.push(bytes.len());
                }
                let cut = ((bytes.len() as f64) * cut_at) as usize;
                let mut crashed = bytes[..cut].to_vec();
                crashed.extend(std::iter::repeat_n(0u8, zeros));
                // A record is whole if its newline survived, or if only the newline was lost
                // and nothing follows it.
                let whole = ends.iter().filter(|&&end| end <= cut).count()
                    + usize::from(zeros == 0 && ends.contains(&(cut + 1)));

                let replay = replay_bytes(Path::new("journal.log"), &crashed).expect("a torn tail is never damage");
                for i in 0..n {
                    prop_assert_eq!(replay.instance(&id(i)).is_some(), i < whole, "record {} of {}", i, n);
                }

                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("journal.log");
                std::fs::write(&path, &crashed).unwrap();
                end_on_a_whole_record(&path).unwrap();
                let mut after = std::fs::read(&path).unwrap();
                let kept = if whole == 0 { 0 } else { ends[whole - 1] };
                prop_assert_eq!(&after[..], &bytes[..kept]);
                encode(&Record::Start { id: id(99), attempt: 1, at: 99 }, &mut after);
                let replay = replay_bytes(&path, &after).expect("appending after the cut leaves no damage");
                prop_assert!(!replay.torn_tail);
                prop_assert!(replay.instance(&id(99)).is_some());
                prop_assert_eq!((0..n).filter(|&i| replay.instance(&id(i)).is_some()).count(), whole);
            }

            /// Damage inside any record but the last is reported with its line, never skipped.
            #[test]
            fn a_damaged_record_before_the_last_is_reported_with_its_line(
                n in 2usize..10,
                line in 0usize..9,
                at in 0.0f64..1.0,
                flip in 1u8..=255,
            ) {
                let line = line % (n - 1);
                let mut bytes = Vec::new();
                let mut starts = Vec::new();
                for i in 0..n {
                    starts.push(bytes.len());
                    encode(&Record::Start { id: id(i), attempt: 1, at: i as Millis }, &mut bytes);
                }
                // Any byte of the line but its newline.
                let len = starts[line + 1] - starts[line] - 1;
                let pos = starts[line] + ((len as f64) * at) as usize;
                bytes[pos] ^= flip;
                prop_assume!(bytes[pos] != b'\n');
                match replay_bytes(Path::new("journal.log"), &bytes) {
                    Err(CheckpointError::Corrupt { line: reported, .. }) => prop_assert_eq!(reported, line + 1),
                    Err(other) => prop_assert!(false, "unexpected error {}", other),
                    Ok(_) => prop_assert!(false, "damage in line {} went unnoticed", line + 1),
                }
            }
        }
    }

    #[test]
    fn a_whole_last_record_stays_and_gets_its_newline() {
        let mut both = record("a", 1);
        both.extend_from_slice(&record("b", 2));
        assert_eq!(ends_after(&both), both);
        let cut = &both[..both.len() - 1];
        assert_eq!(ends_after(cut), both);
        assert_eq!(ends_after(b""), b"");
    }
}
