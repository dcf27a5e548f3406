//! A typed view of `#[managed] impl Type { … }`: the visible (`pub`,
//! `pub(crate)`, …) associated functions that return `Self` are
//! constructors, the visible methods are what the proxy offers; private
//! ones stay local.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, FnArg, ImplItem, ImplItemFn, ItemImpl, ReturnType, Type, Visibility};

pub(crate) struct Input {
    pub(crate) item: ItemImpl,
    /// `pub fn name(args…) -> Self`.
    pub(crate) constructors: Vec<ImplItemFn>,
    /// `pub fn name(&self | &mut self | self…, args…) -> T`.
    pub(crate) methods: Vec<ImplItemFn>,
}

/// Whether `ty` is `Self` or the implementing type itself.
pub(crate) fn is_self(ty: &Type, self_ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.qself.is_none() && (p.path.is_ident("Self") || ty == self_ty),
        _ => false,
    }
}

/// Where an item that is not an `impl` block says what it is: its first
/// token after attributes and visibility (`fn`, `struct`, …).
fn item_keyword(item: TokenStream) -> Option<Span> {
    let keyword = |input: ParseStream<'_>| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let span = input.span();
        input.parse::<TokenStream>()?;
        Ok(span)
    };
    keyword.parse2(item).ok()
}

pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Input> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(attr, "#[managed] takes no options"));
    }
    let item: ItemImpl = syn::parse2(item.clone()).map_err(|e| {
        syn::Error::new(
            item_keyword(item).unwrap_or_else(|| e.span()),
            "#[managed] applies to an inherent `impl` block: `#[managed] impl MyType { … }`",
        )
    })?;
    let mut constructors = Vec::new();
    let mut methods = Vec::new();
    for member in &item.items {
        let ImplItem::Fn(f) = member else { continue };
        if matches!(f.vis, Visibility::Inherited) {
            continue;
        }
        let has_receiver = matches!(f.sig.inputs.first(), Some(FnArg::Receiver(_)));
        if has_receiver {
            methods.push(f.clone());
        } else if matches!(&f.sig.output, ReturnType::Type(_, ty) if is_self(ty, &item.self_ty)) {
            constructors.push(f.clone());
        }
    }
    Ok(Input {
        item,
        constructors,
        methods,
    })
}
