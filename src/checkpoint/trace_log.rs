//! The structured log of a run (`drctl.log`, JSON lines), written by a tracing layer.
//!
//! The layer is installed once at start-up with no file; when a run directory is opened, the
//! file there becomes the target. Writes before that, or after the file failed, are dropped.
//!
//! Lines are gathered in memory and written by a thread of their own at most [`COALESCE`]
//! after the first of them, so that the engine, which logs every task start and end, never
//! waits for the file system. [`flush_trace_log`] writes what is left before the process
//! exits; a crash loses at most the last [`COALESCE`] of lines. The journal, not this log, is
//! the record of the run.

use std::fs::File;
use std::io::{self, Write};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use super::{CheckpointError, RunDir};

/// Longest time a line waits in memory.
pub const COALESCE: Duration = Duration::from_millis(20);

/// Lines waiting to be written, and whether there is a file to write them to. The engine only
/// ever takes this lock, and only to append to `pending`.
struct Sink {
    open: bool,
    pending: Vec<u8>,
}

static SINK: Mutex<Sink> = Mutex::new(Sink { open: false, pending: Vec::new() });
/// The file; held while lines are written, so lines reach it in order.
static FILE: Mutex<Option<File>> = Mutex::new(None);
static PENDING: Condvar = Condvar::new();
static WRITER: OnceLock<()> = OnceLock::new();

// A panic while holding either lock leaves nothing half-done that matters for a log.
fn sink() -> MutexGuard<'static, Sink> {
    SINK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn file() -> MutexGuard<'static, Option<File>> {
    FILE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the lines gathered so far to `file`, outside the lock the engine logs under. A
/// failed write closes the log.
fn write_pending(file: &mut Option<File>) {
    let lines = std::mem::take(&mut sink().pending);
    if let Some(f) = file.as_mut() {
        if !lines.is_empty() && f.write_all(&lines).is_err() {
            *file = None;
            sink().open = false;
        }
    }
}

/// Makes the run's `drctl.log` the target of the JSON tracing layer.
pub fn open_trace_log(dir: &RunDir) -> Result<(), CheckpointError> {
    let path = dir.trace_log_path();
    let opened = super::journal::open_append(&path)?;
    {
        let mut file = file();
        write_pending(&mut file);
        *file = Some(opened);
        sink().open = true;
    }
    WRITER.get_or_init(|| {
        // Without the thread, lines still reach the file through `flush_trace_log`.
        let _ = std::thread::Builder::new().name("drctl-log".into()).spawn(write_lines);
    });
    Ok(())
}

/// Writes every line gathered so far.
pub fn flush_trace_log() {
    write_pending(&mut file());
}

fn write_lines() {
    loop {
        {
            let mut sink = sink();
            while sink.pending.is_empty() {
                sink = PENDING.wait(sink).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        std::thread::sleep(COALESCE);
        flush_trace_log();
    }
}

/// The writer handed to the tracing layer.
#[derive(Clone, Copy, Default)]
pub struct TraceLogWriter;

impl Write for TraceLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut sink = sink();
        if sink.open {
            let first = sink.pending.is_empty();
            sink.pending.extend_from_slice(buf);
            if first {
                PENDING.notify_one();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TraceLogWriter {
    type Writer = TraceLogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        TraceLogWriter
    }
}
