//! Every rule an entry point follows, checked before anything is generated;
//! all violations are reported together, each spanned at its tokens.

use syn::visit::Visit;
use syn::{FnArg, ReturnType, Type};

use crate::errors::Errors;

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
        errors.push(
            t,
            "an `unsafe fn` cannot be a #[process_fn]: starting it in a child could not uphold its contract",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.push(abi, "a #[process_fn] must use the Rust ABI; remove the `extern`");
    }
    if !sig.generics.params.is_empty() {
        errors.push(
            &sig.generics,
            "a generic function cannot be a #[process_fn]: a child finds its entry by name, \
             and a generic function has no single instance to name; write a wrapper for each concrete type",
        );
    }
    if let Some(w) = &sig.generics.where_clause {
        errors.push(
            w,
            "a #[process_fn] cannot have a `where` clause: its argument and result types must be concrete",
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

/// Walks a whole type, generic arguments included, for what can never be
/// decoded as an owned value in another process.
fn check_type(errors: &mut Errors, ty: &Type, what: &str) {
    struct Walk<'a> {
        errors: &'a mut Errors,
        what: &'a str,
    }
    impl<'ast> Visit<'ast> for Walk<'_> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            self.errors.push(
                r,
                &format!(
                    "{} of a #[process_fn] crosses a process boundary and must be owned: \
                     use `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`",
                    self.what
                ),
            );
        }
        fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
            self.errors.push(
                t,
                &format!(
                    "{} of a #[process_fn] must be a concrete type, not `impl Trait`",
                    self.what
                ),
            );
        }
        fn visit_path(&mut self, p: &'ast syn::Path) {
            if p.segments.first().is_some_and(|s| s.ident == "Self") {
                self.errors.push(
                    p,
                    "a #[process_fn] must be a free function at module level: `Self` has no meaning there; \
                     move it out of the `impl` block",
                );
            }
            syn::visit::visit_path(self, p);
        }
    }
    Walk { errors, what }.visit_type(ty);
}
