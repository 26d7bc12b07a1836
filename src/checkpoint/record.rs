//! Journal records and their on-disk line format.
//!
//! One record per line: eight hex digits of the CRC-32 of the JSON text, a space, the JSON,
//! a newline. The checksum tells a torn or damaged line from a good one; a torn last line is what
//! a crash mid-write leaves and is dropped on replay, while damage before the last line is an
//! error, since dropping it could lose a finished task.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

pub fn now_millis() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Identifies one task instance: the task id and, for `for_each` tasks, the item key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstanceId {
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}[{}]", self.task, key),
            None => f.write_str(&self.task),
        }
    }
}

/// Who did something, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: String,
    pub host: String,
}

impl Actor {
    /// The user and host running this process, looked up once.
    pub fn current() -> Actor {
        static CURRENT: std::sync::OnceLock<Actor> = std::sync::OnceLock::new();
        CURRENT
            .get_or_init(|| {
                // The account of the process's uid, not `$USER`, which anyone can set. Under sudo,
                // the person who ran it is named too.
                let user = user_name()
                    .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                    .unwrap_or_else(|| format!("uid {}", unsafe_free_uid()));
                let user = match std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty() && *u != user) {
                    Some(by) if unsafe_free_uid() == 0 => format!("{user} (sudo by {by})"),
                    _ => user,
                };
                let user = crate::ui::one_line(&user).into_owned();
                Actor { user, host: hostname() }
            })
            .clone()
    }
}

fn unsafe_free_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The account name of the current uid, from the password database.
fn user_name() -> Option<String> {
    let uid = unsafe_free_uid();
    let mut buf = vec![0u8; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into `pwd` and `buf`, whose sizes we pass.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str().ok().map(str::to_owned)
}

/// The machine's host name.
pub fn hostname() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown-host".to_owned())
    })
    .clone()
}

/// What an operator decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditAction {
    Approve,
    Deny,
    Skip,
    Retry,
    Resume,
    BreakLock,
    /// `drctl cleanup` removed (or kept, or failed to remove) something a drill created.
    Cleanup,
}

/// How a run segment (one process driving the run) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Paused,
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Paused => "paused",
            RunState::Interrupted => "interrupted",
        }
    }
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// A process began (or resumed) driving the run.
    Segment { at: Millis, pid: u32, actor: Actor, resumed: bool },
    /// A `for_each` task was expanded into these keys (kept so a resume uses the same ones).
    Expand { task: String, keys: Vec<String>, at: Millis },
    /// An attempt is about to start. Written and synced before the action runs.
    Start {
        #[serde(flatten)]
        id: InstanceId,
        attempt: u32,
        at: Millis,
    },
    /// The attempt of the last `start` record did not begin: the run stopped (first Ctrl-C,
    /// abort, pause) after the record was made and before the action ran. The instance is
    /// as it was before that record.
    Withdrawn {
        #[serde(flatten)]
        id: InstanceId,
        attempt: u32,
        at: Millis,
    },
    /// An attempt started a process group (its leader's pid and start time, which tells the
    /// process apart from a later one that reuses the pid).
    Spawned {
        #[serde(flatten)]
        id: InstanceId,
        pid: u32,
        #[serde(default)]
        started: u64,
    },
    /// An attempt failed.
    AttemptFailed {
        #[serde(flatten)]
        id: InstanceId,
        attempt: u32,
        class: String,
        error: String,
        at: Millis,
    },
    /// Calls the attempt made to services were retried by their clients (throttling, 5xx,
    /// connection errors): how many, and the failure behind the last retry.
    CallsRetried {
        #[serde(flatten)]
        id: InstanceId,
        attempt: u32,
        retries: u32,
        last: String,
        at: Millis,
    },
    /// The instance succeeded with these outputs (secret outputs already masked).
    Done {
        #[serde(flatten)]
        id: InstanceId,
        outputs: Map<String, Value>,
        at: Millis,
        /// Set when resume's `check` probe found the work already done.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        checked: bool,
        /// Outputs stored masked because they held a secret: a resume cannot give them back.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        masked: Vec<String>,
    },
    /// The instance failed for good (retries exhausted or not retryable).
    Failed {
        #[serde(flatten)]
        id: InstanceId,
        error: String,
        at: Millis,
    },
    /// The instance will not run (condition false, dependency failed, operator skip).
    Skipped {
        #[serde(flatten)]
        id: InstanceId,
        reason: String,
        at: Millis,
        /// An operator's `drctl skip`; engine skips (conditions, failed dependencies) are
        /// decided again on resume.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_operator: bool,
    },
    /// The instance was cancelled mid-attempt (second Ctrl-C).
    Cancelled {
        #[serde(flatten)]
        id: InstanceId,
        at: Millis,
    },
    /// An approval task is waiting for an operator.
    AwaitingApproval {
        #[serde(flatten)]
        id: InstanceId,
        message: String,
        at: Millis,
    },
    /// An operator's decision, with who, when and why.
    Audit {
        action: AuditAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<InstanceId>,
        actor: Actor,
        reason: String,
        at: Millis,
    },
    /// An operator asked for a failed or cancelled instance to run again (`drctl retry`).
    Reset {
        #[serde(flatten)]
        id: InstanceId,
        at: Millis,
    },
    /// The RTO objective passed a threshold (0.8 or 1.0 of it).
    RtoWarning { fraction: f64, elapsed_ms: u64, at: Millis },
    /// The process stopped driving the run.
    SegmentEnd { state: RunState, at: Millis },
}

/// Appends the line form of `record` to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(b"00000000 ");
    // Serializing these types cannot fail: every map key is a string.
    if serde_json::to_writer(&mut *out, record).is_err() {
        out.truncate(start);
        return;
    }
    let crc = crc32fast::hash(&out[start + 9..]);
    let hex = format!("{crc:08x}");
    out[start..start + 8].copy_from_slice(hex.as_bytes());
    out.push(b'\n');
}

/// Why a line could not be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// Not a record at all: no checksum before it (text inserted, or bytes overwritten).
    NotARecord,
    /// A record that does not match its checksum: changed after it was written.
    Checksum,
    Syntax(String),
}

/// Reads one line (without its newline).
pub fn decode(line: &[u8]) -> Result<Record, LineError> {
    if line.len() < 10 || line[8] != b' ' || !line[..8].iter().all(u8::is_ascii_hexdigit) {
        return Err(LineError::NotARecord);
    }
    // `encode` writes lowercase hex; any other byte there (an uppercase digit included) is damage.
    let lowercase_hex = line[..8].iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let want =
        std::str::from_utf8(&line[..8]).ok().filter(|_| lowercase_hex).and_then(|h| u32::from_str_radix(h, 16).ok());
    let json = &line[9..];
    if want != Some(crc32fast::hash(json)) {
        return Err(LineError::Checksum);
    }
    if let Some(record) = decode_instance_record(json) {
        return Ok(record);
    }
    serde_json::from_slice(json).map_err(|e| LineError::Syntax(e.to_string()))
}

/// The fields of `start`, `spawned` and `done`, the records that make up nearly all of a
/// journal. Reading them into this plain struct skips the intermediate tree that serde builds
/// for every `#[serde(flatten)]` record, which made replaying a 10,000-task run noticeably slow.
#[derive(Deserialize)]
struct InstanceFields {
    task: String,
    #[serde(default)]
    key: Option<String>,
    attempt: Option<u32>,
    at: Option<Millis>,
    pid: Option<u32>,
    #[serde(default)]
    started: u64,
    outputs: Option<Map<String, Value>>,
    #[serde(default)]
    checked: bool,
    #[serde(default)]
    masked: Vec<String>,
}

/// Reads a `start`, `spawned` or `done` record the fast way; `None` for any other record, or
/// one that does not read cleanly (the general decoder then reports the problem).
fn decode_instance_record(json: &[u8]) -> Option<Record> {
    // `encode` writes the tag first.
    let body = json.strip_prefix(br#"{"t":""#)?;
    let tag_end = body.iter().position(|b| *b == b'"')?;
    let tag = &body[..tag_end];
    if !matches!(tag, b"start" | b"spawned" | b"done") {
        return None;
    }
    let f: InstanceFields = serde_json::from_slice(json).ok()?;
    let id = InstanceId { task: f.task, key: f.key };
    match tag {
        b"start" => Some(Record::Start { id, attempt: f.attempt?, at: f.at? }),
        b"spawned" => Some(Record::Spawned { id, pid: f.pid?, started: f.started }),
        _ => Some(Record::Done { id, outputs: f.outputs?, at: f.at?, checked: f.checked, masked: f.masked }),
    }
}

/// The boot clock in the unit of a process's start time (clock ticks since boot, as
/// `/proc/<pid>/stat` gives it). A process started between two readings that agree started at
/// that tick, so its start time is known without reading `/proc` while it is still in `exec`.
pub fn boot_ticks() -> Option<u64> {
    static HZ: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    // SAFETY: `sysconf` only reads a configuration value.
    let hz = *HZ.get_or_init(|| u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(0));
    if hz == 0 {
        return None;
    }
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now) } != 0 {
        return None;
    }
    let nanos = u128::from(u64::try_from(now.tv_sec).ok()?) * 1_000_000_000 + u128::try_from(now.tv_nsec).ok()?;
    // The kernel's own conversion (`nsec_to_clock_t`) rounds down the same way.
    u64::try_from(nanos * u128::from(hz) / 1_000_000_000).ok()
}

/// The start time of a process (clock ticks since boot), from `/proc/<pid>/stat`; `None` when
/// no such process exists.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 22 overall is index 19 after the state field (field 3).
    let state = fields.first()?;
    if *state == "Z" || *state == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_clock_brackets_a_process_start_time() {
        // Readings that agree bracket the start exactly; a tick may pass between them, so try
        // a few times.
        for _ in 0..20 {
            let before = boot_ticks().unwrap();
            let mut child = std::process::Command::new("sleep").arg("1").spawn().unwrap();
            let after = boot_ticks().unwrap();
            let started = process_start_time(child.id());
            let _ = child.kill();
            let _ = child.wait();
            assert!(started.is_some_and(|s| before <= s && s <= after), "{before} {started:?} {after}");
            if before == after {
                assert_eq!(started, Some(before));
                return;
            }
        }
        panic!("the boot clock never read the same tick around a spawn");
    }

    #[test]
    fn round_trips_and_detects_damage() {
        let record = Record::Start { id: InstanceId { task: "a".into(), key: Some("k".into()) }, attempt: 2, at: 5 };
        let mut buf = Vec::new();
        encode(&record, &mut buf);
        assert_eq!(buf.last(), Some(&b'\n'));
        let line = &buf[..buf.len() - 1];
        assert_eq!(decode(line), Ok(record));
        let text = String::from_utf8(line.to_vec()).unwrap();
        assert!(text.ends_with(r#"{"t":"start","task":"a","key":"k","attempt":2,"at":5}"#), "{text}");
        let mut damaged = line.to_vec();
        let n = damaged.len();
        damaged[n - 3] = b'9';
        assert_eq!(decode(&damaged), Err(LineError::Checksum));
        assert_eq!(decode(&line[..20]), Err(LineError::Checksum));
        assert_eq!(decode(b"inserted by hand"), Err(LineError::NotARecord));
        assert_eq!(decode(b"{\"t\":\"start\"}"), Err(LineError::NotARecord));
        // A checksum digit whose case changed is damage too, though it reads as the same number.
        let crc = crc32fast::hash(b"x");
        let mut upper = Vec::new();
        upper.extend_from_slice(format!("{crc:08X} x").as_bytes());
        assert!(upper[..8].iter().any(u8::is_ascii_uppercase));
        assert_eq!(decode(&upper), Err(LineError::Checksum));
    }

    #[test]
    fn the_fast_path_reads_what_the_general_decoder_reads() {
        let id = |key: Option<&str>| InstanceId { task: "deploy".into(), key: key.map(str::to_owned) };
        let mut outputs = Map::new();
        outputs.insert("url".into(), Value::String("http://x".into()));
        let records = [
            Record::Start { id: id(None), attempt: 3, at: 17 },
            Record::Start { id: id(Some("eu")), attempt: 1, at: 18 },
            Record::Spawned { id: id(Some("eu")), pid: 4242, started: 99 },
            Record::Done { id: id(None), outputs: outputs.clone(), at: 19, checked: true, masked: vec!["x".into()] },
            Record::Done { id: id(Some("eu")), outputs: Map::new(), at: 20, checked: false, masked: vec![] },
        ];
        for record in records {
            let json = serde_json::to_vec(&record).unwrap();
            assert_eq!(decode_instance_record(&json), Some(record.clone()), "{}", String::from_utf8_lossy(&json));
            assert_eq!(serde_json::from_slice::<Record>(&json).unwrap(), record);
        }
        // Other records, and instance records missing a field, go to the general decoder.
        assert_eq!(decode_instance_record(br#"{"t":"cancelled","task":"a","at":1}"#), None);
        assert_eq!(decode_instance_record(br#"{"t":"start","task":"a","at":1}"#), None);
        // Spawned records written before `started` existed still read.
        assert_eq!(
            decode_instance_record(br#"{"t":"spawned","task":"a","pid":7}"#),
            Some(Record::Spawned { id: InstanceId { task: "a".into(), key: None }, pid: 7, started: 0 })
        );
    }
}
