//! The structured log of a run (`drctl.log`, JSON lines), written by a tracing layer.
//!
//! The layer is installed once at start-up with no file; when a run directory is opened, the
//! file there becomes the target. Writes before that, or after the file failed, are dropped.

use std::fs::File;
use std::io::{self, Write};
use std::sync::Mutex;

use super::{CheckpointError, RunDir};

static TARGET: Mutex<Option<File>> = Mutex::new(None);

/// Makes the run's `drctl.log` the target of the JSON tracing layer.
pub fn open_trace_log(dir: &RunDir) -> Result<(), CheckpointError> {
    let path = dir.trace_log_path();
    let file = super::journal::open_append(&path)?;
    if let Ok(mut target) = TARGET.lock() {
        *target = Some(file);
    }
    Ok(())
}

/// The writer handed to the tracing layer.
#[derive(Clone, Copy, Default)]
pub struct TraceLogWriter;

impl Write for TraceLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Ok(mut target) = TARGET.lock() {
            if let Some(file) = target.as_mut() {
                file.write_all(buf)?;
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
