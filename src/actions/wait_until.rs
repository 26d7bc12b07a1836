//! `wait_until`: polls an HTTP check or a command until it passes, or a deadline passes.
//!
//! `until` is an expression (without `${{ }}`) over the last result: for `http`,
//! `response.status`, `response.json`, `response.body`, `response.headers`; for `shell`,
//! `result.exit_code` and `result.outputs`. Without `until`, the probe passing is enough.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{Action, ActionContext, ActionError, BoxFuture, ErrorClass, InputProblem, Outputs};
use crate::runbook::duration::parse_duration;
use crate::runbook::expr::{parse_expr, truthy, Expr};

const KEYS: &[&str] = &["http", "shell", "until", "interval", "timeout"];

pub struct WaitUntil {
    clients: super::http::Clients,
    /// The endpoint table an `http` probe's `oci_region` follows, as the `http` action's does.
    oci: Option<crate::actions::oci::OciSettings>,
}

impl WaitUntil {
    pub fn new() -> Self {
        Self { clients: super::http::Clients::new(), oci: None }
    }

    /// A `wait_until` whose `http` probes follow the given endpoint table.
    pub fn with_oci(settings: crate::actions::oci::OciSettings) -> Self {
        Self { oci: Some(settings), ..Self::new() }
    }
}

impl Default for WaitUntil {
    fn default() -> Self {
        Self::new()
    }
}

/// `until` given as a value rather than an expression: `until: false` would otherwise be
/// ignored, and the first passing probe would end the wait.
fn not_a_condition(given: &Value) -> InputProblem {
    InputProblem::new("until", format!("`until` is the value {given}, not a condition over the probe's result"))
        .with_help("write an expression as text, e.g. until: response.status == 200, or result.outputs.ready == 'yes'")
}

/// What `until` can read: the root name, and the fields of the result under it.
struct Probe {
    root: &'static str,
    fields: &'static [&'static str],
}

const HTTP: Probe = Probe { root: "response", fields: &["status", "json", "body", "headers"] };
const SHELL: Probe = Probe { root: "result", fields: &["exit_code", "outputs"] };

/// Names in `until` that the probe's result does not have: always a typo, which would
/// otherwise read as "not yet" on every poll until the timeout.
fn check_until(expr: &crate::runbook::expr::Expr, probe: Probe) -> Vec<InputProblem> {
    let mut problems = Vec::new();
    for reference in expr.references() {
        if reference.root != probe.root {
            problems.push(
                InputProblem::new(
                    "until",
                    format!("`until` reads `{}`, which a probe result does not have", reference.root),
                )
                .with_help(format!(
                    "this probe's result is `{}` ({}); values from elsewhere go in with ${{{{ }}}}",
                    probe.root,
                    fields_list(&probe)
                )),
            );
        } else if let Some(field) = reference.path.first().filter(|f| !probe.fields.contains(&f.as_str())) {
            let mut problem =
                InputProblem::new("until", format!("`{}.{field}` is not part of the probe's result", probe.root));
            problem = match crate::runbook::de::did_you_mean(field, probe.fields.iter().copied()) {
                Some(hint) => problem.with_help(hint),
                None => problem.with_help(format!("`{}` has {}", probe.root, fields_list(&probe))),
            };
            problems.push(problem);
        }
    }
    problems
}

fn fields_list(probe: &Probe) -> String {
    probe.fields.iter().map(|f| format!("`{}.{f}`", probe.root)).collect::<Vec<_>>().join(", ")
}

fn duration_input(given: Option<&Value>, key: &str, default: Duration) -> Result<Duration, ActionError> {
    match given {
        None => Ok(default),
        Some(Value::String(s)) => parse_duration(s).map_err(ActionError::input),
        Some(_) => Err(ActionError::input(format!("`{key}` must be a duration like 5s"))),
    }
}

impl WaitUntil {
    /// One poll of an `http` probe: whether it passed, and what to say of the answer.
    async fn poll_http(&self, request: &Value, until: Option<&Expr>) -> Result<(bool, String), ActionError> {
        let (mut response, whole) = match super::http::send(&self.clients, request, self.oci.as_ref()).await {
            Ok(answer) => answer,
            // A request that cannot be made (a bad URL) never gets an answer.
            Err(e) if e.class == ErrorClass::Input => return Err(e),
            Err(e) => return Ok((false, e.message)),
        };
        let status = format!("status {}", response["status"]);
        // With `until`, an `expect` given too must hold as well (without one, `until` alone
        // decides, whatever the status).
        let expect = request.get("expect");
        if until.is_none() || expect.is_some() {
            match super::http::check_expectations("probe", expect, &response, &whole) {
                Ok(()) => {}
                // A mistyped expectation never passes: say so now.
                Err(e) if e.class == ErrorClass::Input => return Err(e),
                Err(_) => return Ok((false, status)),
            }
        }
        // `until` reads the whole answer: nothing of a probe's is kept.
        response.insert("body".into(), Value::String(whole));
        match until {
            Some(expr) => judge(expr, &json!({ "response": response }), status),
            None => Ok((true, status)),
        }
    }
}

impl Action for WaitUntil {
    fn output_names(&self) -> Option<&'static [&'static str]> {
        Some(&["polls"])
    }

    fn script_probe(&self) -> Option<&'static str> {
        Some("shell")
    }

    /// Values from expressions meet the same checks when the task starts, the probe's included.
    fn check_resolved(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        self.check_inputs(with)
    }

    fn check_inputs(&self, with: &Map<String, Value>) -> Vec<InputProblem> {
        let mut problems = super::unknown_keys(with, KEYS);
        if with.contains_key("http") == with.contains_key("shell") {
            problems.push(
                InputProblem::new("", "give exactly one probe: `http` or `shell`").with_help(
                    "poll a URL with `http: { url: ... }` or a command with `shell: { run: ... }`, not both",
                ),
            );
        }
        // The probe's inputs are checked as an `http` or `shell` task's are, each problem
        // placed at the key inside the probe it is about.
        let probe_problems = match (with.get("http"), with.get("shell")) {
            (Some(Value::Object(request)), _) => {
                Some(("http", super::http::check_request_inputs(request, super::http::KEYS)))
            }
            (_, Some(Value::Object(command))) => Some(("shell", super::shell::Shell.check_inputs(command))),
            _ => None,
        };
        for (probe, found) in probe_problems.into_iter() {
            for p in found {
                let inner = if p.key.is_empty() { String::new() } else { format!(".{}", p.key) };
                let at = if p.key.is_empty() { Vec::new() } else { vec![p.key.clone()] };
                problems.push(InputProblem {
                    key: probe.into(),
                    message: format!("`{probe}{inner}`: {}", p.message),
                    inner: at,
                    ..p
                });
            }
        }
        let templated = |key: &str| with.get(key).and_then(Value::as_str).is_some_and(|s| s.contains("${{"));
        if let Some(given) = with.get("until").filter(|v| !v.is_string()) {
            problems.push(not_a_condition(given));
        }
        if let Some(until) = with.get("until").and_then(Value::as_str).filter(|_| templated("until")) {
            // `${{ }}` is resolved once, when the task starts, before there is any answer.
            let template = crate::runbook::expr::Template::parse(until).ok();
            let constant =
                template.as_ref().and_then(|t| t.single_expression()).is_some_and(|e| e.references().is_empty());
            if until.contains("response") || until.contains("result") {
                let bare = until.trim().trim_start_matches("${{").trim_end_matches("}}").trim();
                problems.push(
                    InputProblem::new("until", "`until` is read at each poll: write it without `${{ }}`")
                        .with_help(format!("until: {bare}")),
                );
            } else if constant {
                // `${{ false }}` gives a value, the same on every poll: never met, or met at once.
                problems.push(
                    InputProblem::new(
                        "until",
                        format!("`until` is the constant `{}`, not a condition over the probe's result", until.trim()),
                    )
                    .with_help(
                        "write an expression as text, e.g. until: response.status == 200, or result.outputs.ready == \
                         'yes'",
                    ),
                );
            }
        }
        if let Some(until) = with.get("until").and_then(Value::as_str).filter(|_| !templated("until")) {
            match parse_expr(until) {
                Err(e) => problems.push(InputProblem::new("until", format!("bad expression: {e}"))),
                Ok(expr) => {
                    let probe = if with.contains_key("http") { HTTP } else { SHELL };
                    problems.extend(check_until(&expr, probe));
                }
            }
        }
        for key in ["interval", "timeout"] {
            let Some(given) = with.get(key).filter(|_| !templated(key)) else { continue };
            match duration_input(Some(given), key, Duration::ZERO) {
                Err(e) => {
                    problems.push(InputProblem::new(key, e.message).with_help("write durations like 500ms, 30s or 5m"))
                }
                Ok(d) if d.is_zero() => {
                    problems.push(InputProblem::new(key, format!("`{key}` must be longer than zero")))
                }
                Ok(_) => {}
            }
        }
        problems
    }

    fn run<'a>(&'a self, ctx: &'a ActionContext, with: Value) -> BoxFuture<'a, Result<Outputs, ActionError>> {
        Box::pin(async move {
            let interval = duration_input(with.get("interval"), "interval", Duration::from_secs(5))?;
            let timeout = duration_input(with.get("timeout"), "timeout", Duration::from_secs(300))?;
            let until = match with.get("until") {
                Some(Value::String(src)) => {
                    Some(parse_expr(src).map_err(|e| ActionError::input(format!("until: {e}")))?)
                }
                Some(other) => {
                    let p = not_a_condition(other);
                    return Err(ActionError::input(format!("{} ({})", p.message, p.help.unwrap_or_default())));
                }
                None => None,
            };
            let deadline = Instant::now() + timeout;
            let mut polls = 0u32;
            let mut previous: Option<String> = None;
            loop {
                polls += 1;
                let poll = async {
                    Ok::<_, ActionError>(match (with.get("http"), with.get("shell")) {
                        (Some(request), _) => self.poll_http(request, until.as_ref()).await?,
                        (None, Some(command)) => {
                            let shell_with = match command {
                                Value::String(_) => json!({ "run": command }),
                                Value::Object(_) => command.clone(),
                                _ => return Err(ActionError::input(
                                    "`shell` must be a command, or the inputs of a `shell` task (`run`, `env`, ...)",
                                )),
                            };
                            match super::shell::Shell.run(ctx, shell_with).await {
                                Ok(outputs) => match &until {
                                    Some(expr) => judge(
                                        expr,
                                        &json!({ "result": { "exit_code": 0, "outputs": outputs } }),
                                        "exit 0".into(),
                                    )?,
                                    None => (true, "exit 0".to_owned()),
                                },
                                // A command that exits non-zero has not passed, unless `until` reads
                                // its exit code and says it has.
                                Err(e) => match (e.class.clone(), &until) {
                                    (ErrorClass::ExitCode(code), Some(expr)) => judge(
                                        expr,
                                        &json!({ "result": { "exit_code": code, "outputs": {} } }),
                                        e.message,
                                    )?,
                                    (ErrorClass::ExitCode(_) | ErrorClass::Signal(_), _) => (false, e.message),
                                    // Cancelled, or the command could not start at all.
                                    _ => return Err(e),
                                },
                            }
                        }
                        (None, None) => return Err(ActionError::input("give `http` or `shell`")),
                    })
                };
                // A poll may not outlast the wait: one still running at the deadline is cut off
                // (its command killed). The poll made at the deadline itself gets a tenth of the
                // timeout (at most an interval), so the wait ends within 1.1 times its timeout.
                let left = deadline.saturating_duration_since(Instant::now());
                let limit = if left.is_zero() { interval.min(timeout / 10) } else { left };
                let (passed, last) = match tokio::time::timeout(limit, poll).await {
                    Ok(result) => result?,
                    Err(_) => {
                        return Err(ActionError::new(
                            ErrorClass::Timeout,
                            format!(
                            "condition not met in {}: poll {polls} was still running at the deadline and was cut off{}",
                            humantime::format_duration(timeout),
                            previous.as_deref().map(|p| format!(" (last: {p})")).unwrap_or_default()
                        ),
                        ))
                    }
                };
                if passed {
                    let mut outputs = Outputs::new();
                    outputs.insert("polls".into(), Value::from(polls));
                    return Ok(outputs);
                }
                ctx.log.line(&format!("poll {polls}: not yet ({last})"));
                previous = Some(last.clone());
                // The last poll is at the deadline itself.
                let now = Instant::now();
                if now >= deadline {
                    return Err(ActionError::new(
                        ErrorClass::Timeout,
                        format!(
                            "condition not met after {polls} polls in {} (last: {last})",
                            humantime::format_duration(timeout)
                        ),
                    ));
                }
                tokio::select! {
                    () = tokio::time::sleep(interval.min(deadline - now)) => {}
                    () = ctx.cancel.cancelled() => return Err(ActionError::new(ErrorClass::Other, "wait cancelled")),
                }
            }
        })
    }
}

/// Whether `until` holds for a result. A name the result does not have at all is a mistake
/// that no later poll mends, so it fails the wait at once; anything else that cannot be read
/// yet (a member of a body that is not JSON yet) counts as not yet, and says why.
fn judge(expr: &Expr, scope: &Value, last: String) -> Result<(bool, String), ActionError> {
    match expr.eval(scope) {
        Ok(v) => Ok((truthy(&v), last)),
        Err(e @ crate::runbook::expr::EvalError::UnknownName { .. }) => {
            Err(ActionError::fatal(ErrorClass::Other, format!("until: {e}")))
        }
        Err(e) => Ok((false, format!("{last}; until: {e}"))),
    }
}
