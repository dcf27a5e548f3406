//! Draws the benchmark harness's figures as SVG bar charts: one file per
//! case, `bench-<case>.svg`, with ours and Python's value of each figure
//! side by side.
//!
//! ```text
//! cargo run --release -p multiproc-benches -- pool executor pipe --json target/bench.jsonl
//! cargo run -p multiproc-charts -- target/bench.jsonl [--out runtime/guide/src/images] [--subtitle TEXT] [CASE…]
//! ```
//!
//! The input is the JSON lines that the harness writes with `--json PATH`
//! (or its whole stdout: other lines are skipped). Only figures with a
//! Python value are drawn; the chart says how many were left out. With
//! `CASE…`, only those cases are drawn.

mod data;
mod draw;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: multiproc-charts INPUT.jsonl [--out DIR] [--subtitle TEXT] [CASE…]";

/// What the command line asked for.
#[derive(Debug)]
struct Args {
    input: PathBuf,
    out: PathBuf,
    subtitle: Option<String>,
    cases: Vec<String>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut input = None;
    let mut out = PathBuf::from("runtime/guide/src/images");
    let mut subtitle = None;
    let mut cases = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--out" => out = PathBuf::from(it.next().ok_or("--out needs a folder")?),
            "--subtitle" => subtitle = Some(it.next().ok_or("--subtitle needs a text")?),
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`\n{USAGE}")),
            _ if input.is_none() => input = Some(PathBuf::from(arg)),
            _ => cases.push(arg),
        }
    }
    let input = input.ok_or(USAGE)?;
    Ok(Some(Args {
        input,
        out,
        subtitle,
        cases,
    }))
}

fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let cases = data::parse(&text).map_err(|e| format!("{}: {e}", args.input.display()))?;
    if cases.is_empty() {
        return Err(format!("{}: no figures", args.input.display()));
    }
    for name in &args.cases {
        if !cases.iter().any(|c| &c.name == name) {
            return Err(format!("{}: no figures of case `{name}`", args.input.display()));
        }
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    for case in &cases {
        if !args.cases.is_empty() && !args.cases.contains(&case.name) {
            continue;
        }
        if case.pairs.is_empty() {
            eprintln!("case `{}`: no figure with a Python value; no chart", case.name);
            continue;
        }
        let path = args.out.join(format!("bench-{}.svg", case.name));
        draw::case_chart(case, args.subtitle.as_deref(), &path)?;
        eprintln!("wrote {} ({} figures)", path.display(), case.pairs.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("{message}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}
