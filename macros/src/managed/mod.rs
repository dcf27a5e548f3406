//! `#[managed]`: parse → validate → expand, one file each.
//!
//! - `parse.rs` — the `impl` block, split into constructors and methods;
//! - `validate.rs` — every rule a managed type follows, all errors at once;
//! - `expand.rs` — the `Managed` impl, the proxy type, the registration.

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
