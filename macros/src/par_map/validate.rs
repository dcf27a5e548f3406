//! What the options mean, and every rule `par_map!` follows, checked before
//! anything is generated; all violations are reported together, each
//! spanned at its tokens.

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, ExprClosure, Ident, Lit, Pat};

use super::captures::{self, Capture};
use super::parse::{Func, Input, RawOption};

/// Every option, for messages.
pub(crate) const OPTION_LIST: &str =
    "`procs`, `threads`, `chunksize`, `ordered`, `start`, `pool`, `timeout`, `progress`";

const NAMES: [&str; 8] = [
    "procs",
    "threads",
    "chunksize",
    "ordered",
    "start",
    "pool",
    "timeout",
    "progress",
];

/// The options that only mean something for worker processes.
const PROCESS_ONLY: [&str; 5] = ["chunksize", "ordered", "start", "pool", "timeout"];

/// `start = fork | forkserver | spawn`, as the variant of `StartMethod`.
pub(crate) struct Start {
    pub(crate) variant: Ident,
}

/// The options, interpreted: each one given at most once.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) procs: Option<Expr>,
    pub(crate) threads: Option<Expr>,
    pub(crate) chunksize: Option<Expr>,
    pub(crate) ordered: Option<Expr>,
    pub(crate) start: Option<Start>,
    pub(crate) pool: Option<Expr>,
    pub(crate) timeout: Option<Expr>,
    pub(crate) progress: Option<Expr>,
    /// The locals the closure captures (none when `f` is not a closure).
    pub(crate) captures: Vec<Ident>,
}

pub(crate) fn validate(input: &Input) -> syn::Result<Options> {
    validate_for(input, "par_map!")
}

/// As [`validate`], for macro `what` (`par_reduce!` shares the options).
pub(crate) fn validate_for(input: &Input, what: &str) -> syn::Result<Options> {
    let mut errors = Errors::default();
    let given = check_names(&mut errors, &input.options, what);
    let find = |name: &str| given.iter().copied().find(|o| o.name == name);
    // Errors are reported in source order: the closure's first, then each
    // option's.
    let at = |option: &RawOption| 1 + input.options.iter().position(|o| std::ptr::eq(o, option)).unwrap_or(0);

    // Which mode, and what goes with it.
    if let (Some(procs), Some(threads)) = (find("procs"), find("threads")) {
        let later = if at(procs) > at(threads) { procs } else { threads };
        errors.push(
            at(later),
            &later.name,
            "`procs` and `threads` exclude each other: `procs = n` runs the function in n worker processes, \
             `threads = n` on n threads of this process; keep one",
        );
    }
    if find("threads").is_some() {
        for name in PROCESS_ONLY {
            if let Some(option) = find(name) {
                errors.push(
                    at(option),
                    &option.name,
                    &format!(
                        "`{name}` applies to worker processes, but `threads = n` maps on threads of this process; \
                         remove `{name}`, or use `procs = n` instead of `threads`"
                    ),
                );
            }
        }
    }
    if find("pool").is_some() {
        if let Some(start) = find("start") {
            errors.push(
                at(start),
                &start.name,
                "`start` cannot be used with `pool`: the pool's workers are already running, \
                 started with the method the pool was built with (`Pool::builder().start_method(…)`)",
            );
        }
        if let Some(procs) = find("procs") {
            errors.push(
                at(procs),
                &procs.name,
                "`procs` cannot be used with `pool`: the pool's workers are already running, \
                 as many as it was built with (`Pool::builder().processes(…)`)",
            );
        }
    }

    // The values that can be checked before type checking.
    for (name, what) in [
        ("procs", "would start no worker process"),
        ("threads", "would start no thread"),
        ("chunksize", "would send empty chunks"),
    ] {
        if let Some(option) = find(name) {
            if is_zero(&option.value) {
                errors.push(
                    at(option),
                    &option.value,
                    &format!("`{name} = 0` {what}; give at least 1{}", leave_out_hint(name)),
                );
            }
        }
    }
    let start = find("start").and_then(|option| match start_variant(&option.value) {
        Some(variant) => Some(Start { variant }),
        None => {
            errors.push(at(option), &option.value, &bad_start_message(&option.value));
            None
        }
    });

    // A closure run in worker processes is lifted out of its surroundings;
    // on threads, its captures are checked for sharing.
    let captures = match &input.func {
        Func::Closure(closure) if find("threads").is_none() => check_lifted_closure(&mut errors, closure, what),
        Func::Closure(closure) => captures::captures(closure).into_iter().map(|c| c.ident).collect(),
        Func::Other(_) => Vec::new(),
    };

    errors.finish()?;
    let value = |name: &str| find(name).map(|o| o.value.clone());
    Ok(Options {
        procs: value("procs"),
        threads: value("threads"),
        chunksize: value("chunksize"),
        ordered: value("ordered"),
        start,
        pool: value("pool"),
        timeout: value("timeout"),
        progress: value("progress"),
        captures,
    })
}

/// Reports unknown and repeated options; returns the first occurrence of
/// each known one.
fn check_names<'a>(errors: &mut Errors, options: &'a [RawOption], what: &str) -> Vec<&'a RawOption> {
    let mut given: Vec<&RawOption> = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let name = option.name.to_string();
        if !NAMES.contains(&name.as_str()) {
            let suggestion = NAMES
                .iter()
                .filter(|known| edit_distance(known, &name) <= 2)
                .min_by_key(|known| edit_distance(known, &name))
                .map(|known| format!(" (did you mean `{known}`?)"))
                .unwrap_or_default();
            errors.push(
                1 + i,
                &option.name,
                &format!("unknown option `{name}` for {what}{suggestion}; the options are {OPTION_LIST}"),
            );
        } else if given.iter().any(|g| g.name == option.name) {
            errors.push(1 + i, &option.name, &format!("`{name}` is given twice"));
        } else {
            given.push(option);
        }
    }
    given
}

/// The rules of a closure that worker processes run (for `what`, the
/// macro's name): it becomes a registered entry, and what it captures
/// travels to the workers as bytes. Returns the captures.
pub(crate) fn check_lifted_closure(errors: &mut Errors, closure: &ExprClosure, what: &str) -> Vec<Ident> {
    if let Some(t) = &closure.asyncness {
        errors.push(
            0,
            t,
            "an `async` closure cannot run in worker processes: a worker sends back each item's value, not a future; \
             make it a plain closure that blocks on the future inside",
        );
    }
    if closure.inputs.len() != 1 {
        let params = ParamList(closure);
        errors.push(
            0,
            &params,
            &format!(
                "a {what} closure takes exactly one parameter, the item (`|x: u64| …`), not {}; \
                 for several values, map over tuples and take one: `|(a, b): (u64, u64)| …`",
                closure.inputs.len()
            ),
        );
    }
    for param in &closure.inputs {
        match param {
            Pat::Type(typed) if has_infer(&typed.ty) => errors.push(
                0,
                &typed.ty,
                "write out the type of the closure's parameter in full, without `_`: in process mode the closure \
                 becomes a registered entry, whose argument type must be known before any data is seen",
            ),
            Pat::Type(_) => {}
            other => errors.push(
                0,
                other,
                &format!(
                    "annotate the type of the closure's parameter, `|{}: T| …` with `T` the type of the items: in \
                     process mode the closure becomes a registered entry, whose argument type must be known before \
                     any data is seen",
                    other.to_token_stream()
                ),
            ),
        }
    }
    let (found, changed) = captures::captures_and_changes(closure);
    for ident in &changed {
        errors.push_at(0, ident.span(), &change_message(&ident.to_string(), what));
    }
    let mut captures = Vec::new();
    for Capture { ident, .. } in found {
        if ident == "self" {
            errors.push_at(0, ident.span(), SELF_MESSAGE);
        } else if !changed.contains(&ident) {
            captures.push(ident);
        }
    }
    captures
}

const SELF_MESSAGE: &str = "a closure that runs in worker processes cannot capture `self`: what it captures is \
     sent to each worker as bytes, and `self` is borrowed\n\
     help: copy the fields it needs into locals before the closure (`let hi = self.hi;`) and use those";

/// Why a lifted closure cannot change `name`, and what to do instead.
fn change_message(name: &str, what: &str) -> String {
    format!(
        "this closure changes `{name}`, which it captures, but a closure that {what} runs in worker processes gets \
         a copy of each captured value in each worker: the change would happen there, and be lost\n\
         help: return what you want to keep from the closure, and combine the results (`par_reduce!` folds them \
         in the workers), or use `threads = n` with an atomic or a `Mutex` to share `{name}`"
    )
}

/// The `|…|` of a closure, for spanning errors about its parameters.
struct ParamList<'a>(&'a ExprClosure);

impl ToTokens for ParamList<'_> {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        self.0.or1_token.to_tokens(tokens);
        self.0.inputs.to_tokens(tokens);
        self.0.or2_token.to_tokens(tokens);
    }
}

fn has_infer(ty: &syn::Type) -> bool {
    struct Find(bool);
    impl<'ast> Visit<'ast> for Find {
        fn visit_type_infer(&mut self, _: &'ast syn::TypeInfer) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    find.visit_type(ty);
    find.0
}

fn start_variant(value: &Expr) -> Option<Ident> {
    let variant = match value {
        v if is_ident(v, "fork") => "Fork",
        v if is_ident(v, "forkserver") => "ForkServer",
        v if is_ident(v, "spawn") => "Spawn",
        _ => return None,
    };
    Some(Ident::new(variant, value.span()))
}

fn bad_start_message(value: &Expr) -> String {
    const TAKES: &str = "`start` takes `fork`, `forkserver` or `spawn`, written bare";
    let Expr::Path(path) = value else {
        return format!("{TAKES}, e.g. `start = spawn`");
    };
    let last = path
        .path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    if path.path.segments.len() > 1 || path.qself.is_some() {
        let bare = match last.as_str() {
            "Fork" => "fork",
            "ForkServer" => "forkserver",
            "Spawn" => "spawn",
            _ => return format!("{TAKES}, e.g. `start = spawn`"),
        };
        return format!("{TAKES}: write `start = {bare}`");
    }
    let hint = if last == "thread" || last == "threads" {
        "; to map on threads of this process, write `threads = n` instead of `start`"
    } else {
        ""
    };
    format!("unknown start method `{last}`: {TAKES}{hint}")
}

fn is_ident(value: &Expr, name: &str) -> bool {
    matches!(value, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

fn is_zero(value: &Expr) -> bool {
    match value {
        Expr::Lit(lit) => matches!(&lit.lit, Lit::Int(i) if i.base10_parse::<u128>().is_ok_and(|v| v == 0)),
        Expr::Group(g) => is_zero(&g.expr),
        Expr::Paren(p) => is_zero(&p.expr),
        _ => false,
    }
}

fn leave_out_hint(name: &str) -> &'static str {
    match name {
        "procs" => " (or leave `procs` out for one worker per CPU)",
        "chunksize" => " (or leave `chunksize` out for a size picked from the data's length)",
        _ => "",
    }
}

/// Levenshtein distance, for "did you mean" on short option names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Collects errors, each with its place in the source, and combines them
/// into one `syn::Error` in that order.
#[derive(Default)]
pub(crate) struct Errors(Vec<(usize, syn::Error)>);

impl Errors {
    pub(crate) fn push(&mut self, order: usize, tokens: &impl ToTokens, message: &str) {
        self.0.push((order, syn::Error::new_spanned(tokens, message)));
    }

    pub(crate) fn push_at(&mut self, order: usize, span: proc_macro2::Span, message: &str) {
        self.0.push((order, syn::Error::new(span, message)));
    }

    pub(crate) fn finish(mut self) -> syn::Result<()> {
        self.0.sort_by_key(|(order, _)| *order);
        let mut errors = self.0.into_iter().map(|(_, e)| e);
        match errors.next() {
            None => Ok(()),
            Some(mut all) => {
                all.extend(errors);
                Err(all)
            }
        }
    }
}
