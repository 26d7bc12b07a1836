//! What values mean to the language: truthiness, equality, ordering and string form.
//!
//! These rules are shared by operators, functions and template rendering so that `if:`,
//! `contains()` and `"${{ x }}"` never disagree about a value. Nothing here allocates unless
//! it must produce a new string.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};

/// false, null, "", 0, [] and {} are false, and so is the text `false` (in any case, spaces
/// around it ignored): outputs of shell tasks are text, and `ok=false` must not read as true.
/// Everything else is true.
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s.trim().eq_ignore_ascii_case("false")),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// JSON equality, except that numbers compare by value (`1 == 1.0`), also inside lists and
/// maps, and that text compares with a number or a boolean as the value it spells: a shell
/// task's outputs are text, so `outputs.count == 3` holds when it wrote `count=3`, and
/// `outputs.ok == true` when it wrote `ok=true` (any case, as `if:` reads it).
pub fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Number(x), Value::String(s)) | (Value::String(s), Value::Number(x)) => {
            number_text(s).is_some_and(|y| compare_numbers(x, &y) == Some(Ordering::Equal))
        }
        (Value::Bool(x), Value::String(s)) | (Value::String(s), Value::Bool(x)) => bool_text(s) == Some(*x),
        (Value::Array(xs), Value::Array(ys)) => xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| loose_eq(x, y)),
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| loose_eq(x, y)))
        }
        _ => a == b,
    }
}

/// JSON equality, except that numbers compare by value (`3 == 3.0`, `100 == 1e2`), also
/// inside lists and maps. Text never equals a number: for values whose type is known (a
/// parameter, a resource field) rather than shell output.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| same_value(x, y)))
        }
        _ => a == b,
    }
}

/// Ordering for `<`, `<=`, `>`, `>=`: two numbers, a number and text that spells one, or two
/// texts; anything else has none.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        (Value::Number(x), Value::String(s)) => compare_numbers(x, &number_text(s)?),
        (Value::String(s), Value::Number(y)) => compare_numbers(&number_text(s)?, y),
        // Two texts that both spell numbers (two shell outputs, `running=10` and `wanted=9`)
        // are ordered as the numbers; other texts in dictionary order. Equality stays exact.
        (Value::String(x), Value::String(y)) => match (number_text(x), number_text(y)) {
            (Some(m), Some(n)) => compare_numbers(&m, &n),
            _ => Some(x.cmp(y)),
        },
        _ => None,
    }
}

/// The number a text spells, spaces around it aside (`"3"`, `" 2.5 "`, `"-1e3"`), leading
/// zeros too (`"03"`, as `date +%m` or `printf %02d` print).
fn number_text(s: &str) -> Option<Number> {
    let s = s.trim();
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s),
    };
    let bare = digits.trim_start_matches('0');
    if bare.len() == digits.len() || !digits.starts_with('0') {
        return s.parse().ok();
    }
    // Keep one zero before a fraction, an exponent or nothing (`"00"`, `"00.5"`).
    let kept =
        if bare.starts_with(|c: char| c.is_ascii_digit()) { bare } else { &digits[digits.len() - bare.len() - 1..] };
    format!("{sign}{kept}").parse().ok()
}

/// The boolean a text spells: `true` or `false` in any case, spaces around it aside.
fn bool_text(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Integers compare exactly (even beyond 2^53); anything involving a float goes through f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (a.as_i128(), b.as_i128()) {
        (Some(x), Some(y)) if !a.is_f64() && !b.is_f64() => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// How error messages name a value's type.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Appends the string form of a value: strings raw, numbers and bools as written, null as
/// nothing, lists and maps as compact JSON.
pub fn write_string_form(value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        // Writing to a String cannot fail.
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// The string form of a value, borrowed when it already is a string.
pub fn string_form(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        other => {
            let mut out = String::new();
            write_string_form(other, &mut out);
            Cow::Owned(out)
        }
    }
}

/// The text of a string, number or bool; `None` for null, lists and maps, which have no
/// natural text for prefix or substring tests.
pub fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(string_form(value)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn two_texts_that_spell_numbers_are_ordered_as_numbers() {
        assert_eq!(compare(&json!("10"), &json!("9")), Some(Ordering::Greater));
        assert_eq!(compare(&json!("-1"), &json!(" 2.5")), Some(Ordering::Less));
        assert_eq!(compare(&json!("b10"), &json!("b9")), Some(Ordering::Less), "other text in dictionary order");
        assert!(!loose_eq(&json!("007"), &json!("7")), "equality of two texts stays exact");
        assert_eq!(compare(&json!("010"), &json!("9")), Some(Ordering::Greater), "leading zeros aside");
    }

    #[test]
    fn text_compares_with_the_number_or_boolean_it_spells() {
        assert!(loose_eq(&json!("3"), &json!(3)));
        assert!(loose_eq(&json!(3.0), &json!(" 3 ")));
        assert!(!loose_eq(&json!("3 replicas"), &json!(3)));
        assert!(!loose_eq(&json!("0"), &json!(3)));
        assert!(loose_eq(&json!("TRUE"), &json!(true)));
        assert!(loose_eq(&json!(false), &json!("false")));
        assert!(!loose_eq(&json!("yes"), &json!(true)));
        assert!(!loose_eq(&json!("1"), &json!(true)), "only the words, as `if:` reads them");
        assert!(loose_eq(&json!(["3"]), &json!([3])));
        for (text, n) in
            [("03", json!(3)), (" -007 ", json!(-7)), ("00", json!(0)), ("00.5", json!(0.5)), ("0e1", json!(0))]
        {
            assert!(loose_eq(&json!(text), &n), "{text}");
        }
        assert!(
            !loose_eq(&json!("0x3"), &json!(3))
                && !loose_eq(&json!("--3"), &json!(-3))
                && !loose_eq(&json!("0-3"), &json!(3))
        );
        assert_eq!(compare(&json!("10"), &json!(9)), Some(Ordering::Greater), "by value, not as text");
        assert_eq!(compare(&json!(2), &json!("2.5")), Some(Ordering::Less));
        assert_eq!(compare(&json!("abc"), &json!(1)), None);
    }

    #[test]
    fn truthiness() {
        for falsy in [
            json!(false),
            json!(null),
            json!(""),
            json!(0),
            json!(0.0),
            json!([]),
            json!({}),
            json!("false"),
            json!(" FALSE\n"),
        ] {
            assert!(!truthy(&falsy), "{falsy} should be false");
        }
        for true_ in [
            json!(true),
            json!("0"),
            json!("true"),
            json!("falsehood"),
            json!(-1),
            json!(0.5),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(truthy(&true_), "{true_} should be true");
        }
    }

    #[test]
    fn equality_is_numeric_for_numbers() {
        assert!(loose_eq(&json!(1), &json!(1.0)));
        assert!(loose_eq(&json!([1, {"a": 2}]), &json!([1.0, {"a": 2.0}])));
        assert!(loose_eq(&json!({"a": 1, "b": 2}), &json!({"b": 2, "a": 1})));
        assert!(!loose_eq(&json!(1), &json!("1x")));
        assert!(!loose_eq(&json!(null), &json!("")));
        assert!(!loose_eq(&json!(0), &json!(false)));
        assert!(!loose_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!loose_eq(&json!(u64::MAX), &json!(u64::MAX - 1)));
    }

    #[test]
    fn ordering() {
        assert_eq!(compare(&json!(2), &json!(10)), Some(Ordering::Less));
        assert_eq!(compare(&json!(-1), &json!(u64::MAX)), Some(Ordering::Less));
        assert_eq!(compare(&json!(1.5), &json!(1)), Some(Ordering::Greater));
        assert_eq!(compare(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(compare(&json!("2"), &json!(10)), Some(Ordering::Less));
        assert_eq!(compare(&json!("2x"), &json!(10)), None);
        assert_eq!(compare(&json!(null), &json!(null)), None);
    }

    #[test]
    fn string_forms() {
        assert_eq!(string_form(&json!("raw 'text'")), "raw 'text'");
        assert_eq!(string_form(&json!(3)), "3");
        assert_eq!(string_form(&json!(2.5)), "2.5");
        assert_eq!(string_form(&json!(true)), "true");
        assert_eq!(string_form(&json!(null)), "");
        assert_eq!(string_form(&json!([1, "a"])), r#"[1,"a"]"#);
        assert_eq!(string_form(&json!({"b": 1, "a": [true]})), r#"{"b":1,"a":[true]}"#);
        assert_eq!(scalar_text(&json!(null)), None);
        assert_eq!(scalar_text(&json!(7)).as_deref(), Some("7"));
    }
}
