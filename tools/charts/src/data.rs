//! Reading the benchmark harness's JSON lines into the figures a chart
//! compares: ours and Python's value of the same measurement.

/// One figure of ours that has a Python value to compare with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pair {
    /// The harness's case (`pool`, `pipe`, …).
    pub(crate) case: String,
    /// What was measured, as the harness names it.
    pub(crate) name: String,
    /// Our value.
    pub(crate) ours: f64,
    /// Python's value, in the same unit.
    pub(crate) peer: f64,
    /// The unit of both values (`items/s`, `us`, …).
    pub(crate) unit: String,
    /// Whether larger values are better (throughputs) or smaller (times).
    pub(crate) higher_is_better: bool,
}

impl Pair {
    /// How many times better ours is than Python's (below 1: worse).
    pub(crate) fn factor(&self) -> f64 {
        if self.higher_is_better {
            self.ours / self.peer
        } else {
            self.peer / self.ours
        }
    }
}

/// The figures of one case, in the order the harness wrote them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Case {
    /// Its name.
    pub(crate) name: String,
    /// Its figures that have a Python value.
    pub(crate) pairs: Vec<Pair>,
    /// How many of its figures have none (they are not drawn).
    pub(crate) without_peer: usize,
}

/// Parses the harness's output: JSON lines, one object per figure. Lines
/// that are not JSON objects are skipped, so the harness's whole stdout
/// (a table, then `# JSON lines` and the objects) works as well as the
/// file `--json PATH` writes.
///
/// # Errors
/// A line that starts with `{` but is not a figure, with its line number.
pub(crate) fn parse(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('{') {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
        let field = |key: &str| value.get(key).ok_or_else(|| format!("line {}: no `{key}`", i + 1));
        let text_of = |key: &str| {
            field(key)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("line {}: `{key}` is not a string", i + 1))
        };
        let case = text_of("case")?;
        let name = text_of("figure")?;
        let unit = text_of("unit")?;
        let higher_is_better = match text_of("better")?.as_str() {
            "higher" => true,
            "lower" => false,
            other => return Err(format!("line {}: `better` is {other:?}", i + 1)),
        };
        let ours = field("value")?.as_f64();
        let peer = value.get("peer_value").and_then(serde_json::Value::as_f64);

        let index = match cases.iter().position(|c| c.name == case) {
            Some(index) => index,
            None => {
                cases.push(Case {
                    name: case.clone(),
                    pairs: Vec::new(),
                    without_peer: 0,
                });
                cases.len() - 1
            }
        };
        let entry = &mut cases[index];
        match (ours, peer) {
            (Some(ours), Some(peer)) if drawable(ours) && drawable(peer) => entry.pairs.push(Pair {
                case,
                name,
                ours,
                peer,
                unit,
                higher_is_better,
            }),
            _ => entry.without_peer += 1,
        }
    }
    Ok(cases)
}

/// A bar can show it: positive and finite (log scales need both).
fn drawable(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_figures_with_a_peer_and_counts_the_others() {
        let text = r#"multiproc benchmarks — a table first
# JSON lines (one object per figure)
{"case":"pipe","figure":"round trip 64 B median","value":4.1,"unit":"us","better":"lower","peer_value":48.7,"ratio":0.08}
{"case":"pipe","figure":"raw pipe ratio","value":0.1,"unit":"x","better":"lower","peer_value":null,"ratio":null}
{"case":"pool","figure":"map","value":5.2e7,"unit":"items/s","better":"higher","peer_value":7.2e6}
"#;
        let cases = parse(text).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].name, "pipe");
        assert_eq!(cases[0].pairs.len(), 1);
        assert_eq!(cases[0].without_peer, 1);
        let rt = &cases[0].pairs[0];
        assert!(!rt.higher_is_better);
        assert!((rt.factor() - 48.7 / 4.1).abs() < 1e-9);
        assert!((cases[1].pairs[0].factor() - 5.2e7 / 7.2e6).abs() < 1e-9);
    }

    #[test]
    fn a_broken_line_is_an_error_with_its_number() {
        let err = parse("{\"case\": 1}\n").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
        assert!(parse("{not json\n").unwrap_err().contains("not JSON"));
    }
}
