//! The journal writer: the one place that writes a run's journal and task logs.
//!
//! A record is written (`write(2)`, into the page cache) at once, by the thread that appends
//! it, under one lock, so the journal holds records in the order they were appended and a
//! crash of drctl alone loses none of them. Making records durable (`fdatasync`) is what
//! costs, and it is shared: one sync covers everything written before it (group commit).
//!
//! - The scheduling loop's own records (a dependency's `done`, its dependents' `start`s) are
//!   synced on the loop's thread, in [`Journal::send`], before the dependents are spawned. A
//!   hand-off to another thread and back costs two thread wake-ups, which on a virtual machine
//!   take about as long as the sync itself, on every link of a critical path. The loop is
//!   blocked for that sync; events arriving meanwhile wait and share the next one.
//! - Other records that somebody waits for ([`Journal::append`], [`Journal::flush`]) are synced
//!   by a dedicated writer thread, which also writes the task logs.
//! - Records nobody waits for are synced with the next sync, or at most [`LINGER`] later by the
//!   writer thread. A record that describes something a power loss ends too (the pid of a
//!   running child) is never synced on its own account: it reaches the disk with whatever sync
//!   comes next. Syncs of one file run one after another, so a sync started for records nobody
//!   waits on would delay the next `start` record, which a task does wait on.
//!
//! The engine starts a task only after its `start` record is durable, and since the file is
//! written in order, that also proves every record before it (for example the `done` records of
//! its dependencies) is on disk.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::record::{encode, Record};
use super::CheckpointError;

/// Longest time a record that nobody waits for stays written but not synced.
pub const LINGER: Duration = Duration::from_millis(10);

type AckSender = oneshot::Sender<Result<(), String>>;

/// What the writer thread is asked to do.
enum Message {
    /// Sync everything written so far, then send the acknowledgement.
    Sync(AckSender),
    /// A record nobody waits for was written while nothing was due a sync: sync it within
    /// [`LINGER`] unless another sync comes first.
    Linger,
    Log {
        file: String,
        text: String,
    },
}

/// The journal file and what is known of it, shared by every appending thread.
struct Disk {
    file: File,
    /// Number of writes so far, and how many of them a finished sync covers.
    written: u64,
    synced: u64,
    /// When the oldest record due a sync of its own (see [`LINGER`]) was written.
    due_since: Option<Instant>,
    /// Files and directories to sync before the first sync of the journal: the run directory
    /// and what it was made with, without which a journal is of no use.
    sync_first: Vec<PathBuf>,
    /// Set by the first failed write or sync; every later acknowledgement reports it, since
    /// after a failed sync nothing written can be taken as durable.
    failed: Option<String>,
}

struct Shared {
    disk: Mutex<Disk>,
    /// Held for the whole of a sync, from reading what it covers to recording how it ended: a
    /// sync started while another's failure is not yet recorded could return success (the
    /// kernel reports a failed writeback once) for records that never reached the disk.
    /// Appends go on meanwhile; a sync that waited here often finds nothing left to do.
    syncing: Mutex<()>,
    /// The same file, for `fdatasync` without holding the lock: appends go on meanwhile.
    sync_handle: File,
    /// Where the journal is, for the message of a failed write or sync.
    path: PathBuf,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Disk> {
        // A panic while holding the lock leaves `Disk` consistent: each field is set whole.
        self.disk.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `bytes` after everything written before. Returns whether this made a record due
    /// a sync of its own when none was (the writer thread is then told to linger).
    fn write(&self, bytes: &[u8], due: bool) -> bool {
        let mut disk = self.lock();
        if disk.failed.is_none() {
            if let Err(e) = disk.file.write_all(bytes) {
                disk.failed = Some(format!("could not write {}: {e}", self.path.display()));
            }
        }
        disk.written += 1;
        let newly_due = due && disk.due_since.is_none();
        if newly_due {
            disk.due_since = Some(Instant::now());
        }
        newly_due
    }

    /// Makes everything written so far durable.
    fn sync(&self) -> Result<(), String> {
        let _one_at_a_time = self.syncing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let target = {
            let mut disk = self.lock();
            if !disk.sync_first.is_empty() {
                // Held under the lock: no sync of the journal may finish before these do.
                for path in std::mem::take(&mut disk.sync_first) {
                    if let Err(e) = File::open(&path).and_then(|f| f.sync_all()) {
                        disk.failed.get_or_insert(format!("could not sync {}: {e}", path.display()));
                    }
                }
            }
            if let Some(failed) = disk.failed.clone() {
                // Nothing will be synced again: no linger sync is due (the writer would spin).
                disk.due_since = None;
                return Err(failed);
            }
            if disk.synced == disk.written {
                disk.due_since = None;
                return Ok(());
            }
            disk.written
        };
        let outcome = self.sync_handle.sync_data().map_err(|e| format!("could not sync {}: {e}", self.path.display()));
        let mut disk = self.lock();
        match outcome {
            Ok(()) => {
                disk.synced = disk.synced.max(target);
                if disk.synced == disk.written {
                    disk.due_since = None;
                }
                disk.failed.clone().map_or(Ok(()), Err)
            }
            Err(e) => {
                disk.due_since = None;
                Err(disk.failed.get_or_insert(e).clone())
            }
        }
    }
}

/// Records gathered by one step of the scheduling loop and handed to the journal in one call,
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

/// A handle to the journal; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
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
    /// synced before the journal is first synced; the writer thread starts on them at once.
    pub fn open(path: PathBuf, log_dir: PathBuf, sync_first: Vec<PathBuf>) -> Result<Journal, CheckpointError> {
        let file = open_append(&path)?;
        end_on_a_whole_record(&path).map_err(|e| CheckpointError::io(&path, e))?;
        let sync_handle = file.try_clone().map_err(|e| CheckpointError::io(&path, e))?;
        let early = !sync_first.is_empty();
        let disk = Disk { file, written: 0, synced: 0, due_since: None, sync_first, failed: None };
        let shared =
            Arc::new(Shared { disk: Mutex::new(disk), syncing: Mutex::new(()), sync_handle, path: path.clone() });
        let (tx, rx) = mpsc::channel();
        let writer = Arc::clone(&shared);
        thread::Builder::new()
            .name("drctl-journal".into())
            .spawn(move || writer_loop(&writer, &log_dir, early, &rx))
            .map_err(|e| CheckpointError::io(&path, e))?;
        Ok(Journal { shared, tx })
    }

    /// Appends a record; the returned [`Ack`] resolves when it is durable.
    pub fn append(&self, record: &Record) -> Ack {
        self.write(record, false);
        self.flush()
    }

    /// Appends a record without waiting for it; it is made durable with the next sync, or at
    /// most [`LINGER`] later.
    pub fn append_nowait(&self, record: &Record) {
        if self.write(record, true) {
            let _ = self.tx.send(Message::Linger);
        }
    }

    /// Appends a record that is never synced on its own account: one whose loss in a power
    /// failure costs nothing because what it describes ends with the machine (the pid of a
    /// running child, which resume uses to wait for a child that outlived a crash of drctl).
    /// It reaches the disk with the next sync, instead of forcing one [`LINGER`] later when no
    /// other comes first.
    pub fn append_unsynced(&self, record: &Record) {
        self.write(record, false);
    }

    fn write(&self, record: &Record, due: bool) -> bool {
        let mut bytes = Vec::new();
        encode(record, &mut bytes);
        self.shared.write(&bytes, due)
    }

    /// Appends every record of `batch`, leaving it empty. If any of them is waited for, the
    /// journal is synced on the calling thread before this returns and their acknowledgements
    /// are resolved (see the module documentation for why here).
    pub fn send(&self, batch: &mut Batch) {
        if batch.is_empty() {
            return;
        }
        let Batch { bytes, acks } = std::mem::take(batch);
        let waited_for = !acks.is_empty();
        if self.shared.write(&bytes, !waited_for) {
            let _ = self.tx.send(Message::Linger);
        }
        if waited_for {
            let outcome = self.shared.sync();
            for ack in acks {
                let _ = ack.send(outcome.clone());
            }
        }
    }

    /// Appends text to a task log (`logs/<file>`); logs are not synced.
    pub fn log(&self, file: &str, text: String) {
        let _ = self.tx.send(Message::Log { file: file.to_owned(), text });
    }

    /// Resolves once everything appended before it is on disk.
    pub fn flush(&self) -> Ack {
        let (ack, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Message::Sync(ack))) = self.tx.send(Message::Sync(ack)) {
            // No writer thread: sync here rather than leave the caller without an answer.
            let _ = ack.send(self.shared.sync());
        }
        Ack(rx)
    }
}

/// The writer thread: syncs for those who wait on an [`Ack`], syncs lingering records, writes
/// task logs. It ends, after a last sync, once every [`Journal`] handle is gone.
fn writer_loop(shared: &Shared, log_dir: &std::path::Path, early: bool, rx: &mpsc::Receiver<Message>) {
    if early {
        // The run directory's files, synced while the run starts up rather than on the first
        // task's critical path.
        let _ = shared.sync();
    }
    let mut acks: Vec<AckSender> = Vec::new();
    // A disk that refuses one log line refuses the next ones too: said once per task log.
    let mut unwritable: std::collections::HashSet<String> = std::collections::HashSet::new();
    loop {
        let due_since = shared.lock().due_since;
        let first = match due_since {
            None => match rx.recv() {
                Ok(message) => Some(message),
                Err(_) => break,
            },
            Some(since) => match rx.recv_timeout(LINGER.saturating_sub(since.elapsed())) {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        let mut next = first;
        while let Some(message) = next.take() {
            match message {
                Message::Sync(ack) => acks.push(ack),
                Message::Linger => {}
                Message::Log { file: name, text } => match write_log(log_dir, &name, &text) {
                    Err(e) if unwritable.insert(name.clone()) => {
                        tracing::warn!(log = %name, error = %e, "could not write task log (its later lines are lost too)");
                    }
                    _ => {}
                },
            }
            next = rx.try_recv().ok();
        }
        let lingered = shared.lock().due_since.is_some_and(|since| since.elapsed() >= LINGER);
        if acks.is_empty() && !lingered {
            continue;
        }
        let outcome = shared.sync();
        for ack in acks.drain(..) {
            let _ = ack.send(outcome.clone());
        }
    }
    let _ = shared.sync();
}

/// Makes sure the journal ends with a complete line before records are appended to it.
///
/// A crash mid-write leaves a torn last record, which replay ignores as never acknowledged.
/// Appending after it would glue the next record onto the torn line and make it damage in the
/// middle of the journal, so the torn record is cut off. A last record that is whole but lost
/// its newline keeps its place and gets the newline. A last record written whole, newline and
/// all, that does not read is damage: it is reported, never cut.
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
    // A blank last line holds no record (replay skips blank lines): nothing to cut or report.
    let whole = line.is_empty() || super::record::decode(&line).is_ok();
    match (whole, last[0] == b'\n') {
        (true, true) => Ok(()),
        (true, false) => file.write_all_at(b"\n", len),
        (false, false) => {
            tracing::debug!(bytes = end - start, "cutting a torn record off the end of the journal");
            file.set_len(start)
        }
        // Written whole (with its newline) yet unreadable: damage, which is never cut.
        (false, true) => {
            let mut before = vec![0u8; start as usize];
            file.read_exact_at(&mut before, 0)?;
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {line}, the journal's last record, is damaged (it was written whole but does not read); \
                     a journal is only ever appended to by drctl: restore the file from a backup if it was edited"
                ),
            ))
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

    #[test]
    fn a_blank_last_line_is_left_and_a_damaged_last_record_names_its_line() {
        let mut blank = record("a", 1);
        blank.push(b'\n');
        assert_eq!(ends_after(&blank), blank);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let mut damaged = record("a", 1);
        damaged.extend_from_slice(b"00000000 {}\n");
        std::fs::write(&path, &damaged).unwrap();
        let err = end_on_a_whole_record(&path).unwrap_err();
        assert!(err.to_string().starts_with("line 2, the journal's last record, is damaged"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "damage is never cut");
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

    /// Appends from several threads at once, in every way there is, leave whole records, each
    /// thread's in the order it appended them; a batch waited for is durable (its
    /// acknowledgements resolved) as soon as `send` returns.
    #[test]
    fn records_appended_from_many_threads_stay_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.log");
        let journal = Journal::open(path.clone(), dir.path().join("logs"), Vec::new()).unwrap();
        let start = |t: usize, attempt: u32| Record::Start {
            id: InstanceId { task: format!("t{t}"), key: None },
            attempt,
            at: Millis::from(attempt),
        };
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let journal = journal.clone();
                std::thread::spawn(move || {
                    for attempt in 1..=200u32 {
                        let record = start(t, attempt);
                        match attempt % 4 {
                            0 => journal.append_nowait(&record),
                            1 => journal.append_unsynced(&record),
                            2 => drop(journal.append(&record)),
                            _ => {
                                let mut batch = Batch::default();
                                let mut ack = batch.push_acked(&record).0;
                                journal.send(&mut batch);
                                assert_eq!(ack.try_recv(), Ok(Ok(())), "acknowledged when send returns");
                            }
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(journal.flush().wait()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut last = [0u32; 4];
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(Record::Start { id, attempt, .. }) = super::super::record::decode(line) else {
                panic!("a damaged record: {}", String::from_utf8_lossy(line));
            };
            let t: usize = id.task[1..].parse().unwrap();
            assert_eq!(attempt, last[t] + 1, "thread {t}'s records out of order");
            last[t] = attempt;
        }
        assert_eq!(last, [200; 4]);
    }

    /// After a failed write, every acknowledgement reports the failure and no linger sync stays
    /// due: a due sync that can never succeed would keep the writer thread busy.
    #[tokio::test]
    async fn a_failed_write_fails_every_acknowledgement_and_leaves_nothing_due() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(PathBuf::from("/dev/full"), dir.path().join("logs"), Vec::new()).unwrap();
        let start = Record::Start { id: InstanceId { task: "a".into(), key: None }, attempt: 1, at: 1 };
        assert!(journal.append(&start).wait().await.is_err());
        journal.append_nowait(&start);
        std::thread::sleep(LINGER * 3);
        assert!(journal.shared.lock().due_since.is_none(), "a sync is still due");
        assert!(journal.flush().wait().await.is_err());
        let mut batch = Batch::default();
        let mut ack = batch.push_acked(&start).0;
        journal.send(&mut batch);
        assert!(matches!(ack.try_recv(), Ok(Err(_))));
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
