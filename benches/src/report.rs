//! The human table and the JSON lines.
//!
//! Conventions: `ours/peer` is the plain quotient of the two values in the
//! same unit; the `better` column says which direction wins for that figure
//! (`lower` for latencies and sizes, `higher` for throughputs), and the
//! `reading` column spells the comparison out ("3.10x faster", "1.20x
//! worse") so no one has to work out the direction.

use serde_json::{Map, Value};

use crate::cases::{Better, Figure, Target};

/// A figure of ours with the peer value found for it, if any.
#[derive(Debug)]
pub(crate) struct Row {
    /// Our figure.
    pub(crate) figure: Figure,
    /// The peer's value in the same unit, when a peer ran and had it.
    pub(crate) peer_value: Option<f64>,
}

impl Row {
    /// ours / peer.
    fn ratio(&self) -> Option<f64> {
        self.peer_value.filter(|p| *p != 0.0).map(|p| self.figure.value / p)
    }

    /// How many times better ours is than the peer (below 1: worse).
    fn factor(&self) -> Option<f64> {
        let ratio = self.ratio()?;
        if ratio == 0.0 {
            return None;
        }
        Some(match self.figure.better {
            Better::Lower => 1.0 / ratio,
            Better::Higher => ratio,
        })
    }

    /// "3.10x faster" / "1.20x slower" (or better/worse for non-times).
    fn reading(&self) -> String {
        let Some(factor) = self.factor() else {
            return String::new();
        };
        let (good, bad) = if is_time(self.figure.unit) {
            ("faster", "slower")
        } else {
            ("better", "worse")
        };
        if factor >= 1.0 {
            format!("ours {factor:.2}x {good}")
        } else {
            format!("ours {:.2}x {bad}", 1.0 / factor)
        }
    }

    /// The target in words, and whether it is met (`None`: cannot tell).
    fn target(&self) -> Option<(String, Option<bool>)> {
        let target = self.figure.target?;
        Some(match target {
            Target::AtMost(max) => {
                let unit = match self.figure.unit {
                    "x" => "x".to_string(),
                    unit => format!(" {unit}"),
                };
                (format!("<= {max}{unit}"), Some(self.figure.value <= max))
            }
            Target::PeerFactorAtLeast(min) => {
                let word = if is_time(self.figure.unit) { "faster" } else { "better" };
                (
                    format!("ours >= {min}x {word} than peer"),
                    self.factor().map(|f| f >= min),
                )
            }
        })
    }
}

fn is_time(unit: &str) -> bool {
    matches!(unit, "s" | "ms" | "us" | "ns" | "ns/op")
}

/// A number with about four significant digits (more for large values).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let decimals = if a == 0.0 || a >= 1000.0 {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 10.0 {
        2
    } else if a >= 1.0 {
        3
    } else {
        // Four significant digits below 1, at most 6 decimals.
        ((3.0 - a.log10().floor()) as usize).min(6)
    };
    format!("{v:.decimals$}")
}

/// Renders a text table: the first `left` columns left-aligned, the rest
/// right-aligned, columns separated by two spaces, a rule under the header.
pub(crate) fn render(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = w - cell.chars().count();
            if i < left {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            } else {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(rule.iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The main table: every figure marked `in_table`.
pub(crate) fn table(rows: &[Row]) -> String {
    let headers = [
        "case",
        "figure",
        "better",
        "ours",
        "peer (Python)",
        "ours/peer",
        "reading",
        "target",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.figure.in_table)
        .map(|r| {
            let f = &r.figure;
            let target = match r.target() {
                None => String::new(),
                Some((text, Some(true))) => format!("{text}: met"),
                Some((text, Some(false))) => format!("{text}: MISSED"),
                Some((text, None)) => format!("{text}: n/a (no peer)"),
            };
            vec![
                f.case.to_string(),
                f.name.clone(),
                f.better.as_str().to_string(),
                format!("{} {}", num(f.value), f.unit),
                r.peer_value
                    .map(|p| format!("{} {}", num(p), f.unit))
                    .unwrap_or_default(),
                r.ratio().map(num).unwrap_or_default(),
                r.reading(),
                target,
            ]
        })
        .collect();
    let mut out = String::from(
        "ours/peer = our value / Python's (same unit); `better` says which direction wins; \
         `reading` spells it out.\n",
    );
    if cells.is_empty() {
        out.push_str("(no figure for the main table)\n");
    } else {
        out.push_str(&render(&headers, &cells, 3));
    }
    out
}

/// One JSON object per figure, in order.
pub(crate) fn json_lines(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let f = &r.figure;
            let mut obj = Map::new();
            obj.insert("case".into(), f.case.into());
            obj.insert("figure".into(), f.name.clone().into());
            obj.insert("value".into(), f.value.into());
            obj.insert("unit".into(), f.unit.into());
            obj.insert("better".into(), f.better.as_str().into());
            obj.insert("peer_value".into(), r.peer_value.into());
            obj.insert(
                "peer_source".into(),
                f.peer.as_ref().map(|q| format!("python:{}", q.describe())).into(),
            );
            obj.insert("ratio".into(), r.ratio().into());
            let (target, met) = match r.target() {
                Some((text, met)) => (Some(text), met),
                None => (None, None),
            };
            obj.insert("target".into(), target.into());
            obj.insert("target_met".into(), met.into());
            for (k, v) in &f.extra {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
            Value::Object(obj).to_string()
        })
        .collect()
}
