//! `par_map!`'s `progress = true`: a one-line bar on stderr while the work
//! runs (only when stderr is a terminal), and a one-line summary when it
//! ends (always), so a log keeps what a terminal showed.
//!
//! The estimate is the plain average so far: `elapsed / done` per item,
//! times the items left. It is shown once a tenth of a second and one item
//! have passed, so the first figure a user sees already rests on measured
//! work. (A smoothed per-tick rate, as progress crates use, overshoots
//! badly when results arrive in bursts, as chunks of a process pool do.)
//! Any thread may count items; drawing is throttled to ten times a second
//! and done by whichever thread counts when it is due.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the bar is redrawn at most.
const REDRAW: Duration = Duration::from_millis(100);
/// How long before an estimate is shown.
const FIRST_ESTIMATE: Duration = Duration::from_millis(100);
/// The bar's width in cells.
const WIDTH: usize = 30;

/// A count of finished items, drawn on a terminal and summed up at the end.
pub(crate) struct Progress {
    /// The number of items, when known.
    len: Option<usize>,
    done: AtomicUsize,
    start: Instant,
    /// When the bar was last drawn, and where it goes (`None`: not a
    /// terminal, no bar).
    out: Mutex<Output>,
}

struct Output {
    last_draw: Option<Instant>,
    bar: bool,
    sink: Box<dyn Write + Send>,
}

impl Progress {
    /// A bar over `len` items (unknown: `None`) on stderr.
    pub(crate) fn stderr(len: Option<usize>) -> Progress {
        let bar = std::io::stderr().is_terminal();
        Progress::to(len, Box::new(std::io::stderr()), bar)
    }

    /// A bar written to `sink`; with `bar` false, only the summary.
    pub(crate) fn to(len: Option<usize>, sink: Box<dyn Write + Send>, bar: bool) -> Progress {
        Progress {
            len,
            done: AtomicUsize::new(0),
            start: Instant::now(),
            out: Mutex::new(Output {
                last_draw: None,
                bar,
                sink,
            }),
        }
    }

    /// `n` more items finished.
    pub(crate) fn inc(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        // Whoever counts when a redraw is due draws; the others go on.
        let Ok(mut out) = self.out.try_lock() else { return };
        if !out.bar || out.last_draw.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        out.last_draw = Some(Instant::now());
        let line = bar_line(done, self.len, self.start.elapsed());
        // A failed write to stderr is no reason to fail the work.
        let _ = write!(out.sink, "\r{line}\x1b[K");
        let _ = out.sink.flush();
    }

    /// The work ended: the bar gives way to a one-line summary. `failed`
    /// says why it ended early, if it did.
    pub(crate) fn finish(&self, failed: Option<&str>) {
        let done = self.done.load(Ordering::Relaxed);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let line = summary_line(done, self.len, self.start.elapsed(), failed);
        let clear = if out.bar { "\r\x1b[K" } else { "" };
        let _ = writeln!(out.sink, "{clear}{line}");
        let _ = out.sink.flush();
    }
}

/// `[#####.....] 120/400 items, 48.3 items/s, 5.8 s left`.
fn bar_line(done: usize, len: Option<usize>, elapsed: Duration) -> String {
    let mut line = match len {
        Some(len) => {
            let filled = (done.min(len) * WIDTH).checked_div(len).unwrap_or(WIDTH);
            format!(
                "[{}{}] {done}/{len} items",
                "#".repeat(filled),
                ".".repeat(WIDTH - filled)
            )
        }
        None => format!("{done} items"),
    };
    if let Some(rate) = rate(done, elapsed) {
        line.push_str(&format!(", {rate}"));
    }
    if let Some(left) = len.and_then(|len| estimate(done, len, elapsed)) {
        line.push_str(&format!(", {} left", duration(left)));
    }
    line
}

/// `par_map!: 400 items in 2.61 s (153 items/s)`, or why it stopped.
fn summary_line(done: usize, len: Option<usize>, elapsed: Duration, failed: Option<&str>) -> String {
    let rate = rate(done, elapsed).map(|r| format!(" ({r})")).unwrap_or_default();
    match (failed, len) {
        (None, _) => format!("par_map!: {done} items in {}{rate}", duration(elapsed)),
        (Some(why), Some(len)) => format!(
            "par_map!: stopped after {done} of {len} items in {} ({why})",
            duration(elapsed)
        ),
        (Some(why), None) => format!("par_map!: stopped after {done} items in {} ({why})", duration(elapsed)),
    }
}

/// The time left at the average rate so far; `None` until it means
/// something.
fn estimate(done: usize, len: usize, elapsed: Duration) -> Option<Duration> {
    if done == 0 || elapsed < FIRST_ESTIMATE {
        return None;
    }
    let left = len.saturating_sub(done) as f64;
    Some(Duration::from_secs_f64(elapsed.as_secs_f64() / done as f64 * left))
}

/// Items per second, three significant figures.
fn rate(done: usize, elapsed: Duration) -> Option<String> {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 || done == 0 {
        return None;
    }
    let per_sec = done as f64 / secs;
    Some(match per_sec {
        r if r >= 1e6 => format!("{} M items/s", significant(r / 1e6)),
        r if r >= 1e3 => format!("{} k items/s", significant(r / 1e3)),
        r => format!("{} items/s", significant(r)),
    })
}

/// Three significant figures: `153`, `48.3`, `2.61`.
fn significant(x: f64) -> String {
    match x {
        x if x >= 100.0 => format!("{x:.0}"),
        x if x >= 10.0 => format!("{x:.1}"),
        x => format!("{x:.2}"),
    }
}

/// `2.61 s`, `48 s`, `3 min 05 s`, `2 h 10 min`.
fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    match d.as_secs() {
        0..=9 => format!("{secs:.2} s"),
        10..=59 => format!("{secs:.0} s"),
        60..=3599 => format!("{} min {:02} s", d.as_secs() / 60, d.as_secs() % 60),
        s => format!("{} h {:02} min", s / 3600, s / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn the_estimate_is_the_average_so_far_and_waits_for_work() {
        // The case: a 2.6 s job whose first figure said 65 s.
        let second = Duration::from_secs(1);
        assert_eq!(estimate(0, 400, second), None);
        assert_eq!(estimate(5, 400, Duration::from_millis(20)), None);
        let left = estimate(100, 400, Duration::from_millis(650)).unwrap();
        assert!((left.as_secs_f64() - 1.95).abs() < 1e-9, "{left:?}");
        assert_eq!(estimate(400, 400, second), Some(Duration::ZERO));
        assert_eq!(estimate(500, 400, second), Some(Duration::ZERO));
    }

    #[test]
    fn figures_have_three_significant_digits() {
        let s = Duration::from_secs(1);
        assert_eq!(rate(153, s).unwrap(), "153 items/s");
        assert_eq!(rate(483, Duration::from_secs(10)).unwrap(), "48.3 items/s");
        assert_eq!(rate(2_610, Duration::from_secs(1000)).unwrap(), "2.61 items/s");
        assert_eq!(rate(1_250, s).unwrap(), "1.25 k items/s");
        assert_eq!(rate(12_345_678, s).unwrap(), "12.3 M items/s");
        assert_eq!(rate(0, s), None);
        assert_eq!(duration(Duration::from_millis(2_614)), "2.61 s");
        assert_eq!(duration(Duration::from_secs(48)), "48 s");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(duration(Duration::from_secs(7_800)), "2 h 10 min");
    }

    #[test]
    fn the_bar_shows_count_rate_and_time_left() {
        let line = bar_line(100, Some(400), Duration::from_secs(1));
        assert_eq!(
            line,
            format!(
                "[{}{}] 100/400 items, 100 items/s, 3.00 s left",
                "#".repeat(7),
                ".".repeat(23)
            )
        );
        assert_eq!(
            bar_line(0, Some(0), Duration::ZERO),
            format!("[{}] 0/0 items", "#".repeat(WIDTH))
        );
        assert_eq!(bar_line(7, None, Duration::from_secs(1)), "7 items, 7.00 items/s");
    }

    #[test]
    fn a_summary_line_remains_with_or_without_a_terminal() {
        for bar in [false, true] {
            let sink = Shared::default();
            let progress = Progress::to(Some(3), Box::new(sink.clone()), bar);
            progress.inc(1);
            progress.inc(2);
            progress.finish(None);
            let text = sink.text();
            assert_eq!(text.contains('['), bar, "{text:?}");
            let last = text.rsplit('\r').next().unwrap();
            assert!(
                last.trim_start_matches("\x1b[K").starts_with("par_map!: 3 items in "),
                "{text:?}"
            );
            assert!(text.ends_with("items/s)\n"), "{text:?}");
        }
        let sink = Shared::default();
        let progress = Progress::to(Some(10), Box::new(sink.clone()), false);
        progress.inc(4);
        progress.finish(Some("timed out"));
        assert!(sink.text().starts_with("par_map!: stopped after 4 of 10 items in "));
        assert!(sink.text().ends_with("(timed out)\n"));
    }
}
