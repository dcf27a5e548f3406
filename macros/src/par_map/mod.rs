//! `par_map!`: parse → validate → expand, one file each, and the
//! free-variable analysis that validation uses.
//!
//! - `parse.rs` — the function, the data and the raw `name = value` options;
//! - `validate.rs` — what the options mean and every rule they and a lifted
//!   closure follow, all errors at once;
//! - `captures.rs` — which locals of its surroundings a closure uses;
//! - `expand.rs` — the thread-mode call, or the process-mode call with the
//!   closure lifted into a registered entry.

pub(crate) mod captures;
pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn run(input: TokenStream) -> TokenStream {
    let input = match parse::parse(input) {
        Ok(input) => input,
        Err(e) => return fallback(e),
    };
    match validate::validate(&input) {
        Ok(options) => expand::expand(input, options),
        Err(e) => fallback(e),
    }
}

/// On error, only the errors: an expression made of `compile_error!` has
/// rustc's error type, so `par_map!(…)?` and what uses the result raise no
/// second wave of errors.
pub(crate) fn fallback(error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote!({ #errors })
}
