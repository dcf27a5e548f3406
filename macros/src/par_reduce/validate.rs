//! `par_map!`'s options and rules for `f`, less `ordered` (partial results
//! are combined in chunk order), and the shape of `op`.

use syn::spanned::Spanned;
use syn::{Expr, Ident};

use super::parse::Input;
use crate::par_map::captures;
use crate::par_map::validate::{validate_for, Errors, Options};

pub(crate) struct Checked {
    pub(crate) options: Options,
    /// What `op` captures.
    pub(crate) op_captures: Vec<Ident>,
}

pub(crate) fn validate(input: &Input) -> syn::Result<Checked> {
    let mut errors = Errors::default();
    if let Some(ordered) = input.options.iter().find(|o| o.name == "ordered") {
        errors.push(
            usize::MAX,
            &ordered.name,
            "`ordered` does not apply to par_reduce!: the partial results are always combined in the order of \
             the data, so `op` need only be associative",
        );
    }
    let mut op_captures = Vec::new();
    match &input.op {
        Expr::Closure(op) => {
            if op.inputs.len() != 2 {
                errors.push(
                    usize::MAX,
                    &op.inputs,
                    &format!(
                        "the operation of par_reduce! combines two partial results into one, `|a, b| a + b`: it \
                         takes two parameters, not {}",
                        op.inputs.len()
                    ),
                );
            }
            let (found, changed) = captures::captures_and_changes(op);
            for ident in &changed {
                errors.push_at(
                    usize::MAX,
                    ident.span(),
                    &format!(
                        "the operation changes `{ident}`, which it captures: in worker processes each worker \
                         would change its own copy; combine only its two parameters"
                    ),
                );
            }
            op_captures = found.into_iter().map(|c| c.ident).filter(|i| i != "self").collect();
        }
        Expr::Path(_) => {}
        other => errors.push(
            usize::MAX,
            other,
            "the operation of par_reduce! is a closure of two partial results (`|a, b| a + b`) or a path to a \
             function (`u64::max`)",
        ),
    }
    let map = crate::par_map::parse::Input {
        func: match &input.func {
            crate::par_map::parse::Func::Closure(c) => crate::par_map::parse::Func::Closure(c.clone()),
            crate::par_map::parse::Func::Other(e) => crate::par_map::parse::Func::Other(e.clone()),
        },
        data: input.data.clone(),
        options: input
            .options
            .iter()
            .filter(|o| o.name != "ordered")
            .map(|o| crate::par_map::parse::RawOption {
                name: o.name.clone(),
                value: o.value.clone(),
            })
            .collect(),
    };
    let options = validate_for(&map, "par_reduce!");
    let _ = input.identity.span();
    match (options, errors.finish()) {
        (Ok(options), Ok(())) => Ok(Checked { options, op_captures }),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            Err(a)
        }
        (Err(e), Ok(())) | (Ok(_), Err(e)) => Err(e),
    }
}
