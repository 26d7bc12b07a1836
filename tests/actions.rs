//! The `http`, `wait_until` and `assert` actions, run by the engine through the real binary
//! against a small HTTP server in the test.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use support::Sandbox;

/// What the server saw: each request's method, path and body.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// Serves, until the test ends:
/// - `GET /status`: `{"ready": false}` for the first two calls, then `{"ready": true}`;
/// - `POST /orders`: 201 with `{"id": "order-1", "echo": <the request's JSON>}`;
/// - `GET /moved`: 302 to `/status`;
/// - `GET /busy`: 429 with `Retry-After: 120`;
/// - `GET /busy-date`: 503 with a `Retry-After` date an hour ahead;
/// - `GET /html`: 200, labelled JSON, with a page of HTML;
/// - `GET /20160918/flaky`: 429 TooManyRequests the first time, then 200 with `{}`;
/// - `GET /token`: 200 with `{"access_token": "tk-S3CRETV4LUE"}`;
/// - `GET /cookies`: 200 with two `Set-Cookie` and two `X-Multi` headers;
/// - `GET /big`: 200 with a JSON string of 100,000 `x` and ` NEEDLE`;
/// - `GET /query...`: 200 with `{}`;
/// - anything else: 404.
fn serve() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let polls = Arc::new(AtomicUsize::new(0));
    let flaky = AtomicUsize::new(0);
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).into_owned();
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let path = parts.next().unwrap_or_default().to_owned();
            log.lock().expect("lock").push((method.clone(), path.clone(), body.clone()));
            let (status, answer) = match (method.as_str(), path.as_str()) {
                ("GET", "/status") => {
                    let n = polls.fetch_add(1, Ordering::SeqCst);
                    ("200 OK", format!(r#"{{"ready": {}}}"#, n >= 2))
                }
                ("POST", "/orders") => ("201 Created", format!(r#"{{"id": "order-1", "echo": {body}}}"#)),
                ("GET", "/moved") => ("302 Found", "{}".to_owned()),
                ("GET", "/busy") => ("429 Too Many Requests", r#"{"code": "TooManyRequests"}"#.to_owned()),
                ("GET", "/busy-date") => ("503 Service Unavailable", r#"{"code": "Unavailable"}"#.to_owned()),
                ("GET", "/html") => ("200 OK", "<html><body>maintenance</body></html>".to_owned()),
                ("GET", "/20160918/flaky") if flaky.fetch_add(1, Ordering::SeqCst) == 0 => {
                    ("429 Too Many Requests", r#"{"code": "TooManyRequests", "message": "slow down"}"#.to_owned())
                }
                ("GET", "/20160918/flaky") => ("200 OK", "{}".to_owned()),
                ("GET", "/token") => ("200 OK", r#"{"access_token": "tk-S3CRETV4LUE"}"#.to_owned()),
                ("GET", "/cookies") => ("200 OK", "{}".to_owned()),
                ("GET", "/big") => ("200 OK", format!("\"{} NEEDLE\"", "x".repeat(100_000))),
                ("GET", p) if p.starts_with("/query") => ("200 OK", "{}".to_owned()),
                _ => ("404 Not Found", r#"{"code": "NotFound"}"#.to_owned()),
            };
            let in_an_hour = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
            let location = match path.as_str() {
                "/moved" => "location: /status\r\n".to_owned(),
                "/busy" => "retry-after: 120\r\n".to_owned(),
                "/busy-date" => format!("retry-after: {}\r\n", httpdate::fmt_http_date(in_an_hour)),
                "/cookies" => "set-cookie: a=1\r\nset-cookie: b=2\r\nx-multi: one\r\nx-multi: two\r\n".to_owned(),
                _ => String::new(),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{location}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (base, seen)
}

#[test]
fn http_wait_until_and_assert_run_through_the_engine() {
    let (base, seen) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: actions
params:
  base: { type: string, required: true }
tasks:
  ready:
    uses: wait_until
    with:
      http: { url: "${{ params.base }}/status" }
      until: response.json.ready == true
      interval: 50ms
      timeout: 10s
  create:
    uses: http
    depends_on: [ready]
    with:
      method: POST
      url: "${{ params.base }}/orders"
      json: { item: "widget", count: 3 }
      expect: { status: 201, json: { id: order-1 } }
  check:
    uses: assert
    with:
      actual: "${{ tasks.create.outputs.json.echo.item }}"
      expected: widget
      message: the server saw our body
  check-status:
    uses: assert
    with:
      that: "${{ tasks.create.outputs.status == 201 && tasks.ready.outputs.polls >= 3 }}"
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("base={base}"), "--progress", "plain"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert!(states.values().all(|(s, _)| s == "succeeded"), "{states:?}");
    let seen = seen.lock().expect("lock").clone();
    let polls = seen.iter().filter(|(m, p, _)| m == "GET" && p == "/status").count();
    assert_eq!(polls, 3, "polled until ready: {seen:?}");
    let posts: Vec<_> = seen.iter().filter(|(m, p, _)| m == "POST" && p == "/orders").collect();
    assert_eq!(posts.len(), 1, "{seen:?}");
    let body: serde_json::Value = serde_json::from_str(&posts[0].2).expect("json body");
    assert_eq!(body, serde_json::json!({ "item": "widget", "count": 3 }));
}

#[test]
fn failed_expectations_and_assertions_fail_their_tasks_with_the_reason() {
    let (base, _) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: failing
params:
  base: { type: string, required: true }
tasks:
  missing:
    uses: http
    on_failure: continue
    with: { url: "${{ params.base }}/nowhere", expect: { status: 200 } }
  wrong:
    uses: assert
    on_failure: continue
    with: { actual: two, expected: three, message: the counts differ }
  never:
    uses: wait_until
    on_failure: continue
    with:
      shell: { run: 'exit 1' }
      interval: 20ms
      timeout: 200ms
  no-error-field:
    uses: http
    on_failure: continue
    retry: { attempts: 1 }
    with: { url: "${{ params.base }}/html", expect: { json: { error: null } } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("base={base}")]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.status(&ran.run_id());
    let error = |id: &str| -> String {
        status["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .find(|t| t["id"] == id)
            .and_then(|t| t["error"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(error("missing").contains("404"), "{}", error("missing"));
    assert!(error("wrong").contains("the counts differ"), "{}", error("wrong"));
    assert!(error("never").contains("200ms"), "{}", error("never"));
    // A page that is not JSON has no `error` field to find null: the check fails, saying why.
    let not_json = error("no-error-field");
    assert!(not_json.contains("`expect.json` needs JSON, but the answer is not JSON: <html>"), "{not_json}");
}

#[test]
fn wait_until_reads_exit_codes_polls_at_its_deadline_and_names_what_it_cannot_read() {
    let sb = Sandbox::new();
    // A name the probe's result does not have is a typo: refused before anything runs.
    sb.write(
        "typo.yaml",
        "version: 1\nname: typo\ntasks:\n  w:\n    uses: wait_until\n    with: { shell: 'true', until: \"result.output.ready == 'yes'\", interval: 5x }\n",
    );
    let refused = sb.run(&["validate", "typo.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("`result.output` is not part of the probe's result"), "{}", refused.stderr);
    assert!(refused.stderr.contains("did you mean `outputs`?"), "{}", refused.stderr);
    assert!(refused.stderr.contains("`5x` is not a duration"), "{}", refused.stderr);
    // A value is no condition: `until: false` would be ignored, and the first probe end the wait.
    for value in ["false", "0", "null"] {
        sb.write(
            "value.yaml",
            &format!("version: 1\nname: value\ntasks:\n  w:\n    uses: wait_until\n    with: {{ shell: 'true', until: {value} }}\n"),
        );
        let refused = sb.run(&["validate", "value.yaml"]);
        assert_eq!(refused.code, 2, "{value}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(&format!("`until` is the value {value}, not a condition")),
            "{}",
            refused.stderr
        );
    }
    // Nor is a constant expression, which gives the same value on every poll.
    sb.write(
        "constant.yaml",
        "version: 1\nname: constant\ntasks:\n  w:\n    uses: wait_until\n    with: { shell: 'true', until: \"${{ false }}\" }\n  h:\n    uses: http\n    with: { url: 'http://127.0.0.1:1/', timeout: 0s }\n",
    );
    let refused = sb.run(&["validate", "constant.yaml"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("`until` is the constant `${{ false }}`, not a condition"), "{}", refused.stderr);
    assert!(refused.stderr.contains("`timeout` must be longer than zero"), "{}", refused.stderr);
    sb.write(
        "rb.yaml",
        r#"version: 1
name: waits
tasks:
  exit-code:
    uses: wait_until
    with: { shell: 'exit 3', until: 'result.exit_code == 3', interval: 50ms, timeout: 2s }
  at-deadline:
    uses: wait_until
    on_failure: continue
    with: { shell: 'false', interval: 700ms, timeout: 1s }
  unreadable:
    uses: wait_until
    on_failure: continue
    with: { shell: 'echo ready=no >> "$DRCTL_OUTPUT"', until: "result.outputs.ready.state == 'up'", interval: 100ms, timeout: 300ms }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.status(&ran.run_id());
    let task = |id: &str| status["tasks"].as_array().expect("tasks").iter().find(|t| t["id"] == id).cloned();
    assert_eq!(task("exit-code").expect("exit-code")["state"], "succeeded", "{status:#}");
    // Polled at 0 s, 0.7 s and once more at the 1 s deadline.
    let error = task("at-deadline").expect("at-deadline")["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("after 3 polls"), "{error}");
    // What `until` could not read is in the failure, not hidden behind "not yet".
    let error = task("unreadable").expect("unreadable")["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("cannot read member `state` of a string"), "{error}");
}

#[test]
fn inputs_are_checked_without_with_and_in_probes_and_assert_takes_only_conditions() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: inputs
params: { n: { type: number, default: 3 } }
tasks:
  bare-text: { uses: assert, with: { that: "params.n == 4" } }
  no-with: { uses: sleep }
  probe: { uses: shell, check: { uses: shell, with: { runn: "x" } }, with: { run: 'true' } }
  number: { uses: assert, with: { that: 1 } }
  empty: { uses: assert, with: { that: } }
  literal: { uses: assert, with: { that: true } }
"#,
    );
    let ran = sb.run(&["validate", "rb.yaml", "-o", "json"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let problems: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let messages: Vec<(String, u64)> = problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["message"].as_str().unwrap().to_owned(), p["line"].as_u64().unwrap()))
        .collect();
    for (want, line) in [
        ("assert: `that` is the text `params.n == 4`, not a condition", 5),
        ("sleep: missing input `duration`", 6),
        ("shell: unknown input `runn`", 7),
        ("assert: `that` is the number 1, not a condition", 8),
        ("assert: `that` is empty, not a condition", 9),
    ] {
        assert!(messages.contains(&(want.to_owned(), line)), "{want} at line {line}: {messages:?}");
    }
    assert!(!messages.iter().any(|(_, line)| *line == 10), "a literal boolean is a condition: {messages:?}");
    // At run time `that` must say true or false; shell outputs say it as text.
    sb.write(
        "run.yaml",
        r#"version: 1
name: conditions
tasks:
  o: { uses: shell, with: { run: 'echo "ok=true" >> "$DRCTL_OUTPUT"; echo "n=5" >> "$DRCTL_OUTPUT"' } }
  yes: { uses: assert, with: { that: "${{ tasks.o.outputs.ok }}" } }
  number: { uses: assert, on_failure: continue, with: { that: "${{ tasks.o.outputs.n }}" } }
"#,
    );
    let ran = sb.run(&["run", "run.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let states = sb.task_states(&ran.run_id());
    assert_eq!(states["yes"].0, "succeeded");
    assert_eq!(states["number"].0, "failed");
    assert!(ran.stderr.contains("`that` must be true or false, got \"5\""), "{}", ran.stderr);
}

#[test]
fn a_shell_task_in_another_directory_still_sets_outputs() {
    let sb = Sandbox::new();
    std::fs::create_dir(sb.path().join("sub")).unwrap();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: dir
tasks:
  here: { uses: shell, with: { run: 'echo "where=$(basename "$(pwd)")" >> "$DRCTL_OUTPUT"', dir: sub } }
  read: { uses: shell, with: { run: 'echo ${{ tasks.here.outputs.where }} > seen' } }
"#,
    );
    // The default state directory, `.drctl`, is relative.
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(sb.read("seen").trim(), "sub");
}

#[test]
fn mistyped_http_expectations_urls_and_timeouts_are_refused_at_validate() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: expect
tasks:
  a: { uses: http, with: { url: "http://127.0.0.1:1/", expect: [ { status: 500 } ] } }
  b: { uses: http, with: { url: "http://127.0.0.1:1/", expect: { json: [n, 6] } } }
  c: { uses: http, with: { url: "http://127.0.0.1:1/", expect: { status: abc } } }
  d: { uses: http, with: { url: "not a url", timeout: 5q } }
  e: { uses: http, with: { url: "http://127.0.0.1:1/", expect: { status: [200, "4xx"] } } }
"#,
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for want in [
        "`expect` must be a map",
        "`expect.json` must map JSON paths to values",
        "`expect.status` \"abc\" is not an HTTP status",
        "`not a url` is not a URL",
        "`5q` is not a duration",
        "5 problems",
    ] {
        assert!(ran.stderr.contains(want), "{want}: {}", ran.stderr);
    }
    // A URL from an earlier task's output is checked once resolved, as the task starts: a bad
    // input, never attempted.
    sb.write(
        "computed.yaml",
        "version: 1\nname: computed\ntasks:\n  src: { uses: shell, with: { run: 'echo u=ftp://x/y >> \"$DRCTL_OUTPUT\"' } }\n  t: { uses: http, retry: { attempts: 3, delay: 10ms, retry_on: [any] }, with: { url: '${{ tasks.src.outputs.u }}' } }\n",
    );
    let ran = sb.run(&["run", "computed.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("`ftp://x/y` uses ftp"), "{}", ran.stderr);
    assert!(ran.stderr.contains("input `url` refused"), "{}", ran.stderr);
    assert_eq!(sb.task_states(&ran.run_id())["t"].1, 0, "attempted a bad input");
    // From a parameter, it is known before the run: the run does not start.
    sb.write(
        "param.yaml",
        "version: 1\nname: param\nparams: { u: { type: string, default: 'ftp://x/y' } }\ntasks:\n  t: { uses: http, with: { url: '${{ params.u }}' } }\n",
    );
    let ran = sb.run(&["run", "param.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("t: with: input `url` refused: `ftp://x/y` uses ftp"), "{}", ran.stderr);
}

#[test]
fn an_until_written_as_a_template_is_refused_with_the_bare_form() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: wu\ntasks:\n  w: { uses: wait_until, with: { http: { url: 'http://127.0.0.1:1/' }, until: '${{ response.status == 200 }}' } }\n",
    );
    let ran = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("`until` is read at each poll"), "{}", ran.stderr);
    assert!(ran.stderr.contains("until: response.status == 200"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("unknown name"), "said twice: {}", ran.stderr);
    assert!(ran.stderr.contains("1 problem"), "{}", ran.stderr);
}

#[test]
fn a_wait_until_poll_is_cut_off_at_the_deadline() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: wu\ntasks:\n  w: { uses: wait_until, with: { shell: 'sleep 8; exit 1', interval: 500ms, timeout: 1s } }\n",
    );
    let started = std::time::Instant::now();
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "waited {:?}", started.elapsed());
    assert!(ran.stderr.contains("poll 1 was still running at the deadline"), "{}", ran.stderr);
}

#[test]
fn a_background_process_holding_the_output_does_not_keep_a_shell_task_running() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: bg\ntasks:\n  t: { uses: shell, timeout: 4s, with: { run: 'echo hello; sleep 3 & echo $! > bg.pid' } }\n",
    );
    let started = std::time::Instant::now();
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(started.elapsed() < std::time::Duration::from_millis(2500), "waited {:?}", started.elapsed());
    let log = std::fs::read_to_string(sb.path().join(".drctl/runs").join(ran.run_id()).join("logs/t.log")).unwrap();
    assert!(log.contains("hello"), "{log}");
    let pid = sb.read("bg.pid").trim().to_owned();
    // The background process is the command's own: still running after its task ended.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} is gone");
    let _ = std::process::Command::new("kill").arg(&pid).status();
}

#[test]
fn the_poll_made_at_the_deadline_gets_a_tenth_of_the_timeout() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: wu\ntasks:\n  w: { uses: wait_until, with: { shell: 'if [ -f once ]; then sleep 10; else touch once; exit 1; fi', interval: 10s, timeout: 2s } }\n",
    );
    let started = std::time::Instant::now();
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    // 2 s, then 0.2 s for the poll at the deadline; not 2 s more.
    assert!(started.elapsed() < std::time::Duration::from_millis(3200), "waited {:?}", started.elapsed());
    assert!(ran.stderr.contains("poll 2 was still running at the deadline"), "{}", ran.stderr);
}

#[test]
fn a_redirect_is_followed_unless_follow_redirects_is_false() {
    let (base, seen) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: redirects\ntasks:\n  stays:\n    uses: http\n    with: {{ url: '{base}/moved', follow_redirects: false, expect: {{ status: 302 }} }}\n  follows:\n    uses: http\n    depends_on: [stays]\n    with: {{ url: '{base}/moved', expect: {{ status: 200 }} }}\n"
        ),
    );
    let ran = sb.run(&["run", "rb.yaml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let paths: Vec<String> = seen.lock().unwrap().iter().map(|(_, p, _)| p.clone()).collect();
    assert_eq!(paths, ["/moved", "/moved", "/status"]);
    sb.write(
        "bad.yaml",
        "version: 1\nname: bad\ntasks:\n  a: { uses: http, with: { url: 'http://x', follow_redirects: 'no' } }\n",
    );
    let checked = sb.run(&["validate", "bad.yaml"]);
    assert_eq!(checked.code, 2);
    assert!(checked.stderr.contains("`follow_redirects` must be true or false"), "{}", checked.stderr);
}

#[test]
fn a_wait_until_shell_probe_gets_expression_values_as_data_not_code() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: probe\nparams:\n  name: { type: string, default: safe }\ntasks:\n  text: { uses: wait_until, with: { shell: 'echo \"${{ params.name }}\" > text', timeout: 2s } }\n  inputs: { uses: wait_until, with: { shell: { run: 'echo \"${{ params.name }}\" > inputs' }, timeout: 2s } }\n",
    );
    let value = "x\"; touch PWNED; echo \"";
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("name={value}")]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!sb.path().join("PWNED").exists(), "the value ran as shell code");
    assert_eq!(sb.read("text").trim_end(), value);
    assert_eq!(sb.read("inputs").trim_end(), value);
}

#[test]
fn a_wait_until_http_probe_and_an_http_body_are_checked_at_validate() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: probes\ntasks:\n  down: { uses: wait_until, with: { http: { url: 'http://127.0.0.1:9/x', expect: { statuss: 503 } }, timeout: 1s } }\n  post: { uses: http, with: { url: 'http://127.0.0.1:9/x', method: POST, body: { a: 1 } } }\n",
    );
    let checked = sb.run(&["validate", "rb.yaml"]);
    assert_eq!(checked.code, 2, "{}", checked.stderr);
    assert!(checked.stderr.contains("`http.expect`: unknown input `statuss`"), "{}", checked.stderr);
    assert!(checked.stderr.contains("`body` must be text, got a map"), "{}", checked.stderr);
}

#[test]
fn a_retry_after_longer_than_max_delay_ends_the_task_at_once_saying_what_to_raise() {
    let (base, seen) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: busy
params:
  base: { type: string, required: true }
tasks:
  call:
    uses: http
    on_failure: continue
    retry: { attempts: 5, delay: 10ms, max_delay: 30s }
    with: { url: "${{ params.base }}/busy" }
  dated:
    uses: http
    on_failure: continue
    retry: { attempts: 5, delay: 10ms, max_delay: 30s }
    with: { url: "${{ params.base }}/busy-date" }
"#,
    );
    let started = std::time::Instant::now();
    let ran = sb.run(&["run", "rb.yaml", "--param", &format!("base={base}"), "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "it did not wait the 2 minutes asked");
    let status = sb.status(&ran.run_id());
    assert!(
        status["tasks"][0]["error"].as_str().unwrap_or_default().contains("the server asked to wait 2m00s before retrying, longer than max_delay 30s; raise max_delay to wait that long"),
        "{status}"
    );
    // A date counts like the seconds it is away.
    let dated = status["tasks"][1]["error"].as_str().unwrap_or_default();
    assert!(
        ["1h00m", "59m59s"].iter().any(|d| dated.contains(&format!("the server asked to wait {d} ")))
            && dated.contains("longer than max_delay 30s"),
        "{status}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2, "one call each, no retry before the server's time");
}

#[test]
fn computed_inputs_meet_the_checks_of_literal_ones_when_the_task_starts() {
    let sb = Sandbox::new();
    let tasks = r#"
  call: { uses: http, on_failure: continue, with: { url: "http://127.0.0.1:9/", method: "${{ FROM.method }}" } }
  gate: { uses: approval, on_failure: continue, with: { message: go?, timeout: "${{ FROM.wait }}", on_timeout: approve } }
  nap: { uses: sleep, on_failure: continue, with: { duration: "${{ FROM.wait }}" } }
  poll:
    uses: wait_until
    on_failure: continue
    with: { http: { url: "http://127.0.0.1:9/", method: "${{ FROM.method }}" }, until: response.status == 200 }
  every:
    uses: wait_until
    on_failure: continue
    with: { shell: { run: "true" }, interval: "${{ FROM.wait }}" }
"#;
    // Values an earlier task gives are checked as each task starts.
    sb.write(
        "rb.yaml",
        &format!(
            "version: 1\nname: resolved\ntasks:\n  src: {{ uses: shell, with: {{ run: 'printf \"method=FETCH\\nwait=2 secs-ish\\n\" >> \"$DRCTL_OUTPUT\"' }} }}{}",
            tasks.replace("FROM", "tasks.src.outputs")
        ),
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let status = sb.status(&ran.run_id());
    let error = |id: &str| {
        let task = status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap();
        assert_eq!(task["state"], "failed", "{task}");
        assert_eq!(task["attempts"], 0, "{task}");
        task["error"].as_str().unwrap().to_owned()
    };
    assert!(error("call").starts_with("input `method` refused: `FETCH` is not an HTTP method"), "{status}");
    assert!(error("gate").starts_with("input `timeout` refused:"), "{status}");
    assert!(error("nap").starts_with("input `duration` refused:"), "{status}");
    assert!(
        error("poll").starts_with("input `http` refused: `http.method`: `FETCH` is not an HTTP method"),
        "{status}"
    );
    assert!(error("every").starts_with("input `interval` refused:"), "{status}");
    // From parameters, the same values are known before the run: it does not start, and says
    // every one.
    sb.write(
        "params.yaml",
        &format!(
            "version: 1\nname: resolved\nparams:\n  method: {{ type: string, default: FETCH }}\n  wait: {{ type: string, default: 2 secs-ish }}\ntasks:{}",
            tasks.replace("FROM", "params")
        ),
    );
    let ran = sb.run(&["run", "params.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("5 expressions or inputs would fail"), "{}", ran.stderr);
    // A probe's own inputs are checked at validate, each at its place inside the probe.
    sb.write(
        "probe.yaml",
        "version: 1\nname: probe\ntasks:\n  w: { uses: wait_until, with: { shell: { run: 'true', bogus: 1 }, until: result.exit_code == 0 } }\n",
    );
    let ran = sb.run(&["validate", "probe.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("`shell.bogus`: unknown input `bogus`"), "{}", ran.stderr);
    assert!(ran.stderr.contains("[probe.yaml:4:56]"), "placed at `bogus`: {}", ran.stderr);
    // Headers and a query that are not maps are refused before the run.
    sb.write(
        "types.yaml",
        "version: 1\nname: types\ntasks:\n  t: { uses: http, with: { url: 'http://127.0.0.1:9/', headers: ['Authorization: Bearer x'], query: 'x=1' } }\n  s: { uses: shell, with: { run: 'true', shell: '', env: { 'A=B': z } } }\n",
    );
    let ran = sb.run(&["validate", "types.yaml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for want in [
        "`headers` must be a map of names to values, got a list",
        "`query` must be a map of names to values, got a string",
        "`shell` must name a shell program",
        "`A=B` cannot name an environment variable",
    ] {
        assert!(ran.stderr.contains(want), "{want}: {}", ran.stderr);
    }
    // The bad name is the place shown: line 5, where `'A=B'` begins.
    let column = "  s: { uses: shell, with: { run: 'true', shell: '', env: { ".len() + 1;
    assert!(ran.stderr.contains(&format!("types.yaml:5:{column}]")), "{}", ran.stderr);
}

#[test]
fn a_resumed_run_reads_the_parts_of_a_secret_answer_that_were_never_secret() {
    let (base, _) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: partial-secret
params:
  base: { type: string, required: true }
tasks:
  name:
    uses: shell
    with: { run: 'echo id=server-0001 >> "$DRCTL_OUTPUT"' }
  order:
    uses: http
    secret_outputs: [json]
    with:
      method: POST
      url: "${{ params.base }}/orders"
      json: { ref: "${{ tasks.name.outputs.id }}", token: tok-canary-4242 }
  gate:
    uses: shell
    depends_on: [order]
    retry: { attempts: 1 }
    with: { run: test -f go }
  clear:
    uses: shell
    depends_on: [gate]
    with: { run: 'echo "${{ tasks.order.outputs.json.echo.ref }}" > ref.txt' }
  hidden:
    uses: shell
    depends_on: [gate]
    on_failure: continue
    with: { run: 'echo "${{ tasks.order.outputs.json.echo.token }}" > token.txt' }
"#,
    );
    let param = format!("base={base}");
    let ran = sb.run(&["run", "rb.yaml", "-p", &param, "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let id = ran.run_id();
    // Only the runbook itself, which holds it as a literal, has the token.
    for (path, bytes) in
        sb.all_files().into_iter().filter(|(p, _)| !p.ends_with("rb.yaml") && !p.ends_with("runbook.yaml"))
    {
        assert!(!String::from_utf8_lossy(&bytes).contains("tok-canary-4242"), "secret in {}", path.display());
    }
    sb.write("go", "");
    let resumed = sb.run(&["resume", &id, "--progress", "plain"]);
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    // The id was stored in the clear (an earlier task's ordinary output); the token was not.
    assert_eq!(sb.read("ref.txt").trim(), "server-0001", "{}", resumed.stderr);
    assert!(!sb.path().join("token.txt").exists(), "ran with the mask");
    let status = sb.status(&id);
    let task = |name: &str| status["tasks"].as_array().unwrap().iter().find(|t| t["id"] == name).unwrap().clone();
    assert_eq!(task("clear")["state"], "succeeded");
    let error = task("hidden")["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("reads output `json.echo.token` of `order`, which held a secret"), "{error}");
}

/// The log of `task` in the sandbox's only run, once the run directory exists.
fn task_log(sb: &Sandbox, task: &str) -> String {
    let runs = sb.path().join(".drctl/runs");
    let Some(Ok(run)) = std::fs::read_dir(&runs).ok().and_then(|mut d| d.next()) else { return String::new() };
    std::fs::read_to_string(run.path().join("logs").join(format!("{task}.log"))).unwrap_or_default()
}

#[test]
fn a_commands_lines_reach_its_log_while_it_runs_unless_the_task_has_secret_outputs() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: follow
tasks:
  chatty:
    uses: shell
    with:
      run: 'echo first; echo warning >&2; printf partial; while [ ! -e go ]; do sleep 0.02; done; echo " line"; echo second'
  secretive:
    uses: shell
    secret_outputs: [token]
    with:
      run: 'echo progress; touch printed; while [ ! -e go ]; do sleep 0.02; done; echo token=abc123 >> "$DRCTL_OUTPUT"'
"#,
    );
    let mut child = sb
        .command(&["run", "rb.yaml", "--progress", "plain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(task_log(&sb, "chatty").contains("[stderr] warning\n") && sb.path().join("printed").exists()) {
        assert!(std::time::Instant::now() < until, "lines never reached the log: {:?}", task_log(&sb, "chatty"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Whole lines are in the log while the command runs; the unfinished one waits for its end.
    let early = task_log(&sb, "chatty");
    assert!(early.contains("[stdout] first\n") && !early.contains("partial"), "{early}");
    // A task with a secret output keeps its lines until its outputs are known.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!task_log(&sb, "secretive").contains("progress"), "{}", task_log(&sb, "secretive"));
    sb.write("go", "");
    assert!(child.wait().unwrap().success());
    let chatty = task_log(&sb, "chatty");
    assert_eq!(chatty.matches("[stdout] first\n").count(), 1, "{chatty}");
    assert!(chatty.contains("[stdout] partial line\n[stdout] second\n"), "{chatty}");
    assert!(task_log(&sb, "secretive").contains("[stdout] progress\n"));
}

/// A call its OCI client retried inside one attempt (429 here) is recorded with the attempt
/// and named by the report, although the task succeeded on its first attempt.
#[test]
fn calls_retried_by_the_oci_client_show_in_the_report() {
    let (base, _) = serve();
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["sim", "init", "sim"]).code, 0);
    sb.write("endpoints.json", &format!(r#"{{"us-ashburn-1": "{base}"}}"#));
    sb.write(
        "rb.yaml",
        "version: 1\nname: calls\ntasks:\n  read:\n    uses: oci.request\n    with: { method: GET, service: core, \
         region: us-ashburn-1, path: /20160918/flaky }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--config-file", "sim/config", "--endpoints", "endpoints.json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let run = ran.run_id();
    assert_eq!(sb.task_states(&run)["read"], ("succeeded".to_owned(), 1));
    let report = sb.run(&["report", &run, "--format", "markdown"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let line = report.stdout.lines().find(|l| l.starts_with("- **read** attempt 1:")).unwrap_or_else(|| {
        panic!("no line on the retried call: {}", report.stdout);
    });
    assert!(line.contains("1 call retried") && line.contains("TooManyRequests"), "{line}");
    let json = sb.run(&["report", &run, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("json report");
    let attempt = &json["phases"][0]["instances"][0]["attempt_log"][0];
    assert_eq!(attempt["call_retries"], 1, "{attempt}");
}

/// A NUL character cannot reach a command: the task fails before it starts, naming the input.
#[test]
fn a_nul_character_in_a_command_input_is_named() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: nul\nparams:\n  s: { type: string }\ndefaults: { retry: { attempts: 1 } }\ntasks:\n  t:\n    uses: shell\n    with: { run: 'echo \"$V\"', env: { V: '${{ params.s }}' } }\n",
    );
    sb.write("p.json", r#"{"s": "a\u0000b"}"#);
    let ran = sb.run(&["run", "rb.yaml", "--params-file", "p.json", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("`env.V` holds a NUL character"), "{}", ran.stderr);
}

/// An answer's values a task keeps secret are masked in the error that quotes them; a header
/// sent twice keeps both values; `body_contains` reads the whole answer; a null query value is
/// left out; a header value with a line break is refused before anything is sent.
#[test]
fn http_answers_are_read_whole_and_their_secrets_kept() {
    let (base, seen) = serve();
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        r#"version: 1
name: answers
params:
  base: { type: string, required: true }
  none: { type: string }
tasks:
  token:
    uses: http
    secret_outputs: [json, body]
    on_failure: continue
    retry: { attempts: 1 }
    with: { url: "${{ params.base }}/token", expect: { status: 201 } }
  cookies: { uses: http, with: { url: "${{ params.base }}/cookies" } }
  show:
    uses: shell
    with:
      run: 'printf "%s|%s" "$C" "$M" > headers.txt'
      env: { C: "${{ tasks.cookies.outputs.headers['set-cookie'] }}", M: "${{ tasks.cookies.outputs.headers['x-multi'] }}" }
  big: { uses: http, with: { url: "${{ params.base }}/big", expect: { body_contains: NEEDLE } } }
  query: { uses: http, with: { url: "${{ params.base }}/query", query: { c: "${{ params.none }}", d: 1 } } }
"#,
    );
    let ran = sb.run(&["run", "rb.yaml", "-p", &format!("base={base}"), "--progress", "plain"]);
    assert_eq!(ran.code, 1, "token fails, the rest succeeds: {}", ran.stderr);
    assert!(ran.stderr.contains("answered 200, expected 201"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("tk-S3CRETV4LUE"), "{}", ran.stderr);
    for entry in std::fs::read_dir(sb.path().join(".drctl/runs")).unwrap().flatten() {
        for file in ["journal.log", "drctl.log"] {
            let text = std::fs::read_to_string(entry.path().join(file)).unwrap_or_default();
            assert!(!text.contains("tk-S3CRETV4LUE"), "{file}: {text}");
        }
    }
    let states = sb.task_states(&ran.run_id());
    assert_eq!((states["big"].0.as_str(), states["query"].0.as_str()), ("succeeded", "succeeded"));
    assert_eq!(sb.read("headers.txt"), "a=1\nb=2|one, two");
    let paths: Vec<String> = seen.lock().unwrap().iter().map(|(_, p, _)| p.clone()).collect();
    assert!(paths.contains(&"/query?d=1".to_owned()), "{paths:?}");
    // A header value that cannot be sent is refused before the run starts, naming it.
    sb.write(
        "hdr.yaml",
        "version: 1\nname: hdr\nparams:\n  v: { type: string }\ntasks:\n  h: { uses: http, with: { url: \"http://127.0.0.1:9/\", \
         headers: { X-K: \"${{ params.v }}\" } } }\n",
    );
    let refused = sb.run(&["run", "hdr.yaml", "-p", "v=a\nb"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("`headers.X-K` holds a line break"), "{}", refused.stderr);
}

/// An outputs file that is not text fails the task at once, naming its line: running the
/// command again would repeat what it did and fail the same way.
#[test]
fn an_outputs_file_that_is_not_text_fails_without_a_retry() {
    let sb = Sandbox::new();
    sb.write(
        "rb.yaml",
        "version: 1\nname: o\ndefaults: { retry: { attempts: 3, delay: 10ms } }\ntasks:\n  create: { uses: shell, with: { \
         run: 'echo created >> side.txt; printf \"a=1\\nid=\\351t\\351\\n\" >> \"$DRCTL_OUTPUT\"' } }\n",
    );
    let ran = sb.run(&["run", "rb.yaml", "--progress", "plain"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("$DRCTL_OUTPUT line 2 is not UTF-8 text"), "{}", ran.stderr);
    assert_eq!(sb.read("side.txt"), "created\n", "the command ran once");
}
