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
    let input = match parse::parse(attr, item.clone()) {
        Ok(input) => input,
        Err(e) => return fallback(item, e),
    };
    if let Err(e) = validate::validate(&input) {
        return fallback(item, e);
    }
    expand::expand(input)
}

/// On error, keep the user's item so one mistake does not cascade.
fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}
