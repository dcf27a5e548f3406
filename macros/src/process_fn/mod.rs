//! `#[process_fn]`: parse → validate → expand, one file each.
//!
//! - `parse.rs` — the attribute's options and the function, as syn sees them;
//! - `validate.rs` — every rule an entry point must follow, all errors at once;
//! - `expand.rs` — the handle type, its `ProcessFn` impl and its registration.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn run(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::attribute(attr, item, parse::parse, validate::validate, expand::expand)
}
