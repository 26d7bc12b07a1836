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

struct Sink {
    file: Option<File>,
    pending: Vec<u8>,
}

static SINK: Mutex<Sink> = Mutex::new(Sink { file: None, pending: Vec::new() });
static PENDING: Condvar = Condvar::new();
static WRITER: OnceLock<()> = OnceLock::new();

fn sink() -> MutexGuard<'static, Sink> {
    // A panic while holding the lock leaves nothing half-done that matters for a log.
    SINK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sink {
    fn write_pending(&mut self) {
        if let Some(file) = self.file.as_mut() {
            if !self.pending.is_empty() && file.write_all(&self.pending).is_err() {
                self.file = None;
            }
        }
        self.pending.clear();
    }
}

/// Makes the run's `drctl.log` the target of the JSON tracing layer.
pub fn open_trace_log(dir: &RunDir) -> Result<(), CheckpointError> {
    let path = dir.trace_log_path();
    let file = super::journal::open_append(&path)?;
    {
        let mut sink = sink();
        sink.write_pending();
        sink.file = Some(file);
    }
    WRITER.get_or_init(|| {
        // Without the thread, lines still reach the file through `flush_trace_log`.
        let _ = std::thread::Builder::new().name("drctl-log".into()).spawn(write_lines);
    });
    Ok(())
}

/// Writes every line gathered so far.
pub fn flush_trace_log() {
    sink().write_pending();
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
        sink().write_pending();
    }
}

/// The writer handed to the tracing layer.
#[derive(Clone, Copy, Default)]
pub struct TraceLogWriter;

impl Write for TraceLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut sink = sink();
        if sink.file.is_some() {
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
