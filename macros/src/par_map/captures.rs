//! Which locals of the surrounding code a closure uses: the free-variable
//! analysis behind the "a lifted closure cannot capture" error.
//!
//! Names bound inside the closure — its parameter, `let`, `match`, `for`,
//! `if let`/`while let` patterns, nested closures' parameters, items and
//! `use`s of a block — are tracked in scopes. A single-segment, lowercase
//! path used as a value that none of them binds is a capture: a function
//! called by name (`helper(x)`) and a capitalized name (a const, a unit
//! struct) are not. The arguments of the formatting macros, and the inline
//! `{name}` arguments of their format strings, are looked into as well.
//!
//! The analysis is syntactic, so it can miss a capture that reaches the
//! body through another macro (rustc then reports it), and flags a function
//! or a static used as a value by its bare name (the message says to write
//! `self::name`).

use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Block, Expr, ExprClosure, Ident, Item, Lit, Macro, Pat, Stmt, Token, UseTree};

/// A name the closure uses but does not bind.
pub(crate) struct Capture {
    /// The name, spanned at its first use (at the whole literal when the use
    /// is inside a format string).
    pub(crate) ident: Ident,
}

/// The captures of `closure`, each name once, in order of first use.
pub(crate) fn captures(closure: &ExprClosure) -> Vec<Capture> {
    analyse(closure).found
}

/// The captures of `closure`, and those it changes (assigns to, or borrows
/// `&mut`), each spanned at the first change.
pub(crate) fn captures_and_changes(closure: &ExprClosure) -> (Vec<Capture>, Vec<Ident>) {
    let free = analyse(closure);
    (free.found, free.changed)
}

fn analyse(closure: &ExprClosure) -> Free {
    let mut free = Free::default();
    for param in &closure.inputs {
        free.bind(param);
    }
    free.visit_expr(&closure.body);
    free
}

#[derive(Default)]
struct Free {
    /// Names in scope, innermost last; a scope is a length to truncate to.
    bound: Vec<String>,
    found: Vec<Capture>,
    changed: Vec<Ident>,
}

impl Free {
    fn bind(&mut self, pat: &Pat) {
        struct Binder<'a>(&'a mut Vec<String>);
        impl<'ast> Visit<'ast> for Binder<'_> {
            fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
                self.0.push(p.ident.to_string());
                if let Some((_, sub)) = &p.subpat {
                    self.visit_pat(sub);
                }
            }
        }
        Binder(&mut self.bound).visit_pat(pat);
    }

    fn scoped(&mut self, f: impl FnOnce(&mut Self)) {
        let mark = self.bound.len();
        f(self);
        self.bound.truncate(mark);
    }

    fn used(&mut self, ident: &Ident) {
        let name = ident.to_string();
        if looks_local(&name) && !self.bound.contains(&name) && !self.found.iter().any(|c| c.ident == name) {
            self.found.push(Capture { ident: ident.clone() });
        }
    }

    /// `place` is changed: when it is a capture (or a field or element of
    /// one), note it.
    fn changes(&mut self, place: &Expr) {
        let mut place = place;
        loop {
            match place {
                Expr::Field(f) => place = &f.base,
                Expr::Index(i) => place = &i.expr,
                Expr::Paren(p) => place = &p.expr,
                _ => break,
            }
        }
        if let Some(ident) = single_ident(place) {
            let name = ident.to_string();
            if looks_local(&name) && !self.bound.contains(&name) && !self.changed.iter().any(|c| *c == name) {
                self.changed.push(ident.clone());
            }
        }
    }

    /// The arguments of a formatting macro; `format_at` is the position of
    /// its format string.
    fn visit_format_args(&mut self, args: &Punctuated<Expr, Token![,]>, format_at: usize) {
        let mut named = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            match arg {
                // `name = value` after the format string names an argument.
                Expr::Assign(assign) if i > format_at && single_ident(&assign.left).is_some() => {
                    named.extend(single_ident(&assign.left).map(|i| i.to_string()));
                    self.visit_expr(&assign.right);
                }
                other => self.visit_expr(other),
            }
        }
        if let Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(format), ..
        })) = args.iter().nth(format_at)
        {
            for name in inline_names(&format.value()) {
                if named.contains(&name) {
                    continue;
                }
                if let Ok(mut ident) = Ident::parse_any.parse_str(&name) {
                    ident.set_span(format.span());
                    self.used(&ident);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Free {
    fn visit_expr_assign(&mut self, e: &'ast syn::ExprAssign) {
        self.changes(&e.left);
        self.visit_expr(&e.left);
        self.visit_expr(&e.right);
    }

    fn visit_expr_binary(&mut self, e: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            e.op,
            AddAssign(_)
                | SubAssign(_)
                | MulAssign(_)
                | DivAssign(_)
                | RemAssign(_)
                | BitXorAssign(_)
                | BitAndAssign(_)
                | BitOrAssign(_)
                | ShlAssign(_)
                | ShrAssign(_)
        ) {
            self.changes(&e.left);
        }
        self.visit_expr(&e.left);
        self.visit_expr(&e.right);
    }

    fn visit_expr_reference(&mut self, e: &'ast syn::ExprReference) {
        if e.mutability.is_some() {
            self.changes(&e.expr);
        }
        self.visit_expr(&e.expr);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(ident) = single_ident_path(p) {
            self.used(ident);
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        // `helper(x)`: a function called by name is not a capture.
        if !matches!(&*call.func, Expr::Path(p) if single_ident_path(p).is_some()) {
            self.visit_expr(&call.func);
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_closure(&mut self, closure: &'ast ExprClosure) {
        self.scoped(|this| {
            for param in &closure.inputs {
                this.bind(param);
            }
            this.visit_expr(&closure.body);
        });
    }

    fn visit_block(&mut self, block: &'ast Block) {
        self.scoped(|this| {
            // A block's items are in scope in the whole block.
            for stmt in &block.stmts {
                if let Stmt::Item(item) = stmt {
                    item_names(item, &mut this.bound);
                }
            }
            for stmt in &block.stmts {
                match stmt {
                    Stmt::Local(local) => {
                        if let Some(init) = &local.init {
                            this.visit_expr(&init.expr);
                            if let Some((_, diverge)) = &init.diverge {
                                this.visit_expr(diverge);
                            }
                        }
                        this.bind(&local.pat);
                    }
                    Stmt::Item(_) => {}
                    Stmt::Expr(expr, _) => this.visit_expr(expr),
                    Stmt::Macro(m) => this.visit_macro(&m.mac),
                }
            }
        });
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.scoped(|this| {
            this.bind(&f.pat);
            this.visit_block(&f.body);
        });
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        for arm in &m.arms {
            self.scoped(|this| {
                this.bind(&arm.pat);
                if let Some((_, guard)) = &arm.guard {
                    this.visit_expr(guard);
                }
                this.visit_expr(&arm.body);
            });
        }
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        // `if let` binds in the condition's rest and the then-branch only.
        self.scoped(|this| {
            this.visit_expr(&e.cond);
            this.visit_block(&e.then_branch);
        });
        if let Some((_, otherwise)) = &e.else_branch {
            self.visit_expr(otherwise);
        }
    }

    fn visit_expr_while(&mut self, e: &'ast syn::ExprWhile) {
        self.scoped(|this| {
            this.visit_expr(&e.cond);
            this.visit_block(&e.body);
        });
    }

    fn visit_expr_let(&mut self, e: &'ast syn::ExprLet) {
        self.visit_expr(&e.expr);
        self.bind(&e.pat);
    }

    /// A nested item cannot capture the closure's surroundings either, and
    /// rustc says so itself.
    fn visit_item(&mut self, _: &'ast Item) {}

    fn visit_macro(&mut self, mac: &'ast Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        let format_at = match name.as_str() {
            "format" | "format_args" | "print" | "println" | "eprint" | "eprintln" | "panic" | "todo"
            | "unimplemented" | "unreachable" => 0,
            "write" | "writeln" | "assert" | "debug_assert" => 1,
            "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => 2,
            "vec" | "dbg" => usize::MAX,
            _ => return,
        };
        if let Ok(args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            self.visit_format_args(&args, format_at);
        } else if name == "vec" {
            // `vec![value; n]`
            let repeat = |input: ParseStream<'_>| {
                let value: Expr = input.parse()?;
                input.parse::<Token![;]>()?;
                let n: Expr = input.parse()?;
                Ok([value, n])
            };
            if let Ok(exprs) = mac.parse_body_with(repeat) {
                for e in &exprs {
                    self.visit_expr(e);
                }
            }
        }
    }
}

/// Whether a name is spelled like a local variable (not like a const or a
/// type): it starts with a lowercase letter or `_`.
fn looks_local(name: &str) -> bool {
    let name = name.strip_prefix("r#").unwrap_or(name);
    name.chars().next().is_some_and(|c| c == '_' || c.is_lowercase())
}

/// `name` as a value: one segment, no `::` in front, no generic arguments.
fn single_ident_path(p: &syn::ExprPath) -> Option<&Ident> {
    if p.qself.is_some() || p.path.leading_colon.is_some() || p.path.segments.len() != 1 {
        return None;
    }
    let segment = &p.path.segments[0];
    segment.arguments.is_none().then_some(&segment.ident)
}

fn single_ident(e: &Expr) -> Option<&Ident> {
    match e {
        Expr::Path(p) => single_ident_path(p),
        _ => None,
    }
}

/// The names that an item of a block brings into scope.
fn item_names(item: &Item, names: &mut Vec<String>) {
    fn use_names(tree: &UseTree, names: &mut Vec<String>) {
        match tree {
            UseTree::Path(p) => use_names(&p.tree, names),
            UseTree::Name(n) => names.push(n.ident.to_string()),
            UseTree::Rename(r) => names.push(r.rename.to_string()),
            UseTree::Glob(_) => {}
            UseTree::Group(g) => g.items.iter().for_each(|t| use_names(t, names)),
        }
    }
    match item {
        Item::Fn(f) => names.push(f.sig.ident.to_string()),
        Item::Const(c) => names.push(c.ident.to_string()),
        Item::Static(s) => names.push(s.ident.to_string()),
        Item::Use(u) => use_names(&u.tree, names),
        _ => {}
    }
}

/// The names that a format string uses inline: `{name}`, `{name:?}`, and
/// `width$`/`.precision$` in a spec (`{:>width$}`).
fn inline_names(format: &str) -> Vec<String> {
    let chars: Vec<char> = format.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => i += 2,
            '{' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == '}') else {
                    break;
                };
                let inside: String = chars[i + 1..i + 1 + len].iter().collect();
                let (argument, spec) = inside.split_once(':').unwrap_or((&inside, ""));
                let argument = argument.trim();
                if is_identifier(argument) {
                    names.push(argument.to_string());
                }
                let mut rest = spec;
                while let Some(dollar) = rest.find('$') {
                    let before = &rest[..dollar];
                    let start = before
                        .char_indices()
                        .rev()
                        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
                        .last()
                        .map_or(dollar, |(at, _)| at);
                    if is_identifier(&before[start..]) {
                        names.push(before[start..].to_string());
                    }
                    rest = &rest[dollar + 1..];
                }
                i += len + 2;
            }
            _ => i += 1,
        }
    }
    names
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
        && s != "_"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(closure: &str) -> Vec<String> {
        let closure: ExprClosure = syn::parse_str(closure).unwrap();
        captures(&closure).into_iter().map(|c| c.ident.to_string()).collect()
    }

    #[test]
    fn free_locals() {
        assert_eq!(names("|x: u64| x * factor"), ["factor"]);
        assert_eq!(names("|x: u64| helper(x) * FACTOR"), Vec::<String>::new());
        assert_eq!(names("|x: u64| { let y = x + a; y * b }"), ["a", "b"]);
        assert_eq!(names("|x: u64| { let x = x; x }"), Vec::<String>::new());
        assert_eq!(names("|v: Vec<u64>| v.iter().map(|y| y + k).sum::<u64>()"), ["k"]);
        assert_eq!(
            names("|x: Option<u64>| match x { Some(n) if n > lim => n, other => other.unwrap_or(d) }"),
            ["lim", "d"]
        );
        assert_eq!(names("|x: Option<u64>| if let Some(n) = x { n } else { n }"), ["n"]);
        assert_eq!(names("|x: u64| { for i in 0..x { s += i; } }"), ["s"]);
        assert_eq!(
            names("|x: u64| { fn h(a: u64) -> u64 { a } let f = h; f(x) }"),
            Vec::<String>::new()
        );
        assert_eq!(
            names("|x: u64| { use std::cmp::max as m; let g = m; g(x, 1) }"),
            Vec::<String>::new()
        );
        assert_eq!(names("|x: u64| self::helper(x) + ::other(x)"), Vec::<String>::new());
        assert_eq!(names("|p: (u64, u64)| { let (a, b) = p; a + b + c }"), ["c"]);
        assert_eq!(names("|x: u64| vec![x; n]"), ["n"]);
        assert_eq!(names("|x: u64| x.max(lo).min(self.hi)"), ["lo", "self"]);
    }

    #[test]
    fn changed_captures() {
        let changed = |closure: &str| {
            let closure: ExprClosure = syn::parse_str(closure).unwrap();
            captures_and_changes(&closure)
                .1
                .into_iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(changed("|x: u64| { count += 1; x }"), ["count"]);
        assert_eq!(changed("|x: u64| { seen.total = x; v[0] *= 2; x }"), ["seen", "v"]);
        assert_eq!(changed("|x: u64| { helper(&mut buf); x }"), ["buf"]);
        assert_eq!(changed("|x: u64| { let mut s = 0; s += x; s }"), Vec::<String>::new());
        assert_eq!(changed("|mut x: u64| { x += k; x }"), Vec::<String>::new());
    }

    #[test]
    fn formatting_macros() {
        assert_eq!(names("|x: u64| format!(\"{factor}\")"), ["factor"]);
        assert_eq!(names("|x: u64| format!(\"{x} {y:?} {{z}}\", y = w)"), ["w"]);
        assert_eq!(names("|x: u64| format!(\"{:>width$.prec$}\", x)"), ["width", "prec"]);
        assert_eq!(names("|x: u64| println!(\"{}\", x + k)"), ["k"]);
        assert_eq!(names("|x: u64| assert_eq!(x, y, \"{z}\")"), ["y", "z"]);
        assert_eq!(names("|x: u64| assert!(x > 0, \"{x} {lim}\")"), ["lim"]);
        assert_eq!(names("|x: u64| assert_eq!(\"{a}\", \"{b}\")"), Vec::<String>::new());
    }
}
