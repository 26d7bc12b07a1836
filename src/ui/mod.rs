//! What a person sees: progress, terminal output, and the masking of secrets.

pub mod progress;
pub mod redact;

/// Whether `c` is shown as an escape rather than as itself: a control character, or one of
/// Unicode's bidirectional controls (U+202E and its kin), which reorder the text around them
/// on a terminal, so that `abc\u{202e}fed` reads as `abcdef` and a line shows other than it is.
pub fn disguises(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` on one line: control characters (line breaks among them) and bidirectional controls
/// written as escapes (`\n`, `\u{202e}`), so that what a person typed cannot pose as another
/// line of a log or listing.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(disguises) {
        return text.into();
    }
    text.chars()
        .map(|c| if disguises(c) { c.escape_default().to_string() } else { c.to_string() })
        .collect::<String>()
        .into()
}

/// How many terminal columns `text` takes: a CJK character takes two, a combining mark none.
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` followed by spaces up to `columns` terminal columns (as is when already wider): `{:<N}`
/// counts characters, so a table padded by it goes out of line after a wide (CJK) task id.
pub fn pad(text: &str, columns: usize) -> String {
    let mut padded = text.to_owned();
    padded.extend(std::iter::repeat_n(' ', columns.saturating_sub(width(text))));
    padded
}

/// A text that may span lines (an error, what a command printed), each line after the first
/// indented by `indent`, control characters other than line breaks escaped: a multi-line error
/// stays readable under the line it belongs to, and cannot pose as another line of drctl's own.
pub fn indented(text: &str, indent: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.trim_end().lines().enumerate() {
        if n > 0 {
            out.push('\n');
            out.push_str(indent);
        }
        out.push_str(&printable(line));
    }
    out
}

/// `text` with its control characters other than line breaks and tabs, and its bidirectional
/// controls, written as escapes (`\u{1b}`): what a command printed, shown on a terminal, cannot
/// clear the screen, move the cursor, colour or reorder a line to pose as drctl's own output.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let kept = |c: char| !disguises(c) || c == '\n' || c == '\t';
    if text.chars().all(kept) {
        return text.into();
    }
    text.chars()
        .map(|c| if kept(c) { c.to_string() } else { c.escape_default().to_string() })
        .collect::<String>()
        .into()
}

/// `word` as one shell word for a command line a person may paste: as is when it holds only
/// characters no shell treats specially, else in single quotes. Instance ids such as
/// `routes[orders POST /x]` hold spaces and glob brackets.
pub fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.into();
    }
    format!("'{}'", word.replace('\'', r"'\''")).into()
}

/// The command an operator pastes to decide on `task` of `run`: `drctl VERB RUN TASK`, with
/// `--reason '...'` where the verb needs one, then `flags` (see `RunDir::resume_flags`).
pub fn operator_command(verb: &str, run: &str, task: &str, flags: &str) -> String {
    let reason = if matches!(verb, "approve" | "deny" | "skip") { " --reason '...'" } else { "" };
    format!("drctl {verb} {run} {}{reason}{flags}", shell_word(task))
}

/// `println!` that never panics: when standard output is gone (`drctl ... | head`), the
/// rest of the output is dropped and the command goes on to its end and its exit code.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that never panics (see [`outln!`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that never panics: when the terminal is gone (a dropped SSH session hangs it
/// up, and writes to it fail), what drctl says is dropped and the run goes on to stop cleanly.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` that never panics (see [`errln!`]).
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[cfg(test)]
mod tests {
    use super::{indented, one_line, operator_command, pad, printable, shell_word, width};

    #[test]
    fn bidirectional_controls_are_escaped_and_other_text_is_not() {
        // `invoice\u{202e}fdp.exe` would read as `invoiceexe.pdf` on a terminal.
        assert_eq!(printable("invoice\u{202e}fdp.exe"), r"invoice\u{202e}fdp.exe");
        assert_eq!(one_line("a\u{2066}b\nc"), r"a\u{2066}b\nc");
        // Scripts written right to left, emoji joined by U+200D and tabs stay as they are.
        assert_eq!(printable("שלום مرحبا 👩\u{200d}💻\tok"), "שלום مرحبا 👩\u{200d}💻\tok");
    }

    #[test]
    fn operator_commands_quote_the_task_and_ask_for_a_reason_where_needed() {
        assert_eq!(
            operator_command("approve", "r1", "gate[eu west]", ""),
            "drctl approve r1 'gate[eu west]' --reason '...'"
        );
        assert_eq!(operator_command("retry", "r1", "gate", " --state-dir s"), "drctl retry r1 gate --state-dir s");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("cutover"), "cutover");
        assert_eq!(shell_word("gate[eu west]"), "'gate[eu west]'");
        assert_eq!(shell_word("fn[a]"), "'fn[a]'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn padding_counts_terminal_columns() {
        assert_eq!(width("恢复"), 4);
        assert_eq!(pad("恢复", 6), "恢复  ");
        assert_eq!(pad("ab", 6), "ab    ");
        assert_eq!(pad("abcdefg", 3), "abcdefg");
    }

    #[test]
    fn a_multi_line_text_continues_indented_with_control_characters_escaped() {
        assert_eq!(
            indented("failed\r\n  at line 2\n\x1b[2Jfake\n", "    "),
            "failed\n      at line 2\n    \\u{1b}[2Jfake"
        );
        assert_eq!(indented("one line", "    "), "one line");
    }
}
