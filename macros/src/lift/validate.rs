//! The rules of a lifted closure, as `par_map!` checks them in process
//! mode; returns what the closure captures.

use syn::{ExprClosure, Ident};

use crate::par_map::validate::{check_lifted_closure, Errors};

pub(crate) fn validate(closure: &ExprClosure) -> syn::Result<Vec<Ident>> {
    let mut errors = Errors::default();
    let captures = check_lifted_closure(&mut errors, closure, "lift!");
    errors.finish()?;
    Ok(captures)
}
