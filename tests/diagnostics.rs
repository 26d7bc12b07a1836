//! `drctl validate` reports every problem at once, each pointing at its line.

mod support;

use support::Sandbox;

fn validate_json(sb: &Sandbox, file: &str) -> serde_json::Value {
    let ran = sb.run(&["validate", file, "-o", "json"]);
    assert_eq!(ran.code, 2, "invalid runbooks exit 2: {}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("json")
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let sb = Sandbox::new();
    sb.write("broken.yaml", include_str!("fixtures/invalid/many-errors.yaml"));
    insta::assert_json_snapshot!(validate_json(&sb, "broken.yaml"));
}

#[test]
fn human_diagnostics_show_the_snippet_and_help() {
    let sb = Sandbox::new();
    sb.write("broken.yaml", include_str!("fixtures/invalid/many-errors.yaml"));
    let ran = sb.command(&["validate", "broken.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    insta::assert_snapshot!(stderr);
}

#[test]
fn one_bad_expression_does_not_hide_the_others_in_its_string() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: x
params: { a: { type: string, default: x } }
tasks:
  t: { uses: shell, with: { run: "echo ${{ params.nope }} ${{ params.a == }} ${{ ) }} ${{ tasks.zz.outputs.q }}" } }
"#,
    );
    let problems = validate_json(&sb, "rb.yaml");
    let found: Vec<(&str, u64)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap(), p["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("drctl::unknown-param", 44),
            ("drctl::expression", 75),
            ("drctl::expression", 82),
            ("drctl::unknown-task", 91)
        ]
    );
}

#[test]
fn human_and_json_columns_agree_on_lines_with_accents() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: x\ntasks:\n  préparé: { uses: shell, with: { run: \"echo ${{ params.nope }}\" } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let column = problems["problems"][0]["column"].as_u64().unwrap();
    assert_eq!(column, 50, "{problems}");
    let human = sb.run(&["validate", "rb.yaml"]);
    assert!(human.stderr.contains(&format!("rb.yaml:4:{column}]")), "{}", human.stderr);
}

#[test]
fn the_checked_in_schema_is_current() {
    let sb = Sandbox::new();
    let ran = sb.run(&["schema"]);
    assert_eq!(ran.code, 0);
    let checked_in = include_str!("../schemas/runbook.schema.json");
    assert_eq!(
        ran.stdout.trim(),
        checked_in.trim(),
        "regenerate with: cargo run -- schema > schemas/runbook.schema.json"
    );
}

#[test]
fn valid_example_runbooks_validate() {
    let mut checked = 0;
    for dir in ["/examples", "/runbooks"] {
        for entry in std::fs::read_dir(format!("{}{dir}", env!("CARGO_MANIFEST_DIR"))).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let sb = Sandbox::new();
                let ran = sb.run(&["validate", path.to_str().unwrap()]);
                assert_eq!(ran.code, 0, "{}: {}", path.display(), ran.stderr);
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "the quick start's runbooks were not found");
}

/// Problems found before the runbook model is read: each exits 2 and points at its place.
#[test]
fn broken_documents_are_refused_with_their_place() {
    let deep = format!("version: 1\nname: deep\ntasks: {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    let cases: [(&str, String, &str); 4] = [
        ("deep nesting", deep, "nest more than 100 levels"),
        ("two documents", "version: 1\nname: a\ntasks: {}\n---\nversion: 1\n".into(), "second YAML document"),
        (
            "enum default",
            "version: 1\nname: e\nparams:\n  c: { type: string, enum: [x, y], default: z }\ntasks:\n  t: { uses: shell, with: { run: 'true' } }\n"
                .into(),
            "default of `c` is not one of its allowed values",
        ),
        (
            "duplicate task",
            "version: 1\nname: d\ntasks:\n  t: { uses: shell, with: { run: 'true' } }\n  t: { uses: shell, with: { run: 'false' } }\n".into(),
            "duplicate key `t`",
        ),
    ];
    for (what, text, expected) in cases {
        let sb = Sandbox::new();
        sb.write("rb.yaml", &text);
        let ran = sb.run(&["validate", "rb.yaml"]);
        assert_eq!(ran.code, 2, "{what}: {}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{what}: {}", ran.stderr);
        assert!(ran.stderr.contains("rb.yaml:"), "{what}: no place in {}", ran.stderr);
    }
}

#[test]
fn a_zero_timeout_is_refused_with_its_place() {
    let sb = support::Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: zero\ntasks:\n  a:\n    uses: shell\n    timeout: 0s\n    with: { run: 'true' }\n",
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("a timeout of 0 would fail every attempt at once"), "{}", ran.stderr);
    assert!(ran.stderr.contains("rb.yaml:6:"), "{}", ran.stderr);
}

/// A field of the wrong type does not hide the other problems of its task.
#[test]
fn a_wrong_type_in_a_task_does_not_hide_its_other_problems() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: multi
params:
  region: { type: string, default: x }
base: &base { uses: shell }
tasks:
  a:
    uses: shell
    depends_on: nope
    retry: { attempts: three, delay: soon }
    timeout: 5 parsecs
    with: { run: 'echo ${{ params.regoin }}' }
  b:
    <<: *base
    uses: shell
    depends_on: [ghost]
"#,
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for expected in [
        "expected a sequence, found the string `nope`",
        "expected a whole number, 1 or more, found the string `three`",
        "bad duration: `soon`",
        "bad duration: `5 parsecs`",
        "unknown parameter `regoin`",
        "`b` depends on unknown task `ghost`",
        "YAML merge keys (`<<: *anchor`) are not supported",
    ] {
        assert!(ran.stderr.contains(expected), "missing `{expected}`: {}", ran.stderr);
    }
}

#[test]
fn every_bad_default_and_concurrency_limit_is_reported_at_once() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: df\ndefaults:\n  timeout: -5s\n  parallelism: 0\n  on_failure: explode\nconcurrency: { api: 0, web: abc }\ntasks:\n  t: { uses: shell, concurrency: web, with: { run: 'true' } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let lines: Vec<u64> =
        problems["problems"].as_array().unwrap().iter().map(|p| p["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [4, 5, 6, 7, 7], "{problems:#}");
}

#[test]
fn an_expression_inside_a_literal_for_each_list_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: fl\ntasks:\n  f: { uses: shell, for_each: [one, \"${{ run.name }}\"], with: { run: 'echo ${{ each }}' } }\n  g: { uses: shell, for_each: [{ name: \"${{ run.name }}\" }], with: { run: 'true' } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    assert_eq!(problems["problems"].as_array().unwrap().len(), 2, "inside a map item too: {problems:#}");
    let first = &problems["problems"][0];
    assert_eq!(first["message"], "`${{ }}` inside a for_each list is not evaluated", "{problems:#}");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(4), Some(37)), "{problems:#}");
}

#[test]
fn outputs_that_built_in_actions_never_give_are_refused_with_the_names_they_give() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", include_str!("fixtures/invalid/unknown-outputs.yaml"));
    let ran = sb.command(&["validate", "rb.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8_lossy(&ran.stderr));
}

#[test]
fn misspelled_resource_fields_are_refused_with_the_field_they_likely_mean() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", include_str!("fixtures/invalid/misspelled-fields.yaml"));
    let ran = sb.command(&["validate", "rb.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8_lossy(&ran.stderr));
}

#[test]
fn member_reads_indexes_and_orderings_that_fail_for_every_value_of_a_type_are_refused() {
    let sb = Sandbox::new();
    sb.write("rb.yaml", include_str!("fixtures/invalid/type-errors.yaml"));
    let ran = sb.command(&["validate", "rb.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8_lossy(&ran.stderr));
}

#[test]
fn an_expression_in_a_key_is_refused_at_the_key() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: keys\nparams:\n  h: { type: string, default: X-Team }\ntasks:\n  a:\n    uses: http\n    with:\n      url: http://127.0.0.1:9/\n      headers: { \"${{ params.h }}\": orders }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    assert_eq!(problems["problems"].as_array().unwrap().len(), 1, "{problems:#}");
    let first = &problems["problems"][0];
    assert_eq!(first["message"], "`${{ }}` in a key is not evaluated", "{problems:#}");
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(10), Some(18)), "{problems:#}");
}

#[test]
fn a_condition_that_mixes_text_with_expressions_is_refused_with_the_one_expression_to_write() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: mixed
params:
  a: { type: bool, default: false }
  b: { type: bool, default: true }
tasks:
  both: { uses: shell, if: "${{ params.a }} && ${{ params.b }}", with: { run: "true" } }
  not: { uses: shell, if: "!${{ params.b }}", with: { run: "true" } }
  spaced: { uses: shell, if: " ${{ params.a }} ", with: { run: "true" } }
  same: { uses: assert, with: { that: "${{ params.a }} == ${{ params.b }}" } }
"#,
    );
    let problems = validate_json(&sb, "rb.yaml");
    let list = problems["problems"].as_array().unwrap();
    assert_eq!(list.len(), 3, "whitespace around one expression is fine: {problems:#}");
    let helps: Vec<&str> = list.iter().map(|p| p["help"].as_str().unwrap()).collect();
    assert_eq!(
        helps,
        [
            "write the whole condition as one expression: if: ${{ params.a && params.b }}",
            "write the whole condition as one expression: if: ${{ !params.b }}",
            "write the whole condition as one expression: that: ${{ params.a == params.b }}",
        ],
        "{problems:#}"
    );
    assert_eq!((list[0]["line"].as_u64(), list[0]["column"].as_u64()), (Some(7), Some(28)), "{problems:#}");
}

#[test]
fn a_state_compared_with_text_that_is_no_state_is_refused_with_a_did_you_mean() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: states\ntasks:\n  a: { uses: shell, on_failure: continue, with: { run: 'false' } }\n  b: { uses: shell, if: \"tasks.a.state == 'faild'\", with: { run: 'true' } }\n  c: { uses: shell, if: \"${{ tasks.a.state == 'failed' || tasks.a.state != 'skipped' }}\", with: { run: 'true' } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let list = problems["problems"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{problems:#}");
    assert_eq!(list[0]["message"], "`faild` is not a state a task can be in", "{problems:#}");
    assert!(list[0]["help"].as_str().unwrap().starts_with("did you mean `failed`?"), "{problems:#}");
    assert_eq!((list[0]["line"].as_u64(), list[0]["column"].as_u64()), (Some(5), Some(43)), "{problems:#}");
}

#[test]
fn an_rto_of_zero_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: rto\nobjectives: { rto: 0s }\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    assert_eq!(problems["problems"][0]["message"], "an RTO of 0 is over as the run starts", "{problems:#}");
    assert_eq!(problems["problems"][0]["line"], 3, "{problems:#}");
}

/// A last line the parser cannot read is shown, marked: the parser stops past it, where a
/// snippet would show nothing.
#[test]
fn a_stray_last_line_is_shown_where_it_is() {
    let sb = support::Sandbox::new();
    sb.write("rb.yaml", "version: 1\nname: stray\ntasks:\n  a: { uses: shell, with: { run: 'true' } }\nfoo\n\n");
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    insta::assert_snapshot!(ran.stderr);
}
