//! The catalog of built-in functions: names, arities and signatures.
//!
//! The parser resolves a call to a [`Function`] here, so an unknown name or a wrong number
//! of arguments is a load-time error rather than a surprise halfway through a recovery. What
//! each function computes lives in `builtins.rs`; this file never evaluates anything.

use std::fmt;
use std::ops::Range;

use super::error::ExprError;

/// A built-in function. Names are case-sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Default,
    Join,
    Format,
    Contains,
    StartsWith,
    EndsWith,
    Length,
    Lower,
    Upper,
    ToJson,
    FromJson,
    Keys,
    Values,
}

impl Function {
    pub const ALL: [Function; 13] = [
        Function::Default,
        Function::Join,
        Function::Format,
        Function::Contains,
        Function::StartsWith,
        Function::EndsWith,
        Function::Length,
        Function::Lower,
        Function::Upper,
        Function::ToJson,
        Function::FromJson,
        Function::Keys,
        Function::Values,
    ];

    /// The name as written in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Function::Default => "default",
            Function::Join => "join",
            Function::Format => "format",
            Function::Contains => "contains",
            Function::StartsWith => "startsWith",
            Function::EndsWith => "endsWith",
            Function::Length => "length",
            Function::Lower => "lower",
            Function::Upper => "upper",
            Function::ToJson => "toJSON",
            Function::FromJson => "fromJSON",
            Function::Keys => "keys",
            Function::Values => "values",
        }
    }

    /// How the function is called, shown in help lines.
    pub fn signature(self) -> &'static str {
        match self {
            Function::Default => "default(value, fallback)",
            Function::Join => "join(list, separator?)",
            Function::Format => "format(template, values...)",
            Function::Contains => "contains(haystack, needle)",
            Function::StartsWith => "startsWith(text, prefix)",
            Function::EndsWith => "endsWith(text, suffix)",
            Function::Length => "length(value)",
            Function::Lower => "lower(text)",
            Function::Upper => "upper(text)",
            Function::ToJson => "toJSON(value)",
            Function::FromJson => "fromJSON(text)",
            Function::Keys => "keys(map)",
            Function::Values => "values(map)",
        }
    }

    /// The smallest and largest number of arguments (`None`: no upper bound).
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Function::Default | Function::Contains | Function::StartsWith | Function::EndsWith => (2, Some(2)),
            Function::Join => (1, Some(2)),
            Function::Format => (1, None),
            Function::Length
            | Function::Lower
            | Function::Upper
            | Function::ToJson
            | Function::FromJson
            | Function::Keys
            | Function::Values => (1, Some(1)),
        }
    }

    pub fn accepts(self, count: usize) -> bool {
        let (min, max) = self.arity();
        count >= min && max.is_none_or(|max| count <= max)
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Resolves a call's name, with a did-you-mean when it is close to a known one.
    pub(crate) fn resolve(name: &str, range: Range<usize>) -> Result<Function, ExprError> {
        if let Some(function) = Function::from_name(name) {
            return Ok(function);
        }
        let error = ExprError::new(format!("unknown function `{name}`"), range);
        let lowered = name.to_ascii_lowercase();
        let closest = Function::ALL
            .into_iter()
            .map(|f| {
                let score = strsim::jaro_winkler(&lowered, &f.name().to_ascii_lowercase());
                (f, score)
            })
            .filter(|(_, score)| *score >= 0.8)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        Err(match closest {
            Some((f, _)) => error.with_help(format!("did you mean `{}`?", f.signature())),
            None => {
                let names: Vec<_> = Function::ALL.iter().map(|f| f.name()).collect();
                error.with_help(format!("available functions: {}", names.join(", ")))
            }
        })
    }

    /// Checks the number of arguments; the error points at the function's name.
    pub(crate) fn check_arity(self, count: usize, range: Range<usize>) -> Result<(), ExprError> {
        if self.accepts(count) {
            return Ok(());
        }
        let expected = match self.arity() {
            (min, Some(max)) if min == max => plural(min),
            (min, Some(max)) => format!("{min} or {max} arguments"),
            (min, None) => format!("at least {}", plural(min)),
        };
        Err(ExprError::new(
            format!(
                "`{}` takes {expected}, but {} given",
                self.name(),
                match count {
                    1 => "1 was".to_string(),
                    n => format!("{n} were"),
                }
            ),
            range,
        )
        .with_help(format!("signature: {}", self.signature())))
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 argument".to_string()
    } else {
        format!("{n} arguments")
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
            assert!(f.signature().starts_with(&format!("{}(", f.name())));
        }
        assert_eq!(Function::from_name("Join"), None);
    }

    #[test]
    fn did_you_mean_ignores_case_and_small_typos() {
        let e = Function::resolve("Join", 3..7).unwrap_err();
        assert_eq!(e.message, "unknown function `Join`");
        assert_eq!(e.range, 3..7);
        assert_eq!(e.help.as_deref(), Some("did you mean `join(list, separator?)`?"));
        let e = Function::resolve("startswith", 0..10).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `startsWith(text, prefix)`?"));
        let e = Function::resolve("fromJson", 0..8).unwrap_err();
        assert_eq!(e.help.as_deref(), Some("did you mean `fromJSON(text)`?"));
    }

    #[test]
    fn unrelated_name_lists_functions() {
        let e = Function::resolve("xyzzy", 0..5).unwrap_err();
        assert_eq!(
            e.help.as_deref(),
            Some(
                "available functions: default, join, format, contains, startsWith, endsWith, \
                 length, lower, upper, toJSON, fromJSON, keys, values"
            )
        );
    }

    #[test]
    fn arity_messages() {
        let e = Function::Join.check_arity(3, 0..4).unwrap_err();
        assert_eq!(e.message, "`join` takes 1 or 2 arguments, but 3 were given");
        assert_eq!(e.help.as_deref(), Some("signature: join(list, separator?)"));
        let e = Function::Lower.check_arity(0, 0..5).unwrap_err();
        assert_eq!(e.message, "`lower` takes 1 argument, but 0 were given");
        let e = Function::Default.check_arity(1, 0..7).unwrap_err();
        assert_eq!(e.message, "`default` takes 2 arguments, but 1 was given");
        let e = Function::Format.check_arity(0, 0..6).unwrap_err();
        assert_eq!(e.message, "`format` takes at least 1 argument, but 0 were given");
        assert!(Function::Format.check_arity(9, 0..6).is_ok());
    }
}
