//! Code generation for a validated `par_map!`: one block expression of type
//! `multiproc::Result<Vec<R>>`.
//!
//! - `threads = n`: the data goes to rayon, through `ThreadData`'s autoref
//!   specialization (rayon's own parallel iterator when the data has one,
//!   collected first when not);
//! - otherwise a call of `par_map_procs` with the options as a
//!   `ProcOptions`; a closure is first lifted into a registered entry: an
//!   `EntryDesc` in the link-time registry, under a name made of the module
//!   path and the source position, and a `Lifted` handle with the same name.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::sync::atomic::{AtomicUsize, Ordering};
use syn::spanned::Spanned;

use syn::ExprClosure;

use super::parse::{Func, Input};
use super::validate::Options;

/// Numbers the closures lifted in one compilation.
static SERIAL: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn expand(input: Input, options: Options) -> TokenStream {
    let Input { func, data, .. } = input;
    if let Some(threads) = &options.threads {
        let checks = thread_checks(&func, &options.captures);
        let f = match func {
            // Passed straight in, so that the expected `Fn(Item)` shapes its
            // parameter's type.
            Func::Closure(closure) => quote!(#closure),
            // A path to a #[process_fn] is a unit struct that derefs to its
            // `fn`: calling it works, passing it as an `Fn` would not.
            Func::Other(f) => {
                let item = format_ident!("__multiproc_item", span = Span::mixed_site());
                let call = quote_spanned!(f.span()=> |#item| (#f)(#item));
                quote!({
                    #[allow(clippy::redundant_closure)]
                    let __multiproc_f = #call;
                    __multiproc_f
                })
            }
        };
        let progress = thread_progress(&options);
        return quote! {{
            #checks
            #[allow(unused_imports)]
            use ::multiproc::__private::{ViaIter as _, ViaRayon as _};
            (&&::multiproc::__private::ThreadData::new(#data)).par_map_threads(#threads, #progress, #f)
        }};
    }

    let opts = proc_options(&options);
    match func {
        // Spanned at `f`: when it is not a #[process_fn], rustc's errors
        // about the call point there rather than at the whole macro.
        Func::Other(f) => spanned_call(
            &f,
            quote!(::multiproc::__private::par_map_procs),
            quote!(#f, #data, #opts),
        ),
        Func::Closure(closure) => {
            let (items, handle) = lift(&closure, &options.captures);
            let call = spanned_call(
                &closure,
                quote!(::multiproc::__private::par_map_procs),
                quote!(#handle, #data, #opts),
            );
            quote! {{
                #items
                #call
            }}
        }
    }
}

/// Compile-time checks that a thread-mode closure's captures can be shared
/// between threads (moved between them, for a `move` closure), each
/// spanned at its variable.
pub(crate) fn thread_checks(func: &Func, captures: &[syn::Ident]) -> TokenStream {
    let Func::Closure(closure) = func else {
        return TokenStream::new();
    };
    let check = if closure.capture.is_some() {
        quote!(check_thread_move)
    } else {
        quote!(check_thread_capture)
    };
    let checks = captures.iter().map(|ident| {
        let span = ident.span();
        quote_spanned!(span=> ::multiproc::__private::#check(&#ident);)
    });
    quote!(#(#checks)*)
}

/// A closure lifted into a registered entry: the items and checks to put
/// first in a block, and an expression (in that block) whose value
/// implements `ProcessFn` — a `Lifted` when the closure captures nothing,
/// a `Captured` (the captures encoded once, and a constructor that
/// rebuilds the closure from them in a worker) when it does. The handle
/// stays out of any inner block: rustc then reports a bad argument or
/// result type once, at the handle, not again where it is used.
pub(crate) fn lift(closure: &ExprClosure, captures: &[syn::Ident]) -> (TokenStream, TokenStream) {
    let name = quote!(__MULTIPROC_NAME);
    // Source position alone is not unique: a `macro_rules!` that repeats
    // the macro gives every copy its own call site. A serial number per
    // expansion (in this compilation) is.
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed).to_string();
    let const_name = quote! {
        const #name: &str = ::core::concat!(
            ::core::module_path!(),
            "::{closure#",
            #serial,
            "@",
            ::core::file!(),
            ":",
            ::core::line!(),
            ":",
            ::core::column!(),
            "}"
        );
    };
    let register = |entry: TokenStream| {
        quote! {
            #[::multiproc::__private::linkme::distributed_slice(::multiproc::__private::ENTRIES)]
            #[linkme(crate = ::multiproc::__private::linkme)]
            static __MULTIPROC_ENTRY: ::multiproc::__private::EntryDesc = #entry;
        }
    };
    if captures.is_empty() {
        // The calls are spanned at the closure, so that errors about its
        // argument or result type point there.
        let entry = register(spanned_call(
            closure,
            quote!(::multiproc::__private::EntryDesc::lifted),
            quote!(#name, ::core::file!(), ::core::line!(), #closure),
        ));
        let handle = spanned_call(
            closure,
            quote!(::multiproc::__private::Lifted::new),
            quote!(#name, #closure),
        );
        return (quote!(#const_name #entry), handle);
    }
    let entry = register(quote!(::multiproc::__private::EntryDesc::capturing(
        #name,
        ::core::file!(),
        ::core::line!()
    )));
    let checks = captures.iter().map(|ident| {
        let span = ident.span();
        quote_spanned!(span=> ::multiproc::__private::check_capture(&#ident);)
    });
    // The closure as the constructor returns it: it owns the values the
    // constructor was given, so it is `move` whether or not it was written so.
    let mut moved = closure.clone();
    moved.capture = Some(syn::Token![move](closure.span()));
    let refs = captures.iter().map(|ident| quote!(&#ident));
    let handle = spanned_call(
        closure,
        quote!(::multiproc::__private::Captured::new),
        quote!(#name, (#(#refs,)*), |(#(#captures,)*)| #moved),
    );
    (quote!(#const_name #entry #(#checks)*), handle)
}

/// `function(args)`, spanned at the first token of `user`: rustc's errors
/// about the call point there. The arguments keep their own spans.
fn spanned_call(user: &impl Spanned, function: TokenStream, args: TokenStream) -> TokenStream {
    let span = user.span();
    let function: TokenStream = function
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect();
    quote_spanned!(span=> #function(#args))
}

/// `ProcOptions { … }` with the options given, the rest by default.
/// Thread mode's `progress` argument: the option's value, or `false`.
pub(crate) fn thread_progress(options: &Options) -> TokenStream {
    match &options.progress {
        Some(v) => quote!(#v),
        None => quote!(false),
    }
}

pub(crate) fn proc_options(options: &Options) -> TokenStream {
    let some = |value: &syn::Expr| quote!(::core::option::Option::Some(#value));
    let mut fields = Vec::new();
    if let Some(v) = &options.procs {
        let v = some(v);
        fields.push(quote!(procs: #v));
    }
    if let Some(v) = &options.chunksize {
        let v = some(v);
        fields.push(quote!(chunksize: #v));
    }
    if let Some(v) = &options.ordered {
        fields.push(quote!(ordered: #v));
    }
    if let Some(start) = &options.start {
        let variant = &start.variant;
        fields.push(quote!(start: ::core::option::Option::Some(::multiproc::__private::StartMethod::#variant)));
    }
    if let Some(v) = &options.pool {
        let v = some(v);
        fields.push(quote!(pool: #v));
    }
    if let Some(v) = &options.timeout {
        let v = some(v);
        fields.push(quote!(timeout: #v));
    }
    if let Some(v) = &options.progress {
        fields.push(quote!(progress: #v));
    }
    quote! {
        ::multiproc::__private::ProcOptions {
            #(#fields,)*
            ..::core::default::Default::default()
        }
    }
}
