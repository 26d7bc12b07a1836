//! Templates: splitting, raw values versus concatenation, partial rendering, references.

use serde_json::json;

use super::eval::scope;
use crate::runbook::expr::{EvalError, Reference, Template, TemplatePart};

const KNOWN_AFTER_RUN: &str = "(known after run)";

fn render(s: &str) -> serde_json::Value {
    Template::parse(s).unwrap().render(&scope()).unwrap()
}

fn partial(s: &str) -> serde_json::Value {
    Template::parse(s).unwrap().render_partial(&scope(), KNOWN_AFTER_RUN).unwrap()
}

#[test]
fn splits_into_parts_with_ranges() {
    let t = Template::parse("echo ${{ params.count }}!").unwrap();
    let parts = t.parts();
    assert_eq!(parts.len(), 3);
    assert!(matches!(&parts[0], TemplatePart::Literal { text, range } if text == "echo " && *range == (0..5)));
    let TemplatePart::Expr { expr, range } = &parts[1] else {
        panic!("not an expression: {:?}", parts[1]);
    };
    assert_eq!(*range, 5..24);
    assert_eq!(expr.span(), 9..21);
    assert!(matches!(&parts[2], TemplatePart::Literal { text, range } if text == "!" && *range == (24..25)));
    assert!(!t.is_literal());
}

#[test]
fn literal_strings() {
    for s in ["", "plain", "cost: $5", "${ not }", "$${x}", "{{ x }}", "a $"] {
        let t = Template::parse(s).unwrap();
        assert!(t.is_literal(), "{s}");
        assert_eq!(t.render(&scope()).unwrap(), json!(s));
        assert_eq!(t.references(), vec![]);
    }
}

#[test]
fn a_single_expression_keeps_its_type() {
    assert_eq!(render("${{ params.regions }}"), json!(["eu-frankfurt-1", "uk-london-1"]));
    assert_eq!(render("  ${{ params.flag }}\n"), json!(true));
    assert_eq!(render("${{params.count}}"), json!(3));
    assert_eq!(render("${{ params.none }}"), json!(null));
    assert_eq!(render("${{ params.dest_region != 'none' }}"), json!(true));
}

#[test]
fn mixed_text_concatenates_string_forms() {
    assert_eq!(render("echo \"${{ params.dest_region }}\""), json!("echo \"eu-frankfurt-1\""));
    assert_eq!(render("n=${{ params.count }} r=${{ params.ratio }}"), json!("n=3 r=0.5"));
    assert_eq!(render("[${{ params.none }}]"), json!("[]"));
    assert_eq!(render("${{ params.flag }}${{ params.flag }}"), json!("truetrue"));
    assert_eq!(render("regions: ${{ params.regions }}"), json!(r#"regions: ["eu-frankfurt-1","uk-london-1"]"#));
    assert_eq!(render("${{ params.apps.app1 }}."), json!(r#"{"image":"img1"}."#));
}

#[test]
fn closing_braces_inside_strings_do_not_close() {
    assert_eq!(render("${{ '}}' }}"), json!("}}"));
    assert_eq!(render("a${{ 'it''s }}' }}b"), json!("ait's }}b"));
    // The only way to write a literal `${{`.
    assert_eq!(render("${{ '${{' }} x }}"), json!("${{ x }}"));
    assert_eq!(render("${{ format('{{{0}}}', 1) }}"), json!("{1}"));
}

#[test]
fn unclosed_and_empty_expressions() {
    let e = Template::parse("run ${{ params.x").unwrap_err();
    assert_eq!(e.message, "unclosed `${{`");
    assert_eq!(e.range, 4..7);
    let e = Template::parse("a ${{ 'oops }}").unwrap_err();
    assert_eq!(e.message, "unclosed `${{`");
    assert_eq!(e.range, 2..5);
    let e = Template::parse("x ${{  }} y").unwrap_err();
    assert_eq!(e.message, "empty expression");
    assert_eq!(e.range, 2..9);
}

#[test]
fn every_bad_expression_of_a_string_is_found_and_the_good_ones_kept() {
    let (t, errors) = Template::parse_all("${{ params.a }} ${{ 1 + }} ${{ }} ${{ params.b }} ${{ 'x");
    let messages: Vec<_> = errors.iter().map(|e| (e.message.as_str(), e.range.start)).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[1], ("empty expression", 27));
    assert_eq!(messages[2], ("unclosed `${{`", 50));
    let names: Vec<_> = t.references().iter().map(|r| r.to_string()).collect();
    assert_eq!(names, ["params.a", "params.b"]);
}

#[test]
fn expression_errors_are_relative_to_the_whole_string() {
    let s = "echo ${{ params.x == }} done";
    let e = Template::parse(s).unwrap_err();
    assert_eq!(e.message, "expected an expression, found the end of the expression");
    assert_eq!(e.range, 21..21);
    let s = "a ${{ ok }} b ${{ Lower(x) }}";
    let e = Template::parse(s).unwrap_err();
    assert_eq!(&s[e.range.clone()], "Lower");
    assert_eq!(e.help.as_deref(), Some("did you mean `lower(text)`?"));
}

#[test]
fn evaluation_errors_are_relative_to_the_whole_string() {
    let s = "x=${{ params.count }} y=${{ nope.z }}";
    let e = Template::parse(s).unwrap().render(&scope()).unwrap_err();
    assert_eq!(e, EvalError::UnknownName { name: "nope".into(), range: 28..32 });
    assert_eq!(&s[e.range().clone()], "nope");
}

#[test]
fn render_partial_replaces_unknown_expressions() {
    assert_eq!(
        partial("app=${{ tasks.make-app.outputs.id }} fn=${{ tasks.later.outputs.id }}"),
        json!("app=ocid1.app fn=(known after run)")
    );
    assert_eq!(partial("${{ tasks.later.outputs.ids }}"), json!(KNOWN_AFTER_RUN));
    assert_eq!(partial("${{ params.regions }}"), json!(["eu-frankfurt-1", "uk-london-1"]));
    assert_eq!(partial("${{ params.count }}"), json!(3));
    assert_eq!(partial("${{ default(tasks.later.outputs.x, 'y') }}!"), json!("(known after run)!"));
    // Other errors still fail.
    let t = Template::parse("a ${{ tasks.later.outputs.x }} ${{ nope }}").unwrap();
    assert!(matches!(t.render_partial(&scope(), KNOWN_AFTER_RUN), Err(EvalError::UnknownName { .. })));
    // And `render` reports the unknown task.
    let t = Template::parse("a ${{ tasks.later.outputs.x }}").unwrap();
    assert!(t.render(&scope()).unwrap_err().is_unknown());
}

#[test]
fn references_are_relative_to_the_whole_string() {
    let s = "oci fn invoke ${{ tasks.make-app.outputs[each.x].id }} --region ${{ params.dest_region }}";
    let refs = Template::parse(s).unwrap().references();
    assert_eq!(
        refs,
        vec![
            Reference {
                root: "tasks".into(),
                path: vec!["make-app".into(), "outputs".into()],
                segments: vec![Some("make-app".into()), Some("outputs".into()), None, Some("id".into())],
                range: 18..40,
                fallback: false
            },
            Reference {
                root: "each".into(),
                path: vec!["x".into()],
                segments: vec![Some("x".into())],
                range: 41..47,
                fallback: false
            },
            Reference {
                root: "params".into(),
                path: vec!["dest_region".into()],
                segments: vec![Some("dest_region".into())],
                range: 68..86,
                fallback: false
            },
        ]
    );
    assert_eq!(&s[18..40], "tasks.make-app.outputs");
    assert_eq!(&s[41..47], "each.x");
    assert_eq!(&s[68..86], "params.dest_region");
}

#[test]
fn display_prints_canonical_expressions() {
    let t = Template::parse("a ${{params.x=='y'}} b").unwrap();
    assert_eq!(t.to_string(), "a ${{ params.x == 'y' }} b");
    assert_eq!(single("  ${{ a }} "), Some("a".to_string()));
    assert_eq!(single("${{ a }}${{ b }}"), None);
    assert_eq!(single("x${{ a }}"), None);
    assert_eq!(single("plain"), None);
}

fn single(s: &str) -> Option<String> {
    Template::parse(s).unwrap().single_expression().map(|e| e.to_string())
}
