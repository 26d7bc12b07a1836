//! `shell`: runs a command, with outputs written as `key=value` lines to `$DRCTL_OUTPUT`.
//!
//! Expression values never become part of the command text: validation rewrites each
//! `${{ }}` in `run` into a reference to an environment variable (`${DRCTL_EXPR_0}`) whose
//! value is the expression's result, so a value containing quotes or `;` cannot change what
//! the shell executes. Commands without shell syntax are executed directly, skipping `sh`
//! (as make does), which halves the cost of a tiny task. Each command runs in its own
//! process group, so a timeout or cancellation kills everything it started.

use std::collections::BTreeMap;
use std::process::Stdio;

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};

pub struct Shell;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShellInputs {
    run: String,
    #[serde(default)]
    env: BTreeMap<String, Value>,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    shell: Option<String>,
}

const KEYS: &[&str] = &["run", "env", "dir", "shell"];

/// Words that only a shell understands: its keywords and builtins without a program of the
/// same name (`exit 0` or `cd /tmp` cannot be executed directly).
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done", "elif", "else", "esac",
    "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function", "getopts", "hash", "if", "in", "jobs",
    "local", "read", "readonly", "return", "select", "set", "shift", "source", "then", "times", "trap", "type",
    "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// Whether a command needs a shell: shell syntax, a leading `NAME=value` assignment, or a
/// shell keyword or builtin as its first word.
fn needs_shell(command: &str) -> bool {
    if command.chars().any(|c| !(c.is_ascii_alphanumeric() || " \t_-./:=@%+,".contains(c))) {
        return true;
    }
    let first = command.split_whitespace().next().unwrap_or_default();
    first.contains('=') || SHELL_WORDS.contains(&first)
}

impl Action for Shell {
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        self.check_inputs(with)
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        match with.get("run") {
            None => problems.push(InputProblem::new("", "missing input `run`").with_help("add `run: <command>`")),
            Some(Value::String(run)) if run.trim().is_empty() => problems.push(
                InputProblem::new("run", "`run` is empty").with_help("write the command to run: `run: <command>`"),
            ),
            Some(Value::String(_)) => {}
            Some(_) => problems.push(
                InputProblem::new("run", "`run` must be a string")
                    .with_help("write the command as text; a script of several lines goes in a block: `run: |`"),
            ),
        }
        match with.get("env") {
            None => {}
            Some(Value::Object(env)) => {
                for name in env.keys() {
                    if name.is_empty() || name.contains(['=', '\0']) {
                        problems.push(
                            InputProblem::new("env", format!("`{name}` cannot name an environment variable"))
                                .with_help("a name is not empty and holds no `=`; write `env: { NAME: value }`")
                                .at_inner(name.as_str()),
                        );
                    }
                }
            }
            Some(_) => problems.push(InputProblem::new("env", "`env` must be a map of names to values")),
        }
        match with.get("shell") {
            None => {}
            Some(Value::String(shell)) if !shell.trim().is_empty() => {}
            Some(other) => problems.push(
                InputProblem::new("shell", format!("`shell` must name a shell program, got {other}")).with_help(
                    "write `shell: bash` (the command runs as `bash -c <run>`), or leave it out for /bin/sh",
                ),
            ),
        }
        if let Some(dir) = with.get("dir").filter(|d| !d.is_string()) {
            problems.push(
                InputProblem::new("dir", format!("`dir` must be a path, got {dir}"))
                    .with_help("write the directory the command runs in as text, e.g. `dir: ./scripts`"),
            );
        }
        problems
    }

    fn leftover_outputs(&self, ctx: &ActionContext) -> Outputs {
        leftover_outputs(ctx)
    }

    fn script_inputs(&self) -> &'static [&'static str] {
        &["run"]
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let inputs: ShellInputs =
                serde_json::from_value(with).map_err(|e| ActionError::input(format!("shell inputs: {e}")))?;
            run_command(ctx, &inputs).await
        })
    }
}

/// The attempt's `$DRCTL_OUTPUT` file, removed however the attempt ends: it may hold values
/// of secret outputs, which are never stored.
/// Removed when dropped, unless the attempt was cut off (a second Ctrl-C): the task is then in
/// doubt, and if resume's check finds its work done, what the command wrote is its outputs.
struct OutputFile {
    path: std::path::PathBuf,
    cancel: Option<tokio_util::sync::CancellationToken>,
    /// Reading it found no file: there is nothing to remove.
    absent: bool,
}

impl OutputFile {
    fn new(path: std::path::PathBuf, cancel: Option<tokio_util::sync::CancellationToken>) -> OutputFile {
        OutputFile { path, cancel, absent: false }
    }

    /// The outputs the command wrote: none if it wrote no file.
    fn read(&mut self) -> Result<Outputs, ActionError> {
        // Bounded: a command that writes without end must not take all the memory there is.
        let bytes = match crate::input::read_bytes(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.absent = true;
                return Ok(Outputs::new());
            }
            // What the command wrote stays as it is: running it again (a retry) would only
            // repeat what it did, and fail the same way.
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(ActionError::fatal(
                    ErrorClass::Other,
                    format!(
                        "$DRCTL_OUTPUT holds more than {} MiB: outputs are for values; write large data to a file \
                         and output its path",
                        crate::input::MAX_INPUT / (1024 * 1024)
                    ),
                ))
            }
            Err(e) => return Err(ActionError::new(ErrorClass::Other, format!("reading $DRCTL_OUTPUT: {e}"))),
        };
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = crate::input::not_utf8_at(e.as_bytes()).map_or(1, |(line, _)| line);
            ActionError::fatal(
                ErrorClass::Other,
                format!(
                    "$DRCTL_OUTPUT line {line} is not UTF-8 text: write text (encode other bytes, for example with \
                     base64)"
                ),
            )
        })?;
        parse_outputs(&text).map_err(|e| ActionError::fatal(ErrorClass::Other, format!("$DRCTL_OUTPUT {e}")))
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if !self.absent && !self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The command's process group while it may still run: killed if the attempt is dropped (a
/// timeout drops the attempt's future) before the command was waited for. `kill_on_drop`
/// alone would kill only the direct child and leave what it started running.
struct Group(Option<u32>);

impl Group {
    fn release(mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// Where an attempt's command writes its outputs: in the run's scratch directory, which is
/// absolute, since the command may run in another directory (`dir`), and which only the run's
/// user can enter, since what the command writes may be a secret output.
fn output_path(ctx: &ActionContext) -> std::path::PathBuf {
    crate::checkpoint::outputs_file(&ctx.scratch_dir, &ctx.idempotency_key, ctx.attempt)
}

/// What the command of an attempt that drctl did not see finish wrote to `$DRCTL_OUTPUT`.
fn leftover_outputs(ctx: &ActionContext) -> Outputs {
    OutputFile::new(output_path(ctx), None).read().unwrap_or_default()
}

/// The command an attempt runs, with its environment, pipes and process group, and the
/// directory it runs in; refused when an input cannot be given to a program.
fn command_for(
    ctx: &ActionContext,
    inputs: &ShellInputs,
    output_path: &std::path::Path,
) -> Result<(Command, Option<std::path::PathBuf>), ActionError> {
    // The PATH the command runs with: its own `env` may set one.
    let path = match inputs.env.get("PATH") {
        Some(Value::String(p)) => Some(std::ffi::OsString::from(p)),
        Some(_) => None,
        None => std::env::var_os("PATH"),
    };
    // No program can be given a NUL byte (C strings end there): name the input that holds one.
    if inputs.run.contains('\0') {
        return Err(ActionError::input("`run` holds a NUL character, which no command can be given; remove it"));
    }
    for (name, value) in &inputs.env {
        if value.as_str().is_some_and(|v| v.contains('\0')) {
            return Err(ActionError::input(format!(
                "`env.{name}` holds a NUL character, which no command can be given; remove it (from the parameter or \
                 output it comes from)"
            )));
        }
    }
    let mut command = match (&inputs.shell, needs_shell(&inputs.run)) {
        (None, false) => {
            let mut words = inputs.run.split_whitespace();
            let program = words.next().ok_or_else(|| ActionError::input("`run` is empty"))?;
            let mut c = match path.as_deref().and_then(|p| super::program::resolve(program, p)) {
                Some(full) => {
                    let mut c = Command::new(full);
                    c.arg0(program);
                    c
                }
                None => Command::new(program),
            };
            c.args(words);
            c
        }
        (shell, _) => {
            // A program and its options (`bash -eo pipefail`), then `-c SCRIPT`.
            let mut words = shell.as_deref().unwrap_or("/bin/sh").split_whitespace();
            let mut c = Command::new(words.next().unwrap_or("/bin/sh"));
            c.args(words).arg("-c").arg(&inputs.run);
            c
        }
    };
    for (name, value) in &inputs.env {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        command.env(name, text);
    }
    command
        .env("DRCTL_OUTPUT", output_path)
        .env("DRCTL_RUN_ID", &ctx.run_id)
        .env("DRCTL_TASK", &ctx.task_id)
        .env("DRCTL_IDEMPOTENCY_KEY", &ctx.idempotency_key)
        .env("DRCTL_ATTEMPT", ctx.attempt.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(key) = &ctx.instance_key {
        command.env("DRCTL_EACH_KEY", key);
    }
    // `dir` is read from where the run started, as the command itself would be.
    let dir = match (&inputs.dir, &ctx.work_dir) {
        (Some(dir), Some(base)) => Some(base.join(dir)),
        (Some(dir), None) => Some(std::path::PathBuf::from(dir)),
        (None, base) => base.clone(),
    };
    if let Some(dir) = &dir {
        command.current_dir(dir);
    }
    Ok((command, dir))
}

async fn run_command(ctx: &ActionContext, inputs: &ShellInputs) -> Result<Outputs, ActionError> {
    // Attempt numbers are never reused within a run (each attempt's `start` record is on disk
    // before it runs), so no earlier attempt's file can have this name.
    let mut output_file = OutputFile::new(output_path(ctx), Some(ctx.cancel.clone()));
    let output_path = output_file.path.clone();
    let (command, dir) = command_for(ctx, inputs, &output_path)?;
    let (command, spawned, started) = super::launcher::launch(command, ctx.urgency).await;
    let mut child = spawned.map_err(|e| {
        // The same error comes back for a missing program, shell or directory: say which.
        let dir = dir.as_ref().filter(|d| !d.is_dir()).map(|d| d.display().to_string());
        let message = match (dir, &inputs.dir, &inputs.shell) {
            (Some(dir), Some(_), _) => format!("could not start the command: `dir` {dir} is not a directory"),
            (Some(dir), None, _) => format!(
                "could not start the command: {dir}, the directory the run started in (where its commands run), is \
                 gone; recreate it, or start a new run"
            ),
            // The whole `shell` as given: a value that came from a secret is masked whole,
            // where its first word alone would show.
            (None, _, Some(shell)) => format!("could not start the shell `{}`: {e}", shell.trim()),
            (None, _, None) => {
                format!("could not start `{}`: {e}", command.as_std().get_program().to_str().unwrap_or_default())
            }
        };
        ActionError::fatal(ErrorClass::Other, message)
    })?;
    let pid = child.id();
    if let Some(pid) = pid {
        ctx.log.spawned(pid, started);
    }
    let group = Group(pid);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut printed = Printed {
        ctx,
        outputs: output_path.clone(),
        out: Vec::new(),
        err: Vec::new(),
        logged: false,
        streams: ctx.log.streams(),
        streamed: (0, 0),
    };
    let (mut out_open, mut err_open) = (stdout.is_some(), stderr.is_some());
    // Read buffers live on the heap, without being zeroed: two arrays here made this future
    // 17 KiB, zeroed and copied for every command, most of which print little or nothing.
    let (mut out_buf, mut err_buf) = (Vec::new(), Vec::new());
    let mut status = None;
    // Until the command exits, its output is read as it comes. After that, what it printed is
    // already in the pipes and is read at once; a background process it left holding them (a
    // tunnel, a port-forward) is its own business and does not keep the task running. A pipe
    // may also stay open a moment after the exit with no background process at all: a command
    // that drctl is starting at that instant holds a copy of it until its `exec`. That ends
    // within milliseconds ([`SETTLE`]); a background process does not.
    let settle = tokio::time::sleep(SETTLE);
    tokio::pin!(settle);
    let mut settling = false;
    loop {
        if status.is_some() && !settling {
            out_open = out_open && !read_buffered(stdout.as_ref(), &mut printed.out);
            err_open = err_open && !read_buffered(stderr.as_ref(), &mut printed.err);
            settle.as_mut().reset(tokio::time::Instant::now() + SETTLE);
            settling = true;
        }
        if settling && !(out_open || err_open) {
            break;
        }
        tokio::select! {
            r = child.wait(), if status.is_none() => status = Some(r),
            r = read_some(&mut stdout, &mut out_buf), if out_open => match r {
                0 => out_open = false,
                n => {
                    printed.out.extend_from_slice(&out_buf[..n]);
                    printed.stream();
                }
            },
            r = read_some(&mut stderr, &mut err_buf), if err_open => match r {
                0 => err_open = false,
                n => {
                    printed.err.extend_from_slice(&err_buf[..n]);
                    printed.stream();
                }
            },
            () = &mut settle, if settling => break,
            () = ctx.cancel.cancelled(), if status.is_none() => {
                drop(group);
                return Err(ActionError::new(ErrorClass::Timeout, "command cancelled"));
            }
        }
    }
    // Pipes still open now are held by background processes.
    if out_open || err_open {
        ctx.log.line("the command left background processes holding its output; it is no longer read");
        // Keep reading (and dropping) it, so that those processes do not die of a closed pipe
        // when they next print.
        let held =
            [stdout.take().filter(|_| out_open).map(Pipe::Out), stderr.take().filter(|_| err_open).map(Pipe::Err)];
        for pipe in held.into_iter().flatten() {
            tokio::spawn(pipe.discard());
        }
    }
    let Some(status) = status else {
        return Err(ActionError::new(ErrorClass::Other, "the command's status was not read"));
    };
    // The command ended on its own; anything it left running in the background is its own.
    group.release();
    let status = status.map_err(|e| ActionError::new(ErrorClass::Other, format!("waiting for the command: {e}")))?;
    // Outputs are read before the command's output is logged, so that the values of secret
    // outputs are masked in the log too, even when the command printed them.
    let outputs = output_file.read();
    if let Ok(outputs) = &outputs {
        ctx.log.outputs(outputs);
    }
    printed.log();
    if !status.success() {
        let tail = last_lines(&printed.err, 3);
        let detail = if tail.is_empty() { String::new() } else { format!(": {tail}") };
        return Err(match status.code() {
            Some(code) => ActionError::new(ErrorClass::ExitCode(code), format!("command exited with {code}{detail}")),
            None => {
                use std::os::unix::process::ExitStatusExt;
                let sig = status.signal().unwrap_or(0);
                ActionError::new(ErrorClass::Signal(sig), format!("command killed by signal {sig}{detail}"))
            }
        });
    }
    outputs
}

/// How long the pipes of a command that has exited may take to close when no background
/// process holds them.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(50);

/// Reads what a pipe holds now, without waiting; true once its end is reached (every writer
/// has closed it), false while a process still holds it open.
fn read_buffered<R: std::os::fd::AsRawFd>(pipe: Option<&R>, out: &mut Vec<u8>) -> bool {
    let Some(pipe) = pipe else { return true };
    let fd = pipe.as_raw_fd();
    loop {
        out.reserve(8192);
        let spare = out.spare_capacity_mut();
        // SAFETY: reading into the vector's spare capacity, which it owns, from a pipe the
        // child handle keeps open; tokio made it non-blocking, so the call returns at once.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        match n {
            0 => return true,
            // SAFETY: `read` initialised the first `n` bytes of the spare capacity.
            n if n > 0 => unsafe { out.set_len(out.len() + n.unsigned_abs()) },
            _ => match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::WouldBlock => return false,
                _ => return true,
            },
        }
    }
}

/// Reads from `pipe` into `buf` (emptied first) once it holds something: the count read, 0 at
/// its end or on an error.
async fn read_some<R: tokio::io::AsyncRead + Unpin>(pipe: &mut Option<R>, buf: &mut Vec<u8>) -> usize {
    buf.clear();
    buf.reserve(8192);
    match pipe.as_mut() {
        Some(p) => p.read_buf(buf).await.unwrap_or(0),
        None => 0,
    }
}

/// A command's output pipe, left to background processes once the command has ended.
enum Pipe {
    Out(tokio::process::ChildStdout),
    Err(tokio::process::ChildStderr),
}

impl Pipe {
    async fn discard(self) {
        let mut sink = tokio::io::sink();
        let _ = match self {
            Pipe::Out(mut p) => tokio::io::copy(&mut p, &mut sink).await,
            Pipe::Err(mut p) => tokio::io::copy(&mut p, &mut sink).await,
        };
    }
}

pub(super) fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
        // SAFETY: signalling a process group we created; a stale id fails harmlessly with ESRCH.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
}

/// What a command printed, logged when the attempt ends: at its end, after its outputs are
/// read (so that the values of secret outputs are masked in the log too), or, when the attempt
/// is cut short (a timeout, a cancel), as the attempt is dropped, with what the outputs file
/// holds by then.
struct Printed<'a> {
    ctx: &'a ActionContext,
    /// The attempt's outputs file.
    outputs: std::path::PathBuf,
    out: Vec<u8>,
    err: Vec<u8>,
    logged: bool,
    /// Whether lines go to the log as they are printed (see [`super::TaskLog::streams`]).
    streams: bool,
    /// How many bytes of `out` and `err` are in the log already: whole lines.
    streamed: (usize, usize),
}

impl Printed<'_> {
    /// Logs the whole lines printed since the last call, when the log takes them as they come.
    fn stream(&mut self) {
        if !self.streams {
            return;
        }
        for (stream, bytes, done) in
            [("stdout", &self.out, &mut self.streamed.0), ("stderr", &self.err, &mut self.streamed.1)]
        {
            if let Some(end) = bytes[*done..].iter().rposition(|&b| b == b'\n') {
                let end = *done + end + 1;
                log_output(self.ctx, stream, &bytes[*done..end]);
                *done = end;
            }
        }
    }

    /// Logs what is not in the log yet.
    fn log(&mut self) {
        self.logged = true;
        log_output(self.ctx, "stdout", &self.out[self.streamed.0..]);
        log_output(self.ctx, "stderr", &self.err[self.streamed.1..]);
    }
}

impl Drop for Printed<'_> {
    fn drop(&mut self) {
        if self.logged || (self.out.len() == self.streamed.0 && self.err.len() == self.streamed.1) {
            return;
        }
        // Read, not taken: a resume may still need the file.
        match std::fs::read_to_string(&self.outputs).map(|t| parse_outputs(&t)) {
            Ok(Ok(outputs)) => self.ctx.log.outputs(&outputs),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Without the outputs, the values of secret ones are not known to be masked.
            _ => {
                self.logged = true;
                self.ctx.log.line("what the command printed is not logged: its outputs file could not be read");
                return;
            }
        }
        self.log();
    }
}

fn log_output(ctx: &ActionContext, stream: &str, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    // One entry for all the lines: the log file is written once.
    let mut lines = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(&format!("[{stream}] {line}"));
    }
    ctx.log.line(&lines);
}

fn last_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Reads the outputs a command wrote: `key=value` lines, and `key<<DELIM` followed by the
/// value's lines and a line `DELIM` for a value of several lines. Spaces around the `=` are not
/// part of the key or the value. Later lines win.
///
/// Errors name the line but never quote it: a malformed line is often part of a secret (a PEM
/// key written with `key=$(cat key.pem)`).
fn parse_outputs(text: &str) -> Result<Outputs, String> {
    let mut outputs = Outputs::new();
    let mut lines = text.lines().enumerate().map(|(n, line)| (n + 1, line.strip_suffix('\r').unwrap_or(line)));
    while let Some((n, line)) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let eq = line.find('=');
        let heredoc = line.find("<<").filter(|&at| eq.is_none_or(|eq| at < eq));
        let (key, value) = match (heredoc, eq) {
            (Some(at), _) => {
                let delimiter = line[at + 2..].trim();
                if delimiter.is_empty() {
                    return Err(format!("line {n}: `key<<DELIM` needs a delimiter after `<<`"));
                }
                let mut value: Vec<&str> = Vec::new();
                loop {
                    match lines.next() {
                        Some((_, l)) if l == delimiter => break,
                        Some((_, l)) => value.push(l),
                        None => {
                            return Err(format!(
                                "line {n}: the value started with `<<` has no closing line `{delimiter}`"
                            ))
                        }
                    }
                }
                (&line[..at], value.join("\n"))
            }
            (None, Some(at)) => (&line[..at], line[at + 1..].trim_start().to_owned()),
            (None, None) => {
                return Err(format!(
                    "line {n} is not `key=value` (the line is not shown: it may hold a secret); a value of \
                     several lines is written as `key<<EOF`, its lines, then `EOF`"
                ))
            }
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("line {n}: the key before `=` is empty"));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("line {n}: a key cannot hold spaces (the line is not shown: it may hold a secret)"));
        }
        outputs.insert(key.to_owned(), Value::String(value));
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_read_from_key_value_lines_and_delimited_blocks() {
        let text = "id=ocid1.app\nname = orders \r\nkey<<EOF\n-----BEGIN KEY-----\n  MIIE==\n-----END KEY-----\nEOF\n\nurl=https://x/?a=b\nid=ocid2\n";
        let out = parse_outputs(text).unwrap();
        assert_eq!(out["id"], Value::String("ocid2".into()), "later lines win");
        assert_eq!(out["name"], Value::String("orders ".into()));
        assert_eq!(out["key"], Value::String("-----BEGIN KEY-----\n  MIIE==\n-----END KEY-----".into()));
        assert_eq!(out["url"], Value::String("https://x/?a=b".into()));
        assert_eq!(parse_outputs("a<<X\n\nX\n").unwrap()["a"], Value::String(String::new()));
    }

    #[test]
    fn malformed_output_lines_are_named_and_never_quoted() {
        for (text, says) in [
            ("key=-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n", "line 2 is not `key=value`"),
            ("=x\n", "line 1: the key before `=` is empty"),
            ("bad key=1\n", "line 1: a key cannot hold spaces"),
            ("k<<\n", "needs a delimiter"),
            ("ok=1\nk<<END\nsecret-part\n", "line 2: the value started with `<<` has no closing line `END`"),
        ] {
            let err = parse_outputs(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
            assert!(!err.contains("MIIE") && !err.contains("secret-part") && !err.contains("bad key"), "{err}");
        }
    }

    #[test]
    fn plain_commands_skip_the_shell() {
        assert!(!needs_shell("sleep 0.05"));
        assert!(!needs_shell("true"));
        assert!(needs_shell("echo $HOME"));
        assert!(needs_shell("a | b"));
        assert!(needs_shell("echo \"x\""));
        assert!(needs_shell("exit 0"));
        assert!(needs_shell("cd /tmp"));
        assert!(needs_shell("GREETING=hi printenv GREETING"));
        assert!(needs_shell("if true"));
        assert!(!needs_shell("printenv GREETING=x"));
    }

    #[test]
    fn outputs_parse_key_value_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "id=app-1\nurl=http://x/?a=b\n\n").unwrap();
        let out = OutputFile::new(path.clone(), None).read().unwrap();
        assert_eq!(out["id"], "app-1");
        assert_eq!(out["url"], "http://x/?a=b");
        // Read, the file is gone.
        assert!(!path.exists());
        std::fs::write(&path, "garbage\n").unwrap();
        assert!(OutputFile::new(path.clone(), None).read().is_err());
        let mut absent = OutputFile::new(dir.path().join("none"), None);
        assert!(absent.read().unwrap().is_empty());
        assert!(absent.absent);
    }
}
