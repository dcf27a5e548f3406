//! One SVG per case: a panel per unit, and in each panel a pair of bars
//! per figure — ours, Python's — with both values and how many times
//! better ours is written above them.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::{Case, Pair};

const OURS: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
const PYTHON: RGBColor = RGBColor(0xe3, 0xa0, 0x2f);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GREY: RGBColor = RGBColor(0x66, 0x66, 0x66);
const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
const FONT: &str = "sans-serif";

/// Space above the panels: title, subtitle, legend.
const HEADER: u32 = 104;
/// One panel: caption, bars, and the figures' names under them.
const PANEL: u32 = 390;
/// Space under the panels for the note on figures left out.
const FOOTER: u32 = 30;
/// Pixels per pair of bars, and around them.
const GROUP_WIDTH: u32 = 150;
const SIDE: u32 = 170;
/// The room under the x axis for the figures' names.
const NAMES: u32 = 96;
/// Characters per line of a figure's name (about 6.6 px each at 12 px).
const NAME_CHARS: usize = 20;
/// A panel is at least this many figures wide, so that one or two
/// figures do not make bars as wide as the page.
const MIN_SLOTS: f64 = 3.0;
/// Values further apart than this share a panel on a log scale.
const LOG_ABOVE: f64 = 25.0;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Draws `case` into the SVG file `path`.
///
/// # Errors
/// When the file cannot be written; a case without a figure to compare.
pub(crate) fn case_chart(case: &Case, subtitle: Option<&str>, path: &Path) -> Result<(), String> {
    let panels = panels(&case.pairs);
    if panels.is_empty() {
        return Err(format!("case `{}` has no figure with a Python value", case.name));
    }
    let widest = panels.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let width = (GROUP_WIDTH * widest + SIDE).max(760);
    let height = HEADER + PANEL * panels.len() as u32 + FOOTER;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    let fail = |e: DrawingAreaErrorKind<std::io::Error>| format!("{}: {e}", path.display());
    root.fill(&WHITE).map_err(fail)?;

    header(&root, case, subtitle).map_err(fail)?;
    let (_, rest) = root.split_vertically(HEADER);
    let (body, footer) = rest.split_vertically(PANEL * panels.len() as u32);
    for (area, pairs) in body.split_evenly((panels.len(), 1)).iter().zip(&panels) {
        panel(&root, area, pairs).map_err(fail)?;
    }
    if case.without_peer > 0 {
        let note = format!(
            "{} more figure{} of this case had no Python counterpart and {} not drawn.",
            case.without_peer,
            if case.without_peer == 1 { "" } else { "s" },
            if case.without_peer == 1 { "is" } else { "are" },
        );
        footer
            .draw(&Text::new(note, (20, 6), (FONT, 12).into_font().color(&GREY)))
            .map_err(fail)?;
    }
    root.present().map_err(fail)
}

/// The figures grouped into panels: one per unit and direction, in the
/// order they first appear.
fn panels(pairs: &[Pair]) -> Vec<Vec<&Pair>> {
    let mut panels: Vec<Vec<&Pair>> = Vec::new();
    for pair in pairs {
        match panels
            .iter_mut()
            .find(|p| p[0].unit == pair.unit && p[0].higher_is_better == pair.higher_is_better)
        {
            Some(panel) => panel.push(pair),
            None => panels.push(vec![pair]),
        }
    }
    panels
}

fn header(root: &Area<'_>, case: &Case, subtitle: Option<&str>) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let title = format!("Benchmark case `{}`: multiproc against Python", case.name);
    root.draw(&Text::new(
        title,
        (20, 14),
        (FONT, 22).into_font().style(FontStyle::Bold).color(&INK),
    ))?;
    let sub = subtitle.unwrap_or("ours and CPython's multiprocessing / concurrent.futures, measured in the same run");
    root.draw(&Text::new(
        sub.to_string(),
        (20, 46),
        (FONT, 13).into_font().color(&GREY),
    ))?;
    let y = 72;
    for (x, label, color) in [(20, "multiproc", OURS), (140, "Python (CPython, same run)", PYTHON)] {
        root.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], color.filled()))?;
        root.draw(&Text::new(label, (x + 22, y), (FONT, 13).into_font().color(&INK)))?;
    }
    Ok(())
}

/// The y axis of a panel: linear from zero, or log10 of the values when
/// they differ by more than [`LOG_ABOVE`].
#[derive(Debug, Clone, Copy)]
struct Scale {
    log: bool,
    low: f64,
    high: f64,
}

impl Scale {
    fn of(pairs: &[&Pair]) -> Scale {
        let values = pairs.iter().flat_map(|p| [p.ours, p.peer]);
        let (min, max) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if max / min > LOG_ABOVE {
            // Whole decades, the smallest bar at least half a decade tall,
            // and room above the tallest bar for its labels.
            let low = (min.log10() - 0.5).floor();
            Scale {
                log: true,
                low,
                high: max.log10() + 0.45 + (max.log10() - low) * 0.12,
            }
        } else {
            Scale {
                log: false,
                low: 0.0,
                high: max * 1.32,
            }
        }
    }

    /// Where a value sits on the axis.
    fn y(self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }
}

fn panel(root: &Area<'_>, area: &Area<'_>, pairs: &[&Pair]) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let scale = Scale::of(pairs);
    let first = pairs[0];
    let caption = format!(
        "{}: {} is better{}",
        unit_words(&first.unit),
        if first.higher_is_better { "higher" } else { "lower" },
        if scale.log { " (log scale)" } else { "" },
    );
    // A panel with few figures keeps its bars narrow, centred.
    let slots = (pairs.len() as f64).max(MIN_SLOTS);
    let offset = (slots - pairs.len() as f64) / 2.0;
    let mut chart = ChartBuilder::on(area)
        .margin_left(20)
        .margin_right(30)
        .margin_top(8)
        .caption(caption, (FONT, 15).into_font().color(&INK))
        .x_label_area_size(NAMES)
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..slots, scale.low..scale.high)?;

    // The caption names the unit; ticks and bars carry numbers only.
    let label = move |v: &f64| -> String {
        if !scale.log {
            number(*v)
        } else if (v - v.round()).abs() < 1e-6 {
            decade(v.round() as i32) // only whole decades carry a label
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(if scale.log {
            (scale.high - scale.low).ceil() as usize + 1
        } else {
            6
        })
        .y_label_formatter(&label)
        .label_style((FONT, 12).into_font().color(&INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT.stroke_width(0))
        .axis_style(GREY.stroke_width(1))
        .draw()?;

    let text =
        |size: u32, color: &RGBColor, h: HPos, v: VPos| (FONT, size).into_font().color(color).pos(Pos::new(h, v));
    for (i, pair) in pairs.iter().enumerate() {
        let x = offset + i as f64;
        let bars = [
            (x + 0.17, x + 0.49, pair.ours, OURS),
            (x + 0.51, x + 0.83, pair.peer, PYTHON),
        ];
        for (left, right, value, color) in bars {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(left, scale.low), (right, scale.y(value))],
                color.filled(),
            )))?;
            let (px, py) = chart.backend_coord(&((left + right) / 2.0, scale.y(value)));
            root.draw(&Text::new(
                number(value),
                (px, py - 3),
                text(11, &INK, HPos::Center, VPos::Bottom),
            ))?;
        }
        // How many times better, above the taller bar of the pair.
        let top = scale.y(pair.ours.max(pair.peer));
        let (px, py) = chart.backend_coord(&(x + 0.5, top));
        root.draw(&Text::new(
            reading(pair),
            (px, py - 20),
            (FONT, 13)
                .into_font()
                .style(FontStyle::Bold)
                .color(if pair.factor() >= 1.0 { &OURS } else { &GREY })
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
        ))?;
        // The figure's name under the axis.
        let (px, py) = chart.backend_coord(&(x + 0.5, scale.low));
        for (line, words) in wrap(&pair.name, NAME_CHARS).iter().enumerate() {
            root.draw(&Text::new(
                words.clone(),
                (px, py + 8 + 15 * line as i32),
                text(12, &INK, HPos::Center, VPos::Top),
            ))?;
        }
    }
    Ok(())
}

/// "8.5× faster", "3.0× higher", "1.2× worse": ours against Python's.
fn reading(pair: &Pair) -> String {
    let factor = pair.factor();
    let time = matches!(pair.unit.as_str(), "s" | "ms" | "us" | "ns" | "ns/op");
    let throughput = pair.unit.ends_with("/s");
    let (good, bad) = if time {
        ("faster", "slower")
    } else if throughput {
        ("higher", "lower")
    } else {
        ("better", "worse")
    };
    if factor >= 1.0 {
        format!("{}× {good}", short(factor))
    } else {
        format!("{}× {bad}", short(1.0 / factor))
    }
}

/// A unit in words, for a panel's caption.
fn unit_words(unit: &str) -> String {
    match unit {
        "us" => "time in µs".to_string(),
        "ms" => "time in ms".to_string(),
        "ns" => "time in ns".to_string(),
        "s" => "time in s".to_string(),
        "x" => "ratio (×)".to_string(),
        other if other.ends_with("/s") => format!("throughput in {other}"),
        other => other.to_string(),
    }
}

/// About three significant digits.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A value with a metric prefix: `52.3 M`, `12.0 k`, `4.10`.
fn number(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1e9 {
        format!("{} G", short(v / 1e9))
    } else if a >= 1e6 {
        format!("{} M", short(v / 1e6))
    } else if a >= 1e4 {
        format!("{} k", short(v / 1e3))
    } else {
        short(v)
    }
}

/// `10^k` as people write it: `1`, `100`, `10 k`, `1 M`, `0.01`.
fn decade(k: i32) -> String {
    let prefixes = [(9, "G"), (6, "M"), (3, "k")];
    match prefixes.iter().find(|(p, _)| k >= *p && k >= 4) {
        Some((p, name)) => format!("{} {name}", 10u64.pow((k - p) as u32)),
        None if k >= 0 => 10u64.pow(k as u32).to_string(),
        None => format!("{}", 10f64.powi(k)),
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a
/// longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(unit: &str, higher: bool, ours: f64, peer: f64) -> Pair {
        Pair {
            case: "c".into(),
            name: "n".into(),
            ours,
            peer,
            unit: unit.into(),
            higher_is_better: higher,
        }
    }

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(number(52_300_000.0), "52.3 M");
        assert_eq!(number(7_200.0), "7200");
        assert_eq!(number(12_000.0), "12.0 k");
        assert_eq!(number(4.1), "4.10");
        assert_eq!(number(0.1234), "0.123");
        let decades: Vec<String> = [-2, 0, 2, 3, 4, 6, 8, 9].map(decade).into();
        assert_eq!(decades, ["0.01", "1", "100", "1000", "10 k", "1 M", "100 M", "1 G"]);
        assert_eq!(reading(&pair("us", false, 4.1, 48.7)), "11.9× faster");
        assert_eq!(reading(&pair("items/s", true, 1.0, 2.0)), "2.00× lower");
        assert_eq!(reading(&pair("x", true, 1.97, 1.96)), "1.01× better");
    }

    #[test]
    fn names_wrap_at_spaces() {
        assert_eq!(wrap("Pool(2).map x*x 1M items", 12), ["Pool(2).map", "x*x 1M items"]);
        assert_eq!(wrap("averyveryverylongword ok", 8), ["averyveryverylongword", "ok"]);
    }

    #[test]
    fn far_apart_values_get_a_log_scale() {
        let near = pair("items/s", true, 50.0, 7.0);
        let far = pair("items/s", true, 1.9e6, 1.0e4);
        assert!(!Scale::of(&[&near]).log);
        let scale = Scale::of(&[&near, &far]);
        assert!(scale.log);
        assert_eq!(scale.low, 0.0); // 7 is in the decade from 1
        assert!(scale.high > 1.9e6f64.log10());
    }

    #[test]
    fn panels_split_by_unit_and_direction() {
        let pairs = [
            pair("items/s", true, 2.0, 1.0),
            pair("x", true, 2.0, 1.0),
            pair("items/s", true, 3.0, 1.0),
            pair("x", false, 1.0, 2.0),
        ];
        let sizes: Vec<usize> = panels(&pairs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 1, 1]);
    }
}
