//! What a person sees: progress, terminal output, and the masking of secrets.

pub mod progress;
pub mod redact;

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

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("cutover"), "cutover");
        assert_eq!(shell_word("gate[eu west]"), "'gate[eu west]'");
        assert_eq!(shell_word("fn[a]"), "'fn[a]'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
