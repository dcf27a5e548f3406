//! Makes the pages of the `multiproc::guide` module from the guide's
//! Markdown (`guide/src/`, also an mdBook), so that docs.rs carries the
//! guide and its links and pictures never break:
//!
//! - a link to a chapter (`pool.md`, `pool.md#a-heading`, or
//!   `../zh-CN/pool.md` in the other language) becomes an intra-doc link
//!   to its module (`crate::guide::pool`, `crate::guide::zh::pool`);
//! - a picture (`../images/x.svg`) is embedded as a `data:` URI, as
//!   rustdoc copies no files of its own;
//! - `SUMMARY.md` becomes each language's table of contents.
//!
//! Everything else is left as written. Only the standard library is used.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Each language: its folder under `guide/src/` and its module.
const LANGUAGES: [(&str, &str); 2] = [("en", "crate::guide"), ("zh-CN", "crate::guide::zh")];

fn main() {
    println!("cargo:rerun-if-changed=guide/src");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("guide");
    let summary = read(Path::new("guide/src/SUMMARY.md"));
    for (lang, module) in LANGUAGES {
        let dir = Path::new("guide/src").join(lang);
        fs::create_dir_all(out.join(lang)).expect("cannot create the guide's output folder");
        let mut pages: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|entry| entry.expect("cannot list the guide").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .collect();
        pages.sort();
        for page in pages {
            let text = rewrite(&read(&page), module);
            let name = page.file_name().expect("a page has a name");
            fs::write(out.join(lang).join(name), text).expect("cannot write a guide page");
        }
        fs::write(out.join(lang).join("contents.md"), contents(&summary, lang, module))
            .expect("cannot write the guide's contents");
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The module a chapter's file becomes: `threads-or-processes.md` is
/// `threads_or_processes`; the introduction is the language's module itself.
fn module_of(file: &str, module: &str) -> String {
    match file.strip_suffix(".md") {
        Some("introduction") => module.to_owned(),
        Some(stem) => format!("{module}::{}", stem.replace('-', "_")),
        None => panic!("not a chapter: {file}"),
    }
}

/// The chapter a link names, and the module of its language: `pool.md`
/// in the page's own language, `../zh-CN/pool.md` in another.
fn chapter<'a>(file: &'a str, module: &'a str) -> Option<(&'a str, &'a str)> {
    if !file.ends_with(".md") {
        return None;
    }
    let Some(other) = file.strip_prefix("../") else {
        return (!file.contains('/')).then_some((file, module));
    };
    let (lang, file) = other.split_once('/')?;
    LANGUAGES
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, module)| (file, *module))
}

/// Rewrites every `](target)` whose target is a chapter or a picture.
fn rewrite(text: &str, module: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let (head, tail) = rest.split_at(at + 2);
        out.push_str(head);
        let Some(end) = tail.find(')') else { break };
        let target = &tail[..end];
        let (file, fragment) = target.split_once('#').map_or((target, ""), |(f, h)| (f, h));
        if let Some((file, module)) = chapter(file, module) {
            out.push_str(&module_of(file, module));
            if !fragment.is_empty() {
                out.push('#');
                out.push_str(fragment);
            }
        } else if let Some(picture) = file.strip_prefix("../images/") {
            let bytes = fs::read(Path::new("guide/src/images").join(picture))
                .unwrap_or_else(|e| panic!("the guide shows {picture}, which cannot be read: {e}"));
            out.push_str("data:image/svg+xml;base64,");
            out.push_str(&base64(&bytes));
        } else {
            out.push_str(target);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// One language's list of chapters, in the order `SUMMARY.md` gives, with a
/// link to the other language.
fn contents(summary: &str, lang: &str, module: &str) -> String {
    let prefix = format!("]({lang}/");
    let mut out = String::from(if lang == "en" {
        "\n# Chapters\n\n"
    } else {
        "\n# 章节\n\n"
    });
    for line in summary.lines() {
        let Some(item) = line.strip_prefix("- [") else { continue };
        let Some((title, file)) = item.split_once(&prefix) else {
            continue;
        };
        let file = file.trim_end_matches(')');
        out.push_str(&format!("1. [{title}]({})\n", module_of(file, module)));
    }
    out.push_str(if lang == "en" {
        "\n中文版：[`multiproc::guide::zh`](crate::guide::zh)。\n"
    } else {
        "\nEnglish: [`multiproc::guide`](crate::guide).\n"
    });
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let word = group
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, &b)| w | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(ALPHABET[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
