//! A typed view of `par_reduce!(f, data, identity, op, name = value, …)`:
//! syntax only.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Token};

use crate::par_map::parse::{unwrap_invisible, Func, RawOption};

pub(crate) struct Input {
    pub(crate) func: Func,
    pub(crate) data: Expr,
    pub(crate) identity: Expr,
    pub(crate) op: Expr,
    pub(crate) options: Vec<RawOption>,
}

const USAGE: &str = "par_reduce! is called as `par_reduce!(f, data, identity, op, option = value, …)`, \
     e.g. `par_reduce!(|x: u64| x * x, data, 0u64, |a, b| a + b, procs = 2)`";

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Input> {
    if tokens.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!("{USAGE}: its arguments are missing"),
        ));
    }
    syn::parse2(tokens)
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut exprs = Vec::new();
        for what in ["the function", "the data", "the identity", "the operation"] {
            if input.is_empty() {
                return Err(input.error(format!("{USAGE}: {what} is missing")));
            }
            exprs.push(unwrap_invisible(input.parse()?));
            if exprs.len() < 4 {
                if input.is_empty() {
                    continue;
                }
                input.parse::<Token![,]>()?;
            }
        }
        let mut options = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            options.push(input.parse()?);
        }
        let mut exprs = exprs.into_iter();
        let (Some(func), Some(data), Some(identity), Some(op)) =
            (exprs.next(), exprs.next(), exprs.next(), exprs.next())
        else {
            return Err(input.error(USAGE));
        };
        let func = match func {
            Expr::Closure(closure) => Func::Closure(closure),
            other => Func::Other(other),
        };
        Ok(Input {
            func,
            data,
            identity,
            op,
            options,
        })
    }
}
