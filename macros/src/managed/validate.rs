//! Every rule a managed type follows, checked before anything is
//! generated; all violations are reported together, each spanned at its
//! tokens.

use syn::visit::Visit;
use syn::{FnArg, ImplItemFn, ReturnType, Type};

use crate::errors::Errors;

use super::parse::{is_self, Input};

pub(crate) fn validate(input: &Input) -> syn::Result<()> {
    let mut errors = Errors::default();
    let item = &input.item;
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(
            path,
            "#[managed] applies to an inherent `impl` block, not a trait impl: \
             the proxy offers the type's own public methods",
        );
    }
    if !item.generics.params.is_empty() {
        errors.push(
            &item.generics,
            "a generic type cannot be #[managed]: the server makes its values by name, and a generic \
             type has no single instance to name; manage a concrete type (a newtype or an alias)",
        );
    }
    if let Some(w) = &item.generics.where_clause {
        errors.push(
            w,
            "a #[managed] impl block cannot have a `where` clause: the managed type and its methods \
             must be concrete",
        );
    }
    if let Some(u) = &item.unsafety {
        errors.push(u, "an `unsafe impl` cannot be #[managed]: remove the `unsafe`");
    }
    if !matches!(&*item.self_ty, Type::Path(p) if p.qself.is_none()) {
        errors.push(&item.self_ty, "#[managed] needs a named type: `impl MyType { … }`");
    }
    // A trait impl has no `pub fn`: the error above is the one that helps.
    if input.methods.is_empty() && item.trait_.is_none() {
        errors.push(
            &item.self_ty,
            "a #[managed] type needs at least one `pub fn` taking `&self` or `&mut self`: \
             only public methods are reachable through the proxy",
        );
    }
    for f in &input.constructors {
        check_signature(&mut errors, f, &item.self_ty, true);
    }
    for f in &input.methods {
        if let Some(FnArg::Receiver(r)) = f.sig.inputs.first() {
            if r.reference.is_none() {
                errors.push(
                    r,
                    "a #[managed] method takes `&self` or `&mut self`: the value stays on the server, \
                     so it cannot be taken by value",
                );
            }
        }
        check_signature(&mut errors, f, &item.self_ty, false);
    }
    errors.finish()
}

fn check_signature(errors: &mut Errors, f: &ImplItemFn, self_ty: &Type, constructor: bool) {
    let sig = &f.sig;
    let what = if constructor { "constructor" } else { "method" };
    if let Some(t) = &sig.asyncness {
        errors.push(
            t,
            &format!("a #[managed] {what} cannot be `async`: the server runs it to completion"),
        );
    }
    if let Some(t) = &sig.unsafety {
        errors.push(
            t,
            &format!("a #[managed] {what} cannot be `unsafe`: a proxy could not uphold its contract"),
        );
    }
    if !sig.generics.params.is_empty() {
        errors.push(
            &sig.generics,
            &format!(
                "a generic {what} cannot be #[managed]: a proxy calls it by name, with concrete argument types; \
                 make it non-generic or keep it private"
            ),
        );
    }
    if let Some(w) = &sig.generics.where_clause {
        errors.push(
            w,
            &format!(
                "a #[managed] {what} cannot have a `where` clause: a proxy calls it with concrete argument \
                 types; remove the clause or keep the {what} private"
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        errors.push(v, "a variadic function cannot be #[managed]");
    }
    for arg in &sig.inputs {
        if let FnArg::Typed(pat) = arg {
            check_type(errors, &pat.ty, &format!("an argument of a #[managed] {what}"), self_ty);
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if !(constructor && is_self(ty, self_ty)) {
            check_type(errors, ty, &format!("the result of a #[managed] {what}"), self_ty);
        }
    }
}

/// Walks a type for what cannot travel between a proxy and its server;
/// `what` names the type's place (`an argument of a #[managed] method`).
fn check_type(errors: &mut Errors, ty: &Type, what: &str, self_ty: &Type) {
    struct Walk<'a> {
        errors: &'a mut Errors,
        what: &'a str,
        self_ty: &'a Type,
    }
    impl<'ast> Visit<'ast> for Walk<'_> {
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            self.errors.push(
                r,
                &format!(
                    "{} travels between processes and must be owned: \
                     use `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`",
                    self.what
                ),
            );
        }
        fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
            self.errors
                .push(t, &format!("{} must be a concrete type, not `impl Trait`", self.what));
        }
        fn visit_type(&mut self, ty: &'ast Type) {
            if is_self(ty, self.self_ty) {
                self.errors.push(
                    ty,
                    &format!(
                        "{} cannot be the managed type itself: its values stay on \
                         the server (only a constructor returns `Self`)",
                        self.what
                    ),
                );
                return;
            }
            syn::visit::visit_type(self, ty);
        }
    }
    Walk { errors, what, self_ty }.visit_type(ty);
}
