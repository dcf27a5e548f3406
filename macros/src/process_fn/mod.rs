//! `#[process_fn]`: parse → validate → expand, one file each.
//!
//! - `parse.rs` — the attribute's options and the function, as syn sees them;
//! - `validate.rs` — every rule an entry point must follow, all errors at once;
//! - `expand.rs` — the handle type, its `ProcessFn` impl and its registration.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::errors::fallback;

pub(crate) fn run(attr: TokenStream, item: TokenStream) -> TokenStream {
    let input = match parse::parse(attr, item.clone()) {
        Ok(input) => input,
        Err(e) => return fallback(item, e),
    };
    if let Err(e) = validate::validate(&input) {
        return fallback(item, e);
    }
    expand::expand(input)
}
