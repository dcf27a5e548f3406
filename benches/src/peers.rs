//! The Python peer: runs `benches/peers/py_baseline.py GROUP` and reads its
//! JSON lines (one object per figure: `bench`, `value`, `unit`, and fields
//! that tell figures of one bench apart, such as `start_method`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value};

use crate::cases::PeerQuery;

/// The Python interpreter the peer runs on.
const PYTHON: &str = "python3";

/// The peer script, found from this crate's manifest directory.
pub(crate) fn script_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/py_baseline.py")
}

/// `python3 --version`'s version, or why Python cannot be run.
pub(crate) fn python_version() -> Result<String, String> {
    let out = Command::new(PYTHON)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {PYTHON}: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{PYTHON} --version` failed: {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok(text.trim().trim_start_matches("Python ").to_string())
}

/// The records one run of a peer group printed.
#[derive(Debug)]
pub(crate) struct PeerRun {
    records: Vec<Map<String, Value>>,
}

/// Runs one group of the peer script and parses its output.
///
/// Lines that are not JSON objects are skipped with a warning; a failing
/// script is an error carrying its stderr.
pub(crate) fn run_group(group: &str) -> Result<PeerRun, String> {
    let script = script_path();
    let out = Command::new(PYTHON)
        .arg(&script)
        .args(group.split_whitespace())
        .output()
        .map_err(|e| format!("cannot run {PYTHON} {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{PYTHON} {} {group} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses the script's stdout.
fn parse(stdout: &str) -> PeerRun {
    let mut records = Vec::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => records.push(obj),
            _ => eprintln!("warning: peer printed a line that is not a JSON object: {line}"),
        }
    }
    PeerRun { records }
}

/// A field as text, for matching filters: strings as they are, anything
/// else as JSON (`true`, `1000`).
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl PeerRun {
    /// The numeric field `query` names, in the first record that matches.
    pub(crate) fn lookup(&self, query: &PeerQuery) -> Option<f64> {
        self.records
            .iter()
            .find(|r| {
                r.get("bench").and_then(Value::as_str) == Some(query.bench)
                    && query
                        .filters
                        .iter()
                        .all(|(k, v)| r.get(*k).map(as_text).as_deref() == Some(v.as_str()))
            })
            .and_then(|r| r.get(query.field))
            .and_then(Value::as_f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_by_bench_filter_and_field() {
        let run = parse(
            r#"{"bench": "meta", "value": 0, "unit": "-"}
{"bench": "process_start_join", "value": 1.5, "unit": "ms", "start_method": "fork", "p90_ms": 2.0}
not json
{"bench": "process_start_join", "value": 40.0, "unit": "ms", "start_method": "spawn", "p90_ms": 45.0}
{"bench": "pipe_throughput_1MiB", "value": 900, "unit": "MB/s", "duplex": true}"#,
        );
        let q = PeerQuery::new("process_start_join").filter("start_method", "spawn");
        assert_eq!(run.lookup(&q), Some(40.0));
        assert_eq!(run.lookup(&q.field("p90_ms")), Some(45.0));
        let q = PeerQuery::new("pipe_throughput_1MiB").filter("duplex", "true");
        assert_eq!(run.lookup(&q), Some(900.0));
        assert_eq!(run.lookup(&PeerQuery::new("nope")), None);
    }
}
