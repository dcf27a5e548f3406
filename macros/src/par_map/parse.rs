//! A typed view of `par_map!(f, data, name = value, …)`: syntax only; what
//! the options mean is `validate.rs`'s business.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, ExprClosure, Ident, Token};

/// The function to map: a closure, or anything else (a path to a
/// `#[process_fn]`, a local holding a closure, …).
pub(crate) enum Func {
    Closure(ExprClosure),
    Other(Expr),
}

/// One `name = value` option, not yet interpreted.
pub(crate) struct RawOption {
    pub(crate) name: Ident,
    pub(crate) value: Expr,
}

pub(crate) struct Input {
    pub(crate) func: Func,
    pub(crate) data: Expr,
    pub(crate) options: Vec<RawOption>,
}

/// The usage line that parse errors repeat.
const USAGE: &str = "par_map! is called as `par_map!(f, data, option = value, …)`";

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Input> {
    if tokens.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("{USAGE}: the function and the data are missing"),
        ));
    }
    syn::parse2(tokens)
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let func: Expr = input.parse()?;
        let func = match unwrap_invisible(func) {
            Expr::Closure(closure) => Func::Closure(closure),
            other => Func::Other(other),
        };
        if input.is_empty() || (input.peek(Token![,]) && input.peek2(syn::parse::End)) {
            let span = match &func {
                Func::Closure(c) => c.span(),
                Func::Other(e) => e.span(),
            };
            return Err(syn::Error::new(
                span,
                format!("{USAGE}: the data to map over is missing after the function"),
            ));
        }
        input.parse::<Token![,]>()?;
        let data: Expr = input.parse()?;
        let mut options = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break; // a trailing comma
            }
            options.push(input.parse()?);
        }
        Ok(Input { func, data, options })
    }
}

impl Parse for RawOption {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let shape = || {
            format!(
                "expected an option `name = value` (one of {}), e.g. `procs = 4`",
                super::validate::OPTION_LIST
            )
        };
        if !input.peek(Ident::peek_any) {
            return Err(input.error(shape()));
        }
        let name = input.call(Ident::parse_any)?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("options of par_map! are written `name = value`: `{name} = …`"),
            ));
        }
        input.parse::<Token![=]>()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(name.span(), format!("`{name} =` needs a value")));
        }
        let value = input.parse()?;
        Ok(RawOption { name, value })
    }
}

/// Sees through the invisible group that a `macro_rules!` fragment (`$f:expr`)
/// arrives in, and through parentheses.
pub(crate) fn unwrap_invisible(expr: Expr) -> Expr {
    match expr {
        Expr::Group(g) => unwrap_invisible(*g.expr),
        Expr::Paren(p) if matches!(*p.expr, Expr::Closure(_)) => unwrap_invisible(*p.expr),
        other => other,
    }
}
