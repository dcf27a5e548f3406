//! `#[managed]`: parse → validate → expand, one file each.
//!
//! - `parse.rs` — the `impl` block, split into constructors and methods;
//! - `validate.rs` — every rule a managed type follows, all errors at once;
//! - `expand.rs` — the `Managed` impl, the proxy type, the registration.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn run(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::attribute(attr, item, parse::parse, validate::validate, expand::expand)
}
