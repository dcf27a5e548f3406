//! Every rule an entry point follows, checked before anything is generated;
//! all violations are reported together, each spanned at its tokens.

use quote::ToTokens;
use syn::{FnArg, ReturnType, Type};

use super::parse::Input;

pub(crate) fn validate(input: &Input) -> syn::Result<()> {
    let mut errors = Errors::default();
    let sig = &input.func.sig;
    if let Some(t) = &sig.asyncness {
        errors.push(
            t,
            "an `async fn` cannot be a #[process_fn]: the child runs its entry to completion; \
             make it a plain `fn` and block on the future inside it",
        );
    }
    if let Some(t) = &sig.unsafety {
        errors.push(t, "an `unsafe fn` cannot be a #[process_fn]: starting it in a child could not uphold its contract");
    }
    if let Some(abi) = &sig.abi {
        errors.push(
            abi,
            "a #[process_fn] must use the Rust ABI; remove the `extern`",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            &sig.generics,
            "a generic function cannot be a #[process_fn]: a child finds its entry by name, \
             and a generic function has no single instance to name; write a wrapper for each concrete type",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.push(v, "a variadic function cannot be a #[process_fn]");
    }
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => errors.push(
                r,
                "a method cannot be a #[process_fn]: there is no `self` in the child; \
                 make it a free function that takes the value as an argument",
            ),
            FnArg::Typed(pat) => check_type(&mut errors, &pat.ty, "an argument"),
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        check_type(&mut errors, ty, "the result");
    }
    errors.finish()
}

/// Types that can never be decoded in another process as owned values.
fn check_type(errors: &mut Errors, ty: &Type, what: &str) {
    match ty {
        Type::Reference(r) => errors.push(
            r,
            &format!(
                "{what} of a #[process_fn] crosses a process boundary and must be owned: \
                 use `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`"
            ),
        ),
        Type::ImplTrait(t) => errors.push(
            t,
            &format!("{what} of a #[process_fn] must be a concrete type, not `impl Trait`"),
        ),
        Type::Paren(p) => check_type(errors, &p.elem, what),
        Type::Group(g) => check_type(errors, &g.elem, what),
        Type::Tuple(t) => t.elems.iter().for_each(|e| check_type(errors, e, what)),
        Type::Array(a) => check_type(errors, &a.elem, what),
        _ => {}
    }
}

/// Collects errors and combines them into one `syn::Error`.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, tokens: &impl ToTokens, message: &str) {
        let e = syn::Error::new_spanned(tokens, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
