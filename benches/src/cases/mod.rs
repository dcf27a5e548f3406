//! The registry of benchmark cases, and what a case hands back.
//!
//! A case is a `const CASE: Case` in its own file of this folder; adding one
//! is that file, a `mod` line and one entry in [`CASES`]. A case measures
//! ours only; the harness runs its Python peer group afterwards and fills in
//! the peer values that each [`Figure`]'s [`PeerQuery`] names.

mod closures;
mod codec;
mod executor;
mod ipc;
mod manager;
mod pool;
mod process;
mod sync;
mod uneven;

use serde_json::{Map, Value};

/// Every case, in the order a full run takes them.
pub(crate) const CASES: &[Case] = &[
    process::CASE,
    pool::CASE,
    ipc::PIPE,
    ipc::QUEUE,
    sync::CASE,
    executor::CASE,
    manager::CASE,
    codec::CASE,
    uneven::CASE,
    closures::CASE,
];

/// Turns a library error into a case's error text, saying what failed.
pub(crate) fn err(what: &str) -> impl Fn(multiproc::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Finds a case by its command-line name.
pub(crate) fn find(name: &str) -> Option<&'static Case> {
    CASES.iter().find(|case| case.name == name)
}

/// Run-wide settings a case reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Fewer samples and shorter timing windows: a smoke test.
    pub(crate) quick: bool,
}

/// One benchmark case.
#[derive(Debug)]
pub(crate) struct Case {
    /// Its command-line name.
    pub(crate) name: &'static str,
    /// One line on what it measures (`--list`).
    pub(crate) about: &'static str,
    /// The group of `py_baseline.py` that holds its peer figures, if any.
    /// (Several groups, space-separated, run together.)
    pub(crate) peer_group: Option<&'static str>,
    /// Measures ours.
    pub(crate) run: fn(&Options) -> Result<CaseOutput, String>,
}

/// What a case measured.
#[derive(Debug, Default)]
pub(crate) struct CaseOutput {
    /// One entry per figure (each becomes a JSON line).
    pub(crate) figures: Vec<Figure>,
    /// Extra text printed after the main table (e.g. a comparison matrix).
    pub(crate) sections: Vec<String>,
}

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    /// Smaller is better: latencies, times per operation, sizes, ratios of
    /// times.
    Lower,
    /// Larger is better: throughputs.
    Higher,
}

impl Better {
    /// `"lower"` or `"higher"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// Which Python record, and which of its fields, a figure compares with.
#[derive(Debug, Clone)]
pub(crate) struct PeerQuery {
    /// The record's `bench` field.
    pub(crate) bench: &'static str,
    /// Further fields the record must have, compared as text
    /// (e.g. `start_method` = `spawn`).
    pub(crate) filters: Vec<(&'static str, String)>,
    /// The numeric field to read: `value` or, e.g., `p90_ms`.
    pub(crate) field: &'static str,
}

impl PeerQuery {
    /// The `value` of the record whose `bench` is `bench`.
    pub(crate) fn new(bench: &'static str) -> Self {
        PeerQuery {
            bench,
            filters: Vec::new(),
            field: "value",
        }
    }

    /// Also requires `key` = `value`.
    pub(crate) fn filter(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.filters.push((key, value.into()));
        self
    }

    /// Reads `field` instead of `value`.
    pub(crate) fn field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }

    /// A short description, e.g. `process_start_join[start_method=fork].p90_ms`.
    pub(crate) fn describe(&self) -> String {
        let filters: Vec<String> = self.filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut out = self.bench.to_string();
        if !filters.is_empty() {
            out.push_str(&format!("[{}]", filters.join(",")));
        }
        out.push('.');
        out.push_str(self.field);
        out
    }
}

/// A goal a figure is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The figure's own value must be at most this (e.g. a ratio ≤ 1.5×).
    AtMost(f64),
    /// Ours must beat the peer by at least this factor (peer / ours for a
    /// lower-is-better figure, ours / peer for a higher-is-better one).
    PeerFactorAtLeast(f64),
}

/// One measured figure of ours.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    /// The case it belongs to.
    pub(crate) case: &'static str,
    /// What it is, e.g. `start+join fork median`.
    pub(crate) name: String,
    /// Our value.
    pub(crate) value: f64,
    /// Its unit (the peer's value is in the same unit).
    pub(crate) unit: &'static str,
    /// Which way is better.
    pub(crate) better: Better,
    /// The Python figure it is compared with, if any.
    pub(crate) peer: Option<PeerQuery>,
    /// The goal it is checked against, if any.
    pub(crate) target: Option<Target>,
    /// Whether the main table shows it (else only the JSON lines and the
    /// case's own section do).
    pub(crate) in_table: bool,
    /// Extra fields for its JSON line (sample count, codec, shape…).
    pub(crate) extra: Map<String, Value>,
}

impl Figure {
    /// A figure with no peer, no target, shown in the main table.
    pub(crate) fn new(
        case: &'static str,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        better: Better,
    ) -> Self {
        Figure {
            case,
            name: name.into(),
            value,
            unit,
            better,
            peer: None,
            target: None,
            in_table: true,
            extra: Map::new(),
        }
    }

    /// Compares it with a Python figure.
    pub(crate) fn peer(mut self, query: PeerQuery) -> Self {
        self.peer = Some(query);
        self
    }

    /// Checks it against a goal.
    pub(crate) fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Leaves it out of the main table.
    pub(crate) fn detail(mut self) -> Self {
        self.in_table = false;
        self
    }

    /// Adds a field to its JSON line.
    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}

/// Median and p90 of samples, computed as Python's `statistics.median` and
/// `sorted(x)[int(0.9 * n)]` are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stats {
    /// The median (mean of the two middle values for an even count).
    pub(crate) median: f64,
    /// The 90th percentile, nearest rank from below.
    pub(crate) p90: f64,
}

impl Stats {
    /// Summarises `samples` (at least one).
    pub(crate) fn of(samples: &[f64]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        let p90 = sorted[((0.9 * n as f64) as usize).min(n - 1)];
        Stats { median, p90 }
    }
}
