//! Code generation for a validated `#[process_fn]`.
//!
//! `fn square(x: u64) -> u64 { … }` becomes:
//! - a unit struct `square` (same visibility, the function's docs) that
//!   derefs to the original `fn(u64) -> u64`, so `square(7)` still calls it;
//! - `impl ProcessFnCore for square` with the argument tuple, the result
//!   type and the stable name (the runtime's blanket impl makes it a
//!   `ProcessFn` when both are serde types);
//! - an `EntryDesc` in the link-time registry;
//! - compile-time checks, spanned at each argument and result type, that
//!   the types are serde types: placed first, so that their errors lead.
//!
//! Helpers live inside `const _: () = { … };` so their names never reach the
//! user's namespace.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ReturnType};

use super::parse::Input;

pub(crate) fn expand(input: Input) -> TokenStream {
    let Input { options, func } = input;
    let ident = &func.sig.ident;
    let vis = &func.vis;

    let mut docs = Vec::new();
    let mut cfgs = Vec::new();
    let mut others = Vec::new();
    for attr in &func.attrs {
        if attr.path().is_ident("doc") {
            docs.push(attr);
        } else if attr.path().is_ident("cfg") {
            cfgs.push(attr);
        } else {
            others.push(attr);
        }
    }

    let arg_types: Vec<_> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(&*pat.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let arg_names: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("__multiproc_arg{}", i))
        .collect();
    let output = match &func.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    // Errors about the argument tuple land on the argument list.
    let args_tuple = quote_spanned!(func.sig.paren_token.span.join()=> (#(#arg_types,)*));
    let checks = arg_types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> ::multiproc::__private::assert_portable::<#ty>();))
        .chain(match &func.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => {
                Some(quote_spanned!(ty.span()=> ::multiproc::__private::assert_portable::<#ty>();))
            }
        });
    let name = match &options.name {
        Some(lit) => quote!(#lit),
        None => quote!(::core::concat!(
            ::core::module_path!(),
            "::",
            ::core::stringify!(#ident)
        )),
    };

    let mut body_sig = func.sig.clone();
    body_sig.ident = format_ident!("__multiproc_body");
    let block = &func.block;

    quote! {
        #(#cfgs)*
        #(#docs)*
        ///
        /// *A `#[process_fn]` entry:* call it directly, or run it in a child
        /// process with `multiproc::Process::builder().start(…)`.
        #[allow(non_camel_case_types)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::default::Default, ::core::fmt::Debug)]
        #vis struct #ident;

        #(#cfgs)*
        const _: () = {
            // First: rustc reports these before its errors about the uses.
            const _: () = {
                #(#checks)*
            };

            #(#others)*
            #body_sig #block

            static __MULTIPROC_FN: fn(#(#arg_types),*) -> #output = __multiproc_body;

            impl ::core::ops::Deref for #ident {
                type Target = fn(#(#arg_types),*) -> #output;
                fn deref(&self) -> &Self::Target {
                    &__MULTIPROC_FN
                }
            }

            impl ::multiproc::__private::ProcessFnCore for #ident {
                type Args = #args_tuple;
                type Output = #output;
                #[inline]
                fn name(&self) -> &'static str {
                    #name
                }
                #[inline]
                fn call(&self, (#(#arg_names,)*): Self::Args) -> Self::Output {
                    __multiproc_body(#(#arg_names),*)
                }
            }

            #[::multiproc::__private::linkme::distributed_slice(::multiproc::__private::ENTRIES)]
            #[linkme(crate = ::multiproc::__private::linkme)]
            static __MULTIPROC_ENTRY: ::multiproc::__private::EntryDesc =
                ::multiproc::__private::EntryDesc::new::<#ident>(#name, ::core::file!(), ::core::line!());
        };
    }
}
