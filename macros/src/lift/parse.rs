//! `lift!(|x: T| …)`: one closure, nothing else.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprClosure};

const USAGE: &str = "lift! takes one closure: `lift!(move |x: u64| x * factor)`";

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<ExprClosure> {
    if tokens.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("{USAGE}; it was given nothing"),
        ));
    }
    let expr: Expr = syn::parse2(tokens)?;
    match unwrap(expr) {
        Expr::Closure(closure) => Ok(closure),
        other => Err(syn::Error::new(
            other.span(),
            format!(
                "{USAGE}; a `#[process_fn]` is run by name as it is (`pool.map(square, data)`), and any other \
                 value cannot be lifted"
            ),
        )),
    }
}

/// Sees through the invisible group of a `macro_rules!` fragment, and
/// through parentheses.
fn unwrap(expr: Expr) -> Expr {
    match expr {
        Expr::Group(g) => unwrap(*g.expr),
        Expr::Paren(p) => unwrap(*p.expr),
        other => other,
    }
}
