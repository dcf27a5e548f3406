//! What the attribute macros share: collecting every misuse into one
//! `syn::Error`, and the output when there is one.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects errors and combines them into one `syn::Error`, so a user sees
/// every misuse at once, each spanned at its tokens.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, tokens: &impl ToTokens, message: &str) {
        let e = syn::Error::new_spanned(tokens, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// On error, keep the user's item so one mistake does not cascade into
/// unresolved-name errors at every use.
pub(crate) fn fallback(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}

/// An attribute macro's stages in order: parse the attribute and the item,
/// validate, expand. On an error the item stays as written, with the
/// error (see [`fallback`]).
pub(crate) fn attribute<I>(
    attr: TokenStream,
    item: TokenStream,
    parse: impl FnOnce(TokenStream, TokenStream) -> syn::Result<I>,
    validate: impl FnOnce(&I) -> syn::Result<()>,
    expand: impl FnOnce(I) -> TokenStream,
) -> TokenStream {
    match parse(attr, item.clone()).and_then(|input| validate(&input).map(|()| input)) {
        Ok(input) => expand(input),
        Err(e) => fallback(item, e),
    }
}
