//! Problems found in a runbook, and their rendering as miette diagnostics.
//!
//! Validation collects [`Problem`]s (a message, labelled spans and a help line); the edge of
//! the program renders them against the source with miette, one report each, so every error
//! shows its file, line, column and snippet.

use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

use super::yaml::ByteSpan;

/// One problem in a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    /// Places in the source, each with a short label; the first is the primary one.
    pub labels: Vec<(ByteSpan, String)>,
    pub help: Option<String>,
    /// A stable code for tools and documentation, e.g. `drctl::unknown-task`.
    pub code: &'static str,
}

impl Problem {
    pub fn new(code: &'static str, message: impl Into<String>, span: ByteSpan, label: impl Into<String>) -> Self {
        Self { message: message.into(), labels: vec![(span, label.into())], help: None, code }
    }

    /// A problem with nothing in a file to point at, such as a value given on the command line.
    pub fn unplaced(code: &'static str, message: impl Into<String>) -> Self {
        Self { message: message.into(), labels: Vec::new(), help: None, code }
    }

    pub fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn label(mut self, span: ByteSpan, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }
}

/// All problems of one runbook file, with its source for rendering.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub path: String,
    pub text: Arc<str>,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        write!(f, "{}: {n} problem{}", self.path, if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Invalid {}

impl Invalid {
    /// One miette diagnostic per problem, each carrying the source.
    pub fn diagnostics(&self) -> Vec<ProblemDiagnostic> {
        let source = Arc::new(YamlSource(NamedSource::new(self.path.clone(), self.text.clone()).with_language("yaml")));
        self.problems
            .iter()
            .map(|p| ProblemDiagnostic { problem: p.clone(), source: source.clone(), len: self.text.len() })
            .collect()
    }

    /// Line and column (both 1-based) of a byte offset, for JSON output.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.text, offset)
    }
}

/// Line and column (both 1-based, the column in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A [`Problem`] with its source, as miette wants it.
#[derive(Debug)]
pub struct ProblemDiagnostic {
    problem: Problem,
    source: Arc<YamlSource>,
    len: usize,
}

/// The runbook's text as miette reads it, with columns counted in characters, as `-o json`
/// counts them (miette counts bytes, which puts the header of a problem on a line with `é` or
/// `→` before it one column off per extra byte).
#[derive(Debug)]
pub struct YamlSource(NamedSource<Arc<str>>);

impl miette::SourceCode for YamlSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self.0.read_span(span, context_lines_before, context_lines_after)?;
        // Only a span read without lines before it starts mid-line and has a column.
        if context_lines_before > 0 || contents.column() == 0 {
            return Ok(contents);
        }
        let text = self.0.inner();
        let offset = span.offset().min(text.len());
        let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
        let column = text.get(line_start..offset).map_or(contents.column(), |before| before.chars().count());
        let mut fixed = miette::MietteSpanContents::new_named(
            self.0.name().to_owned(),
            contents.data(),
            *contents.span(),
            contents.line(),
            column,
            contents.line_count(),
        );
        if let Some(language) = contents.language() {
            fixed = fixed.with_language(language);
        }
        Ok(Box::new(fixed))
    }
}

impl std::fmt::Display for ProblemDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for ProblemDiagnostic {}

impl Diagnostic for ProblemDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.problem.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.problem.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source.as_ref() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.len;
        Some(Box::new(self.problem.labels.iter().enumerate().map(move |(n, (span, label))| {
            let start = span.start.min(len);
            let end = span.end.clamp(start, len);
            let span = SourceSpan::new(start.into(), end - start);
            if n == 0 {
                LabeledSpan::new_primary_with_span(Some(label.clone()), span)
            } else {
                LabeledSpan::new_with_span(Some(label.clone()), span)
            }
        })))
    }
}
