//! Code generation for a validated `par_reduce!`: one block expression of
//! type `multiproc::Result<M>`.
//!
//! - `threads = n`: rayon's `map` and `reduce`, each thread folding from a
//!   clone of the identity;
//! - otherwise one closure folds a whole chunk in a worker —
//!   `move |chunk: Vec<_>| fold_chunk(chunk, &identity, f, op)` — lifted as
//!   `lift!` lifts a closure (the identity, and whatever `f` and `op`
//!   capture, travel once per worker), and `par_reduce_procs` combines the
//!   partial results with `op`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprClosure, Ident};

use super::parse::Input;
use super::validate::Checked;
use crate::par_map::captures;
use crate::par_map::expand::{lift, proc_options, thread_checks, thread_progress};
use crate::par_map::parse::Func;

pub(crate) fn expand(input: Input, checked: Checked) -> TokenStream {
    let Input {
        func,
        data,
        identity,
        op,
        ..
    } = input;
    let Checked { options, op_captures } = checked;
    let ident = |name: &str| Ident::new(name, Span::mixed_site());
    let (x, a, b, g) = (
        ident("__multiproc_x"),
        ident("__multiproc_a"),
        ident("__multiproc_b"),
        ident("__multiproc_g"),
    );
    // A path is called by name, which the capture analysis does not take
    // for a capture (and a `#[process_fn]` is called through its deref).
    let wrapped = |closure: TokenStream| {
        quote!({
            #[allow(clippy::redundant_closure)]
            let #g = #closure;
            #g
        })
    };
    let f = match &func {
        Func::Closure(closure) => quote!(#closure),
        Func::Other(path) => wrapped(quote_spanned!(path.span()=> |#x| #path(#x))),
    };
    let op_value = match &op {
        Expr::Closure(closure) => quote!(#closure),
        other => wrapped(quote_spanned!(other.span()=> |#a, #b| #other(#a, #b))),
    };

    if let Some(threads) = &options.threads {
        let mut checks = thread_checks(&func, &options.captures);
        if let Expr::Closure(op) = &op {
            checks.extend(thread_checks(&Func::Closure(op.clone()), &op_captures));
        }
        let progress = thread_progress(&options);
        return quote! {{
            #checks
            #[allow(unused_imports)]
            use ::multiproc::__private::{ViaIter as _, ViaRayon as _};
            (&&::multiproc::__private::ThreadData::new(#data))
                .par_reduce_threads(#threads, #progress, #f, #identity, #op_value)
        }};
    }

    let identity_local = ident("__multiproc_identity");
    let chunk = ident("__multiproc_chunk");
    let folding = quote! {
        move |#chunk: ::std::vec::Vec<_>| ::multiproc::__private::fold_chunk(#chunk, &#identity_local, #f, #op_value)
    };
    let folding: ExprClosure = match syn::parse2(folding) {
        Ok(closure) => closure,
        Err(e) => return e.to_compile_error(),
    };
    let captured: Vec<Ident> = captures::captures(&folding)
        .into_iter()
        .map(|c| c.ident)
        .filter(|i| i != "self")
        .collect();
    let (items, handle) = lift(&folding, &captured);
    // The parent combines the partial results with its own copy of `op`,
    // which borrows what it uses.
    let op_here = match &op {
        Expr::Closure(closure) => {
            let mut closure = closure.clone();
            closure.capture = None;
            quote!(#closure)
        }
        _ => op_value,
    };
    let opts = proc_options(&options);
    quote! {{
        let #identity_local = #identity;
        #items
        ::multiproc::__private::par_reduce_procs(#handle, #data, #identity_local, #op_here, #opts)
    }}
}
