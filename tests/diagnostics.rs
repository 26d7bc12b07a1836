//! `drctl validate` reports every problem at once, each pointing at its line.

mod support;

use support::Sandbox;

fn validate_json(sb: &Sandbox, file: &str) -> serde_json::Value {
    let ran = sb.run(&["validate", file, "-o", "json"]);
    assert_eq!(ran.code, 2, "invalid runbooks exit 2: {}", ran.stderr);
    serde_json::from_str(&ran.stdout).expect("json")
}

/// What `validate` prints of a runbook it refuses (exit 2), drawn 100 columns wide.
fn refused(text: &str) -> String {
    let sb = Sandbox::new();
    sb.write("rb.yaml", text);
    let ran = sb.command(&["validate", "rb.yaml"]).env("COLUMNS", "100").output().unwrap();
    assert_eq!(ran.status.code(), Some(2));
    String::from_utf8_lossy(&ran.stderr).into_owned()
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

/// The fields of polymorphic bodies drctl checks come from Oracle's Python SDK, the version
/// `.ci/deps/oci.sh` installs: the checked-in file is what the generator writes from it.
#[test]
fn the_checked_in_oci_models_are_current() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/oci_models.py");
    let Ok(out) = std::process::Command::new(&python).arg(script).output() else {
        return support::tool_missing("python3");
    };
    if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("No module named 'oci'") {
        return support::tool_missing("the python `oci` package (.ci/deps/oci.sh)");
    }
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let checked_in = include_str!("../schemas/oci-models.json");
    assert!(
        String::from_utf8_lossy(&out.stdout) == checked_in,
        "regenerate with: python3 schemas/oci_models.py > schemas/oci-models.json"
    );
}

/// The JSON Schema editors check runbooks with and `drctl validate` agree on the shape and
/// the types of what they both check: each runbook below is accepted by both or refused by both.
#[test]
fn the_schema_and_validate_agree() {
    let probe = std::process::Command::new("python3").args(["-c", "import jsonschema, yaml"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return support::tool_missing("python3 with jsonschema and yaml (.ci/deps/schema.sh)");
    }
    let task = "  t: { uses: sleep, with: { duration: 1ms } }\n";
    let cases: Vec<(&str, String, bool)> = vec![
        ("a valid runbook", format!("version: 1\nname: ok\ntasks:\n{task}"), true),
        ("no name", format!("version: 1\ntasks:\n{task}"), false),
        ("a null name", format!("version: 1\nname: ~\ntasks:\n{task}"), false),
        ("a number for a name", format!("version: 1\nname: 123\ntasks:\n{task}"), false),
        ("a number for a description", format!("version: 1\nname: x\ndescription: 5\ntasks:\n{task}"), false),
        ("a hexadecimal number for a name", format!("version: 1\nname: 0x1F\ntasks:\n{task}"), false),
        ("a number ending in a dot for a name", format!("version: 1\nname: 1.\ntasks:\n{task}"), false),
        (
            "a number for a task's description",
            "version: 1\nname: x\ntasks:\n  t: { uses: sleep, description: 7, with: { duration: 1ms } }\n".into(),
            false,
        ),
        ("a list for `with`", "version: 1\nname: x\ntasks:\n  t: { uses: sleep, with: [1] }\n".into(), false),
        ("a number for `uses`", "version: 1\nname: x\ntasks:\n  t: { uses: 5 }\n".into(), false),
        ("a number for a phase", format!("version: 1\nname: x\nphases: [1]\ntasks:\n{task}"), false),
        ("an empty enum", format!("version: 1\nname: x\nparams: {{ e: {{ enum: [] }} }}\ntasks:\n{task}"), false),
        ("no tasks", "version: 1\nname: x\ntasks: {}\n".into(), false),
        ("version 2", format!("version: 2\nname: x\ntasks:\n{task}"), false),
        ("an unknown key", format!("version: 1\nname: x\nowner: me\ntasks:\n{task}"), false),
        ("a bad duration", "version: 1\nname: x\ntasks:\n  t: { uses: sleep, timeout: soon }\n".into(), false),
        (
            "a long number for a name",
            format!("version: 1\nname: 123456789012345678901234567890\ntasks:\n{task}"),
            false,
        ),
        (
            "an `if` with no value",
            "version: 1\nname: x\ntasks:\n  t: { uses: sleep, if: ~, with: { duration: 1ms } }\n".into(),
            false,
        ),
        (
            "a list for `if`",
            "version: 1\nname: x\ntasks:\n  t: { uses: sleep, if: [1], with: { duration: 1ms } }\n".into(),
            false,
        ),
        (
            "a condition",
            "version: 1\nname: x\ntasks:\n  t: { uses: sleep, if: \"${{ true }}\", with: { duration: 1ms } }\n".into(),
            true,
        ),
        (
            "a map for `for_each`",
            "version: 1\nname: x\ntasks:\n  t: { uses: sleep, for_each: { a: 1 }, with: { duration: 1ms } }\n".into(),
            false,
        ),
    ];
    let sb = Sandbox::new();
    let schema = format!("{}/schemas/runbook.schema.json", env!("CARGO_MANIFEST_DIR"));
    let check = "import json, sys, yaml, jsonschema\nschema = json.load(open(sys.argv[1]))\ntry:\n    \
                 jsonschema.validate(yaml.safe_load(open(sys.argv[2])), schema)\nexcept \
                 jsonschema.ValidationError as e:\n    print(e.message)\n    sys.exit(1)\n";
    for (what, text, valid) in cases {
        let file = sb.write("case.yaml", &text);
        let by_schema = std::process::Command::new("python3")
            .args(["-c", check, &schema, file.to_str().unwrap()])
            .output()
            .expect("python3");
        let by_drctl = sb.run(&["validate", "case.yaml"]);
        let schema_says = String::from_utf8_lossy(&by_schema.stdout).into_owned();
        assert_eq!(by_schema.status.success(), valid, "{what}: the schema says {schema_says:?}");
        assert_eq!(by_drctl.code == 0, valid, "{what}: drctl says {}", by_drctl.stderr);
    }
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

/// A runbook that is not UTF-8 is refused at its first bad byte, in text and in JSON alike.
#[test]
fn a_runbook_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let sb = Sandbox::new();
    std::fs::write(sb.path().join("rb.yaml"), b"version: 1\nname: \xff\n").unwrap();
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("rb.yaml:2:7: the runbook is not UTF-8 text"), "{}", ran.stderr);
    let json = validate_json(&sb, "rb.yaml");
    assert_eq!((json["problems"][0]["line"].as_u64(), json["problems"][0]["column"].as_u64()), (Some(2), Some(7)));
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
    insta::assert_snapshot!(refused(include_str!("fixtures/invalid/unknown-outputs.yaml")));
}

#[test]
fn misspelled_resource_fields_are_refused_with_the_field_they_likely_mean() {
    insta::assert_snapshot!(refused(include_str!("fixtures/invalid/misspelled-fields.yaml")));
}

#[test]
fn member_reads_indexes_and_orderings_that_fail_for_every_value_of_a_type_are_refused() {
    insta::assert_snapshot!(refused(include_str!("fixtures/invalid/type-errors.yaml")));
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

/// Where unwrapping the text would not say what was meant (a bare word becomes a name, text
/// glued to an expression a longer name), the help shows how to write it instead.
#[test]
fn a_condition_whose_text_cannot_simply_be_unwrapped_gets_a_help_that_works() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: mixed
params:
  env: { type: string, default: prod }
  x: { type: string, default: a }
tasks:
  word: { uses: shell, if: "${{ params.env }} == prod", with: { run: "true" } }
  glued: { uses: assert, with: { that: "${{ params.x }}x" } }
  prose: { uses: assert, with: { that: "the vcn exists" } }
  bare: { uses: assert, with: { that: "params.x == 'a'" } }
"#,
    );
    let problems = validate_json(&sb, "rb.yaml");
    let helps: Vec<&str> =
        problems["problems"].as_array().unwrap().iter().map(|p| p["help"].as_str().unwrap()).collect();
    assert_eq!(helps.len(), 4, "{problems:#}");
    assert!(helps[0].contains("with text in single quotes, as in: if: ${{ params.env == 'prod' }}"), "{problems:#}");
    assert!(helps[1].contains("with text in single quotes"), "{problems:#}");
    assert!(helps[2].contains("with text in single quotes"), "{problems:#}");
    assert_eq!(helps[3], "write it as an expression: that: ${{ params.x == 'a' }}", "{problems:#}");
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

/// A tab in the indentation is shown where it is, not where the parser noticed it (the end
/// of the line above).
#[test]
fn a_tab_in_the_indentation_is_shown_on_its_line() {
    let sb = support::Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: y2\nphases: [a]\ntasks:\n  t:\n    phase: a\n\tuses: shell\n    with: { run: echo }\n",
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    insta::assert_snapshot!(ran.stderr);
    let json = validate_json(&sb, "rb.yaml");
    assert_eq!(
        (&json["problems"][0]["line"], &json["problems"][0]["column"]),
        (&serde_json::json!(7), &serde_json::json!(1)),
        "{json}"
    );
}

/// Every problem `validate` reports names its fix in a help line.
#[test]
fn every_problem_has_a_help_line() {
    let sb = Sandbox::new();
    let files = [
        "version: 1\nname: bad\nparams:\n  count: { type: number, default: \"abc\" }\n  flag: { type: bool, default: 3 }\n  \
         e: { type: number, enum: [1, \"a\"] }\n  e2: { type: string, enum: [] }\nconcurrency: { g: 0 }\ndefaults: { \
         parallelism: 0 }\nphases: [a, a]\ntasks:\n  t3:\n    uses: shell\n    on_failure: explode\n    with: { run: echo, dir: \
         5 }\n  t4: { uses: shell, with: { run: [1] } }\n  t5: { uses: shell, with: { run: '' } }\n  t6:\n    uses: approval\n    \
         with: { message: hi, on_timeout: maybe }\n  t7: { uses: approval, with: { message: hi, on_timeout: deny } }\n  t8: { \
         uses: assert, with: { actual: 1 } }\n  t9: { uses: wait_until, with: { until: 'true' } }\n  t10: { uses: shell, \
         depends_on: [zz], with: { run: \"echo ${{ each }}\" } }\n  t11: { uses: nope }\n  t12: { uses: shell, if: ~, retry: { \
         attempts: lots }, with: { run: echo } }\n  t13: { uses: shell, if: [1], with: { run: echo } }\n",
        "version: 1\nname: x\ntasks:\n",
        "version: 1\nname: x\ntasks: {}\n",
        "version: 1\nname:\ntasks:\n  t: { uses: sleep, with: { duration: 1ms } }\n",
        "version: 1\nname: inputs\ntasks:\n  a: { uses: shell, with: { run: echo, env: 5 } }\n  b: { uses: http, with: { url: \
         'http://x', headers: { A: { b: 1 } }, json: {}, body: x } }\n  c: { uses: oci.request, with: { method: GET, service: \
         nope, path: /x } }\n  d: { uses: registry.copy, with: {} }\n  e: { uses: oci.core.vcn, with: { region: 5, fields: 5, \
         wait: x } }\n  f: { uses: shell, with: { run: 'echo ${{ params. }}' } }\n  g: { uses: shell, if: '${{ ( }}', with: { \
         run: echo } }\n  h: { uses: shell, with: [1] }\n",
    ];
    for text in files {
        sb.write("bad.yaml", text);
        let problems = validate_json(&sb, "bad.yaml");
        for p in problems["problems"].as_array().unwrap() {
            assert!(p["help"].is_string(), "no help for {p}");
        }
    }
    // `tasks:` and `name:` with no value are named where they are written.
    sb.write("bad.yaml", files[1]);
    let problems = validate_json(&sb, "bad.yaml");
    assert_eq!(
        (problems["problems"][0]["message"].as_str(), problems["problems"][0]["line"].as_u64()),
        (Some("`tasks` is empty"), Some(3))
    );
    sb.write("bad.yaml", files[3]);
    let problems = validate_json(&sb, "bad.yaml");
    assert_eq!(
        (problems["problems"][0]["message"].as_str(), problems["problems"][0]["line"].as_u64()),
        (Some("`name` has no value"), Some(2))
    );
}

/// A YAML tag is reported with the rest of the file's problems, and nothing else is said about
/// the tagged value.
#[test]
fn a_yaml_tag_does_not_hide_the_other_problems() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: t\nparams: { count: { type: number, default: 3 } }\ntasks:\n  t1: { uses: shell, if: \
         !params.dry_run, with: { run: echo } }\n  t2: { uses: shell, with: { run: \"echo ${{ params.nope }}\" } }\n  t3: { \
         uses: shel, with: { run: echo } }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let found: Vec<(&str, u64)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap(), p["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        found,
        [("drctl::yaml-tag", 5), ("drctl::unknown-param", 6), ("drctl::unknown-action", 7)],
        "{problems}"
    );
    assert_eq!(problems["problems"][0]["help"], "write the negated condition as an expression: ${{ !params.dry_run }}");

    // Tags on a key, a map and a list: the tag alone is reported there, with the help for it.
    sb.write(
        "rb.yaml",
        "version: 1\nname: n\ntasks:\n  !foo b:\n    uses: shell\n    with: !!map { run: 1 }\n  c:\n    uses: shell\n    \
         depends_on: !seq [zz]\n    with: { run: x, env: !!binary aGVsbG8= }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let found: Vec<(&str, &str)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["code"].as_str().unwrap(), p["help"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        found,
        [
            ("drctl::yaml-tag", "remove the tag: a key is a plain name"),
            ("drctl::yaml-tag", "remove the tag: drctl reads lists and maps as they are written"),
            ("drctl::yaml-tag", "remove the tag: drctl reads lists and maps as they are written"),
            (
                "drctl::yaml-tag",
                "remove the tag, which drctl does not read; to keep a leading `!` as text, put the whole value in quotes"
            ),
        ],
        "{problems:#}"
    );
}

/// A long flat chain of `&&` nests nothing and is read; integers past 64 bits are never
/// silently turned into another number.
#[test]
fn long_chains_and_large_integers() {
    let sb = Sandbox::new();
    // A chain of each operator near the deepest the parser takes (256 levels) evaluates too.
    let deepest = |op: &str| vec!["params.l[0]"; 250].join(op);
    for op in [" != ", " == ", " || ", " && "] {
        let deep = deepest(op);
        sb.write(
            "deep.yaml",
            &format!(
                "version: 1\nname: deep\nparams:\n  l: {{ type: list, default: [x] }}\ntasks:\n  a: {{ uses: shell, if: \
                 \"${{{{ {deep} }}}}\", with: {{ run: 'true' }} }}\n  b: {{ uses: shell, with: {{ run: 'echo \
                 \"${{{{ {deep} }}}}\"' }} }}\n"
            ),
        );
        let ran = sb.run(&["run", "deep.yaml", "-q"]);
        assert_eq!(ran.code, 0, "{op}: {}", ran.stderr);
        let deeper = format!("{deep}{op}{}", ["params.l[0]"; 10].join(op));
        sb.write("deep.yaml", &format!("version: 1\nname: deep\ntasks:\n  a: {{ uses: shell, if: \"${{{{ {deeper} }}}}\", with: {{ run: 'true' }} }}\n"));
        let refused = sb.run(&["validate", "deep.yaml"]);
        assert_eq!(refused.code, 2, "{op}: {}", refused.stderr);
    }
    let chain = vec!["params.l[0] == 'x'"; 120].join(" && ");
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: big\nparams:\n  l: {{ type: list, default: [x] }}\n  id: {{ type: number }}\ntasks:\n  \
             a: {{ uses: assert, with: {{ that: \"${{{{ {chain} }}}}\" }} }}\n  t:\n    uses: shell\n    for_each: \
             [18446744073709551616, 12345678901234567890]\n    with:\n      run: echo \"each=${{{{ each }}}} C=$C\" >> out\n      \
             env: {{ C: 98765432109876543210 }}\n"
        ),
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", "id=12345678901234567890"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let out = sb.read("out");
    assert!(out.contains("each=18446744073709551616 C=98765432109876543210"), "{out}");
    assert!(out.contains("each=12345678901234567890 C=98765432109876543210"), "{out}");
    let zero = sb.run(&["plan", "rb.yaml", "-p", "id=-0"]);
    assert_eq!(zero.code, 0, "-0 is 0: {}", zero.stderr);
    sb.write("def.yaml", "version: 1\nname: d\nparams: { m: { type: number, default: 18446744073709551616 } }\ntasks:\n  t: { uses: sleep, with: { duration: 1ms } }\n");
    let too_big = sb.run(&["validate", "def.yaml"]);
    assert!(
        too_big.stderr.contains("default of `m` is a whole number drctl cannot hold exactly"),
        "{}",
        too_big.stderr
    );
    let refused = sb.run(&["plan", "rb.yaml", "-p", "id=98765432109876543210"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("is not a whole number drctl can hold exactly"), "{}", refused.stderr);
    sb.write(
        "expr.yaml",
        "version: 1\nname: e\ntasks:\n  t: { uses: assert, with: { that: '${{ 98765432109876543210 > 1 }}' } }\n",
    );
    let refused = sb.run(&["validate", "expr.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("integer too large to hold exactly"), "{}", refused.stderr);
}

/// Fields inside a resource's objects of the wrong type are refused at the value, before
/// anything runs; a value still to be resolved is judged once it is.
#[test]
fn nested_resource_fields_of_the_wrong_type_are_refused_where_they_are() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: types\nparams:\n  port: { type: string, default: \"443\" }\ntasks:\n  sl:\n    uses: \
         oci.core.security_list\n    with:\n      region: us-phoenix-1\n      compartmentId: ocid1.compartment.oc1..x\n      \
         vcnId: ocid1.vcn.oc1..x\n      displayName: sl\n      ingressSecurityRules:\n        - protocol: 6\n          source: \
         0.0.0.0/0\n          tcpOptions: { destinationPortRange: { min: \"443\", max: 443 } }\n      egressSecurityRules: []\n  \
         fn:\n    uses: oci.functions.function\n    with:\n      region: us-phoenix-1\n      applicationId: ocid1.fnapp.oc1..x\n      \
         displayName: f\n      image: r/i:1\n      memoryInMBs: 128\n      provisionedConcurrencyConfig: { strategy: CONSTANT, \
         count: \"${{ params.port }}\" }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let found: Vec<(&str, u64)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["message"].as_str().unwrap(), p["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("oci.core.security_list: `ingressSecurityRules[0].protocol` must be a string, not a number", 14),
            (
                "oci.core.security_list: `ingressSecurityRules[0].tcpOptions.destinationPortRange.min` must be a whole \
                 number, not a string",
                16
            ),
        ],
        "{problems:#}"
    );
    // Resolved, the parameter gives text where a number belongs: the plan refuses it.
    let planned = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(planned.code, 2, "{}", planned.stderr);
}

/// Polymorphic bodies (an API deployment's routes, a connector's source and target) are
/// checked against the variant their discriminator names: a misspelled field, a value of the
/// wrong type and a discriminator naming no variant are refused where they are written.
#[test]
fn polymorphic_bodies_are_checked_against_the_variant_they_name() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: poly\nparams:\n  kind: { type: string, default: HTTP_BAKEND }\ntasks:\n  deploy:\n    uses: \
         oci.apigateway.deployment\n    with:\n      region: us-phoenix-1\n      compartmentId: ocid1.compartment.oc1..x\n      \
         gatewayId: ocid1.apigateway.oc1..x\n      displayName: orders\n      pathPrefix: /v1\n      specification:\n        \
         routes:\n          - path: /orders\n            backend: { type: ORACLE_FUNCTION_BACKEND, functionId: f }\n          \
         - path: /health\n            backend: { type: STOCK_RESPONSE_BACKEND, status: \"200\", bdy: ok }\n          \
         - path: /x\n            backend: { type: \"${{ params.kind }}\", url: https://example.com }\n  connector:\n    \
         uses: oci.sch.connector\n    with:\n      region: us-phoenix-1\n      compartmentId: ocid1.compartment.oc1..x\n      \
         displayName: c\n      source: { kind: logging, logSources: [{ compartmentId: x, logGroupID: y }] }\n      \
         target: { kind: functions, functionId: f, batchSizeInKbs: 5 }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let found: Vec<(&str, &str, u64)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["message"].as_str().unwrap(), p["help"].as_str().unwrap_or(""), p["line"].as_u64().unwrap()))
        .collect();
    let messages: Vec<(&str, u64)> = found.iter().map(|(m, _, l)| (*m, *l)).collect();
    assert_eq!(
        messages,
        [
            (
                "oci.apigateway.deployment: `specification.routes[0].backend.type` must be one of \
                 `DYNAMIC_ROUTING_BACKEND`, `HTTP_BACKEND`, `OAUTH2_LOGIN_BACKEND`, `OAUTH2_LOGOUT_BACKEND`, \
                 `ORACLE_FUNCTIONS_BACKEND`, `STOCK_RESPONSE_BACKEND`, not `ORACLE_FUNCTION_BACKEND`",
                17
            ),
            (
                "oci.apigateway.deployment: `specification.routes[1].backend.status` must be a whole number, not a \
                 string",
                19
            ),
            ("oci.apigateway.deployment: `specification.routes[1].backend.bdy` is not a field there; did you mean `body`?", 19),
            ("oci.sch.connector: `source.logSources[0].logGroupID` is not a field there; did you mean `logGroupId`?", 28),
        ],
        "{problems:#}"
    );
    assert!(found[0].1.starts_with("did you mean `ORACLE_FUNCTIONS_BACKEND`?"), "{problems:#}");

    // Fixed but for the discriminator an expression gives: the plan refuses what it resolves to.
    let text = sb.read("rb.yaml");
    let fixed = text
        .replace("ORACLE_FUNCTION_BACKEND", "ORACLE_FUNCTIONS_BACKEND")
        .replace("status: \"200\", bdy", "status: 200, body")
        .replace("logGroupID", "logGroupId");
    sb.write("rb.yaml", &fixed);
    assert_eq!(sb.run(&["validate", "rb.yaml"]).code, 0);
    let planned = sb.run(&["plan", "rb.yaml"]);
    assert_eq!(planned.code, 2, "{}", planned.stderr);
    assert!(planned.stderr.contains("not `HTTP_BAKEND`"), "{}", planned.stderr);
    let planned = sb.run(&["plan", "rb.yaml", "--param", "kind=HTTP_BACKEND"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
}

/// A function's configuration is text: `0xFF` unquoted is the number 255 in YAML, and would be
/// sent as a number; `validate` says to quote it.
#[test]
fn a_function_configuration_holds_text_only() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: cfg\ntasks:\n  app:\n    uses: oci.functions.application\n    with:\n      region: us-phoenix-1\n      \
         compartmentId: ocid1.compartment.oc1..x\n      displayName: a\n      subnetIds: [ocid1.subnet.oc1..s]\n      \
         config: { COLOR: 0xFF, MODE: \"0o17\" }\n",
    );
    let problems = validate_json(&sb, "rb.yaml");
    let messages: Vec<&str> =
        problems["problems"].as_array().unwrap().iter().map(|p| p["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        ["oci.functions.application: `config.COLOR` must be a string (quote it), not a number"],
        "{problems:#}"
    );
}

/// Aliases of aliases multiply: a few hundred bytes would take gigabytes. The expansion stops
/// at a budget, and the alias that crossed it is named.
#[test]
fn an_alias_bomb_is_refused_where_it_goes_past_the_budget() {
    let sb = Sandbox::new();
    let mut text = String::from("version: 1\nname: bomb\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("tasks:\n  t: { uses: shell, with: { run: 'true' } }\n");
    sb.write("rb.yaml", &text);
    sb.write("p.yaml", text.split("tasks:").next().unwrap().trim_start_matches("version: 1\nname: bomb\n"));
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("aliases expand to more than 200000 values"), "{}", ran.stderr);
    assert!(ran.stderr.contains("rb.yaml:8:"), "the alias that crossed the budget: {}", ran.stderr);
    let params = sb.run(&["validate", "rb.yaml", "--params-file", "p.yaml"]);
    assert_eq!(params.code, 2, "{}", params.stderr);
}

/// A task read through a computed name (which adds no dependency) and a YAML merge key inside
/// inputs (which the reader does not apply) are refused, each at its place.
#[test]
fn computed_task_names_and_merge_keys_in_inputs_are_refused() {
    insta::assert_snapshot!(refused(include_str!("fixtures/invalid/reads.yaml")));
}

/// A `for_each` expression that reads nothing gives at validate what it gives at run time: one
/// that is no list is refused now, at its place.
#[test]
fn a_constant_for_each_that_is_no_list_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: c\ntasks:\n  fe: { uses: shell, for_each: \"${{ fromJSON('{\\\"a\\\":1}') }}\", with: { run: \
         'true' } }\n  ok: { uses: shell, for_each: \"${{ fromJSON('[1, 2]') }}\", with: { run: 'true' } }\n",
    );
    let json = validate_json(&sb, "rb.yaml");
    let problems = json["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{json:#}");
    assert_eq!(problems[0]["message"], "for_each over a non-list: this expression gives a map", "{json:#}");
    assert_eq!((problems[0]["line"].as_u64(), problems[0]["column"].as_u64()), (Some(4), Some(32)), "{json:#}");
}
