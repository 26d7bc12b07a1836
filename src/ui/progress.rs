//! Progress on the terminal: indicatif bars on a terminal, plain lines elsewhere, and the
//! summary printed when a run segment ends. Everything shown passes through the redactor.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::redact::Redactor;
use crate::actions::BoxFuture;
use crate::checkpoint::{InstanceId, Replay, RunMeta, RunState, TaskState};
use crate::cli::ProgressMode;
use crate::engine::{Approver, Finish, Observer};
use crate::runbook::duration::format_duration;
use crate::runbook::Runbook;

/// Progress output for one run segment.
pub struct Progress {
    redactor: Redactor,
    quiet: bool,
    started: Instant,
    bars: Option<Bars>,
    /// Lines from before the run's header (decisions replayed on resume), shown after it;
    /// `None` once the header is out.
    early: Mutex<Option<Vec<String>>>,
    /// Lines that came while a question was on the terminal, shown once it is answered;
    /// `None` while no question is.
    held: Mutex<Option<Vec<String>>>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<InstanceId, ProgressBar>>,
}

/// Chooses bars or plain lines.
pub fn observer(mode: ProgressMode, quiet: bool, redactor: Redactor) -> std::sync::Arc<Progress> {
    let bars = match mode {
        ProgressMode::Plain => false,
        ProgressMode::Bars => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    } && !quiet;
    let bars = bars.then(|| {
        let multi = MultiProgress::with_draw_target(draw_target());
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} tasks  {elapsed} elapsed{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.set_prefix("drctl");
        overall.enable_steady_tick(Duration::from_millis(200));
        Bars { multi, overall, running: Mutex::new(HashMap::new()) }
    });
    std::sync::Arc::new(Progress {
        redactor,
        quiet,
        started: Instant::now(),
        bars,
        early: Mutex::new(Some(Vec::new())),
        held: Mutex::new(None),
    })
}

impl Progress {
    fn line(&self, text: &str) {
        if let Ok(mut early) = self.early.lock() {
            if let Some(held) = early.as_mut() {
                held.push(text.to_owned());
                return;
            }
        }
        self.show(text);
    }

    fn show(&self, text: &str) {
        let text = self.redactor.mask(text);
        // Lines after the first (a multi-line error, an approval's commands) go on under the
        // text, past the elapsed-time column.
        let text = super::indented(&text, "        ");
        tracing::info!(target: "drctl::run", "{text}");
        if self.quiet {
            return;
        }
        // One write per line: stderr is unbuffered, and a line formatted into it piece by piece
        // costs the scheduling loop a system call per piece.
        let line = format!("{:>7} {text}\n", format_duration(self.started.elapsed()));
        if let Ok(mut held) = self.held.lock() {
            if let Some(held) = held.as_mut() {
                held.push(line);
                return;
            }
        }
        self.write(&line);
    }

    fn write(&self, line: &str) {
        let write = || {
            let _ = std::io::stderr().write_all(line.as_bytes());
        };
        match &self.bars {
            Some(bars) => bars.multi.suspend(write),
            None => write(),
        }
    }

    /// Clears the bars before the summary.
    pub fn close(&self) {
        self.hold_output(false);
        // A segment that ended before its header still shows what it said.
        let held = self.early.lock().ok().and_then(|mut early| early.take()).unwrap_or_default();
        for text in held {
            self.show(&text);
        }
        if let Some(bars) = &self.bars {
            bars.overall.finish_and_clear();
            if let Ok(running) = bars.running.lock() {
                running.values().for_each(ProgressBar::finish_and_clear);
            }
            let _ = bars.multi.clear();
        }
    }
}

impl Observer for Progress {
    fn run_started(&self, run_id: &str, total: usize, done: usize, rto: Option<Duration>) {
        if let Some(bars) = &self.bars {
            bars.overall.set_length(total as u64);
            // Instances that ended in this segment before it started (skips decided at once)
            // were counted as they ended.
            bars.overall.inc(done as u64);
            if let Some(rto) = rto {
                bars.overall.set_message(format!(" of the RTO {}", format_duration(rto)));
            }
        }
        let rto = rto.map_or_else(String::new, |r| format!(", RTO objective {}", format_duration(r)));
        let tasks = if total == 1 { "task" } else { "tasks" };
        self.show(&format!("run {run_id}: {total} {tasks}, {done} already done{rto}"));
        let held = self.early.lock().ok().and_then(|mut early| early.take()).unwrap_or_default();
        for text in held {
            self.show(&text);
        }
    }

    fn total_changed(&self, total: usize) {
        if let Some(bars) = &self.bars {
            bars.overall.set_length(total as u64);
        }
    }

    fn attempt_started(&self, id: &InstanceId, attempt: u32) {
        match &self.bars {
            Some(bars) => {
                let bar = bars.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                let suffix = if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                bar.set_message(format!("{}{suffix}", super::one_line(&id.to_string())));
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut running) = bars.running.lock() {
                    if let Some(old) = running.insert(id.clone(), bar) {
                        old.finish_and_clear();
                    }
                }
            }
            None => {
                let suffix = if attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                self.line(&format!("▶ {}{suffix}", super::one_line(&id.to_string())));
            }
        }
    }

    fn attempt_failed(&self, id: &InstanceId, attempt: u32, error: &str, retry_in: Option<Duration>) {
        // An id holds a `for_each` key, which may hold a line break: one line, as in `status`.
        let id = super::one_line(&id.to_string()).into_owned();
        match retry_in {
            Some(delay) => {
                self.line(&format!("↻ {id} attempt {attempt} failed: {error}; retrying in {}", format_duration(delay)))
            }
            None => self.line(&format!("✖ {id} attempt {attempt} failed: {error}")),
        }
    }

    fn finished(&self, id: &InstanceId, how: Finish, elapsed: Duration, detail: &str) {
        if let Some(bars) = &self.bars {
            if let Ok(mut running) = bars.running.lock() {
                if let Some(bar) = running.remove(id) {
                    bar.finish_and_clear();
                }
            }
            bars.overall.inc(1);
        }
        let took = format_duration(elapsed);
        let id = super::one_line(&id.to_string()).into_owned();
        match how {
            Finish::Succeeded => match change_word(detail) {
                Some(change) => self.line(&format!("✔ {id} ({took}, {change})")),
                None => self.line(&format!("✔ {id} ({took})")),
            },
            Finish::AlreadyDone => self.line(&format!("✔ {id} was already done (check passed)")),
            Finish::Failed => self.line(&format!("✖ {id} failed: {detail}")),
            Finish::Skipped => self.line(&format!("⊘ {id} skipped: {detail}")),
            Finish::Cancelled => self.line(&format!("■ {id} cancelled")),
        }
    }

    fn notice(&self, text: &str) {
        self.line(&format!("! {text}"));
    }

    fn hold_output(&self, hold: bool) {
        if let Some(bars) = &self.bars {
            let target = if hold { ProgressDrawTarget::hidden() } else { draw_target() };
            if hold {
                let _ = bars.multi.clear();
            }
            bars.multi.set_draw_target(target);
        }
        let lines = match self.held.lock() {
            Ok(mut held) if hold => {
                held.get_or_insert_with(Vec::new);
                return;
            }
            Ok(mut held) => held.take().unwrap_or_default(),
            Err(_) => return,
        };
        for line in lines {
            self.write(&line);
        }
    }
}

/// Where the bars are drawn: standard error, through [`Tolerant`] when it is a terminal.
fn draw_target() -> ProgressDrawTarget {
    if std::io::stderr().is_terminal() {
        ProgressDrawTarget::term_like_with_hz(Box::new(Tolerant::new()), 20)
    } else {
        // indicatif draws nothing there.
        ProgressDrawTarget::stderr()
    }
}

/// The terminal, drawn on a frame at a time, with write errors dropped. indicatif panics on a
/// failed write, and once a dropped SSH session has hung the terminal up every write fails:
/// the run must still stop cleanly, checkpointed, with its commands left to finish. A frame
/// that could not be written is dropped, not kept to grow.
#[derive(Debug)]
struct Tolerant {
    term: console::Term,
    frame: Mutex<Vec<u8>>,
}

impl Tolerant {
    fn new() -> Tolerant {
        Tolerant { term: console::Term::stderr(), frame: Mutex::new(Vec::new()) }
    }

    fn put(&self, text: &[u8]) -> std::io::Result<()> {
        if let Ok(mut frame) = self.frame.lock() {
            frame.extend_from_slice(text);
        }
        Ok(())
    }

    fn cursor(&self, n: usize, code: char) -> std::io::Result<()> {
        if n == 0 {
            return Ok(());
        }
        self.put(format!("\x1b[{n}{code}").as_bytes())
    }
}

impl indicatif::TermLike for Tolerant {
    fn width(&self) -> u16 {
        self.term.size().1
    }

    fn height(&self) -> u16 {
        self.term.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(s.as_bytes())?;
        self.put(b"\n")
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s.as_bytes())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.put(b"\r\x1b[2K")
    }

    fn flush(&self) -> std::io::Result<()> {
        let frame = self.frame.lock().map(|mut f| std::mem::take(&mut *f)).unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(&frame);
        let _ = err.flush();
        Ok(())
    }
}

/// Asks approvals on the terminal.
pub struct TerminalApprover;

impl Approver for TerminalApprover {
    fn ask<'a>(
        &'a self,
        id: &'a InstanceId,
        message: &'a str,
        observer: &'a dyn Observer,
    ) -> BoxFuture<'a, Option<(bool, String)>> {
        Box::pin(async move {
            observer.hold_output(true);
            // Output goes on when the question ends, answered or not (a timeout or an abort
            // drops this future).
            let release = Release { observer, open: std::cell::Cell::new(false) };
            let prompt = format!(
                "\napproval needed for {}: {}\napprove? [y/N] and a reason: ",
                super::one_line(&id.to_string()),
                super::printable(message)
            );
            // What was typed before the question was shown answers nothing: what the terminal
            // still holds is discarded (before the first question starts the reader, so the
            // reader never sees it), and what the reader took from it is dropped.
            discard_typed_ahead();
            let mut lines = terminal_lines().lock().await;
            discard_typed_ahead();
            // A `None` among them: the input has ended.
            while let Ok(typed) = lines.try_recv() {
                typed.as_ref()?;
            }
            crate::err!("{prompt}");
            release.open.set(true);
            loop {
                let _ = std::io::stderr().flush();
                // Waits without taking a line from the reader: a question withdrawn (a timeout,
                // an abort) leaves the next line typed to the question shown after it.
                let line = lines.recv().await.flatten();
                // The terminal's echo of the line ended the prompt's line.
                release.open.set(false);
                let Some(line) = line else {
                    crate::errln!();
                    return None;
                };
                if let Some(answer) = read_answer(&line) {
                    return Some(answer);
                }
                release.open.set(true);
                // `ok go ahead` is neither: asked again rather than taken for a denial.
                crate::err!("answer y (yes) or n (no), then a reason, e.g. `y dashboards are green`: ");
            }
        })
    }
}

/// An answer typed to an approval's question: its first word says yes or no, the rest is the
/// reason. An empty line denies, as the `[y/N]` says; a first word that is neither yes nor no
/// is no answer.
fn read_answer(line: &str) -> Option<(bool, String)> {
    let line = line.trim();
    let (word, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let approved = match word.to_ascii_lowercase().as_str() {
        "y" | "yes" => true,
        "" | "n" | "no" => false,
        _ => return None,
    };
    let reason = match (reason.trim(), word) {
        ("", "") => "no reason given at the terminal (an empty answer denies)".to_owned(),
        ("", word) => format!("answered `{word}` at the terminal"),
        (reason, _) => reason.to_owned(),
    };
    Some((approved, reason))
}

/// Discards what was typed on the terminal and not read yet, a line not finished included.
fn discard_typed_ahead() {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        // SAFETY: tcflush only drops the terminal's pending input; on a descriptor that is not
        // a terminal it fails harmlessly.
        unsafe {
            libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH);
        }
    }
}

/// Lines typed on the terminal, read by one thread for the life of the process; `None` once
/// the input has ended or cannot be read.
fn terminal_lines() -> &'static tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Option<String>>> {
    static LINES: std::sync::OnceLock<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Option<String>>>> =
        std::sync::OnceLock::new();
    LINES.get_or_init(|| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let reader = move || loop {
            let mut line = String::new();
            match std::io::stdin().read_line(&mut line) {
                Ok(n) if n > 0 => {
                    if tx.send(Some(line)).is_err() {
                        return;
                    }
                }
                // End of input or a read error is no answer, not a denial.
                _ => {
                    let _ = tx.send(None);
                    return;
                }
            }
        };
        if std::thread::Builder::new().name("drctl-stdin".into()).spawn(reader).is_err() {
            tracing::warn!("could not start the thread that reads answers from the terminal");
        }
        tokio::sync::Mutex::new(rx)
    })
}

/// Restarts the output held while a question was on the terminal; first ends the question's
/// line when it was left open (a timeout or an abort withdrew the question), so that the held
/// lines do not follow the prompt on its line.
struct Release<'a> {
    observer: &'a dyn Observer,
    open: std::cell::Cell<bool>,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if self.open.get() {
            crate::errln!();
        }
        self.observer.hold_output(false);
    }
}

/// How a progress line and the summary name what a resource action did (its `operation`
/// output); `None` for actions that do not say.
fn change_word(operation: &str) -> Option<&'static str> {
    match operation {
        "create" => Some("created"),
        "update" => Some("updated"),
        "none" => Some("no change"),
        "delete" => Some("deleted"),
        _ => None,
    }
}

/// The closing summary: state, elapsed time against the RTO, counts and failures.
pub fn summary(runbook: &Runbook, meta: &RunMeta, replay: &Replay, state: RunState) -> String {
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    let mut changes: HashMap<&'static str, usize> = HashMap::new();
    let mut failures = Vec::new();
    let (mut removed, mut seen) = (0, 0);
    for id in &replay.order {
        if !replay.in_runbook(runbook, id) {
            removed += usize::from(!replay.superseded(runbook, id));
            continue;
        }
        seen += 1;
        if let Some(rec) = replay.instance(id) {
            *counts.entry(rec.state.as_str()).or_default() += 1;
            if rec.state == TaskState::Succeeded {
                let operation = rec.outputs.get("operation").and_then(serde_json::Value::as_str);
                if let Some(word) = operation.and_then(change_word) {
                    *changes.entry(word).or_default() += 1;
                }
            }
            if rec.state == TaskState::Failed {
                failures.push(format!(
                    "  ✖ {}: {}",
                    super::one_line(&id.to_string()),
                    super::indented(rec.error.as_deref().unwrap_or("failed"), "      ")
                ));
            }
        }
    }
    let elapsed = Duration::from_millis(replay.last_at.unwrap_or(meta.created_at).saturating_sub(meta.created_at));
    let rto = match runbook.rto {
        Some(rto) if elapsed > rto => format!(" — OVER the RTO of {}", format_duration(rto)),
        Some(rto) if state == RunState::Succeeded => format!(" — within the RTO of {}", format_duration(rto)),
        Some(rto) => format!(" — not recovered yet (RTO {})", format_duration(rto)),
        None => String::new(),
    };
    // Instances the journal has not seen yet (never started) are pending too.
    let expected: usize = runbook
        .tasks
        .iter()
        .map(|t| match (&t.for_each, replay.expansions.get(&t.id)) {
            (Some(_), Some(keys)) => keys.len(),
            _ => 1,
        })
        .sum();
    let unseen = expected.saturating_sub(seen);
    let cancelled = match counts.get("cancelled") {
        Some(n) if *n > 0 => format!(", {n} cancelled"),
        _ => String::new(),
    };
    // The header counts tasks; a task with `for_each` runs as several instances, counted here.
    let of_tasks = if expected == runbook.tasks.len() {
        String::new()
    } else {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let empty = runbook.tasks.iter().filter(|t| replay.no_items(&t.id)).count();
        let none = if empty == 0 { String::new() } else { format!("; {} over no items", plural(empty, "for_each")) };
        format!(" ({} of {}{none})", plural(expected, "instance"), plural(runbook.tasks.len(), "task"))
    };
    let mut out = format!(
        "\nrun {} {}: {} elapsed{rto}\n  {} succeeded, {} failed, {} skipped{cancelled}, {} pending{of_tasks}\n",
        meta.run_id,
        state.as_str(),
        format_duration(elapsed),
        counts.get("succeeded").unwrap_or(&0),
        counts.get("failed").unwrap_or(&0),
        counts.get("skipped").unwrap_or(&0),
        counts.get("pending").unwrap_or(&0) + counts.get("running").unwrap_or(&0) + unseen,
    );
    // A second run of a failover that finished says so at a glance: every resource unchanged.
    let changed: Vec<String> = ["created", "updated", "deleted", "no change"]
        .iter()
        .filter_map(|w| changes.get(w).map(|n| format!("{n} {}", if *w == "no change" { "unchanged" } else { w })))
        .collect();
    if !changed.is_empty() {
        out.push_str(&format!("  resources: {}\n", changed.join(", ")));
    }
    if removed > 0 {
        out.push_str(&format!(
            "  ({removed} earlier task instance{} no longer in the runbook: `drctl status` lists {})\n",
            if removed == 1 { "" } else { "s" },
            if removed == 1 { "it" } else { "them" }
        ));
    }
    if let Some(line) = phase_times(runbook, replay) {
        out.push_str(&line);
    }
    for f in failures {
        out.push_str(&f);
        out.push('\n');
    }
    out
}

/// "  phases: inventory 0.4s · prepare 1.6s · ...": wall time from the first start to the last
/// end of each phase's task instances that started, in the runbook's phase order; the same
/// figures as `drctl report`.
fn phase_times(runbook: &Runbook, replay: &Replay) -> Option<String> {
    let mut spans: HashMap<&str, (Option<u64>, Option<u64>)> = HashMap::new();
    for id in &replay.order {
        let Some(rec) = replay.instance(id).filter(|_| replay.in_runbook(runbook, id)) else { continue };
        // From the first attempt (or the start of an approval's wait), as the report counts.
        let Some(start) = rec.started_at() else { continue };
        let Some(phase) = runbook.task_index(&id.task).and_then(|t| runbook.tasks[t].phase.as_deref()) else {
            continue;
        };
        let span = spans.entry(phase).or_default();
        span.0 = Some(span.0.map_or(start, |s| s.min(start)));
        span.1 = span.1.max(rec.end);
    }
    let parts: Vec<String> = runbook
        .phases
        .iter()
        .filter_map(|p| match spans.get(p.as_str()) {
            Some((Some(s), Some(e))) => {
                Some(format!("{p} {}", format_duration(Duration::from_millis(e.saturating_sub(*s)))))
            }
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| format!("  phases: {}\n", parts.join(" · ")))
}

#[cfg(test)]
mod tests {
    use super::read_answer;

    #[test]
    fn an_answer_is_yes_or_no_with_a_reason_and_anything_else_is_asked_again() {
        assert_eq!(read_answer("y dashboards are green\n"), Some((true, "dashboards are green".into())));
        assert_eq!(read_answer("YES"), Some((true, "answered `YES` at the terminal".into())));
        assert_eq!(read_answer("n not yet"), Some((false, "not yet".into())));
        assert_eq!(read_answer("\n"), Some((false, "no reason given at the terminal (an empty answer denies)".into())));
        assert_eq!(read_answer("ok go ahead"), None);
        assert_eq!(read_answer("approve it"), None);
    }
}
