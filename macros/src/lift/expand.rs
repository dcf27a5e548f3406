//! The lifted closure as one block expression: its registration, the
//! checks of its captures, and its handle.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{ExprClosure, Ident};

pub(crate) fn expand(closure: &ExprClosure, captures: &[Ident]) -> TokenStream {
    let (items, handle) = crate::par_map::expand::lift(closure, captures);
    quote!({
        #items
        #handle
    })
}
