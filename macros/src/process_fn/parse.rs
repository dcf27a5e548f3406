//! A typed view of `#[process_fn(…)] fn …`.

use proc_macro2::TokenStream;
use syn::{ItemFn, LitStr};

/// The attribute's options.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "…"`: overrides the stable name.
    pub(crate) name: Option<LitStr>,
}

pub(crate) struct Input {
    pub(crate) options: Options,
    pub(crate) func: ItemFn,
}

pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Input> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if options.name.is_some() {
                return Err(meta.error("`name` is given twice"));
            }
            let lit: LitStr = meta
                .value()?
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "`name` takes a string literal: `name = \"…\"`"))?;
            if lit.value().trim().is_empty() {
                return Err(syn::Error::new(lit.span(), "`name` must not be empty"));
            }
            options.name = Some(lit);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown option `{}` for #[process_fn]; the only option is `name = \"…\"`",
                meta.path.get_ident().map_or_else(|| "?".to_string(), |i| i.to_string())
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    let func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "#[process_fn] applies to a free function (`fn name(args…) -> T { … }`)",
        )
    })?;
    Ok(Input { options, func })
}
