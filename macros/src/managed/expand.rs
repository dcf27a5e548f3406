//! Code generation for a validated `#[managed] impl Counter { … }`:
//! - the `impl` block itself, unchanged;
//! - `impl Managed for Counter`: `dispatch` decodes a method's arguments,
//!   calls it and encodes its result; `construct` does the same for the
//!   constructors;
//! - `CounterProxy`: a cheap, clonable, serde handle with one method per
//!   public method (same arguments, result wrapped in `multiproc::Result`)
//!   and one associated function per constructor that makes a new value on
//!   a manager's server;
//! - a `ManagedDesc` in the link-time registry, so any copy of the
//!   executable that runs a server can construct the type by name;
//! - compile-time checks, spanned at each argument and result type, that
//!   they are serde types.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItemFn, ReturnType, Type};

use super::parse::Input;

/// A function's arguments (receiver excluded): fresh names, their types.
fn arguments(f: &ImplItemFn) -> (Vec<syn::Ident>, Vec<&Type>) {
    f.sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(pat) => Some(&*pat.ty),
            FnArg::Receiver(_) => None,
        })
        .enumerate()
        .map(|(i, ty)| (format_ident!("__multiproc_arg{}", i), ty))
        .unzip()
}

/// The argument types as one tuple type, spanned at the argument list so
/// that an error about the tuple (a non-serde argument) lands there.
fn arguments_tuple(f: &ImplItemFn, types: &[&Type]) -> TokenStream {
    quote_spanned!(f.sig.paren_token.span.join()=> (#(#types,)*))
}

fn output(f: &ImplItemFn) -> TokenStream {
    match &f.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    }
}

/// `///` lines of the original function, for the proxy's method.
fn docs(f: &ImplItemFn) -> Vec<&syn::Attribute> {
    f.attrs.iter().filter(|a| a.path().is_ident("doc")).collect()
}

pub(crate) fn expand(input: Input) -> TokenStream {
    let Input {
        item,
        constructors,
        methods,
    } = input;
    let ty = &item.self_ty;
    let type_ident = match &**ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    }
    .unwrap_or_else(|| format_ident!("Managed"));
    let proxy = format_ident!("{}Proxy", type_ident);
    let registration = format_ident!("__MULTIPROC_MANAGED_{}", type_ident.to_string().to_uppercase());

    let mut checks = Vec::new();
    let mut check =
        |ty: &Type| checks.push(quote_spanned!(ty.span()=> ::multiproc::__private::assert_portable::<#ty>();));

    let mut dispatch_arms = Vec::new();
    let mut proxy_methods = Vec::new();
    for f in &methods {
        let name = &f.sig.ident;
        let name_str = name.to_string();
        let (args, types) = arguments(f);
        types.iter().for_each(|t| check(t));
        if let ReturnType::Type(_, t) = &f.sig.output {
            check(t);
        }
        let out = output(f);
        let tuple = arguments_tuple(f, &types);
        let doc = docs(f);
        // Explicit type arguments: an unmet serde bound is reported at the
        // user's argument list or result type, not at the attribute.
        dispatch_arms.push(quote! {
            #name_str => {
                let (#(#args,)*) = ::multiproc::__private::codec::decode::<#tuple>(__multiproc_args)?;
                ::multiproc::__private::codec::encode::<#out>(&self.#name(#(#args),*))
            }
        });
        // The call itself is spanned at the method's name, so that no part
        // of an error about its types points at the attribute.
        let call = quote_spanned!(name.span()=> self.handle.call::<#tuple, #out>(#name_str, &(#(#args,)*)));
        proxy_methods.push(quote! {
            #(#doc)*
            ///
            /// *Runs on the manager's server.* Fails with the call's own
            /// error or with `Error::Manager` when the server is gone.
            pub fn #name(&self, #(#args: #types),*) -> ::multiproc::Result<#out> {
                #call
            }
        });
    }

    let mut construct_arms = Vec::new();
    for f in &constructors {
        let name = &f.sig.ident;
        let name_str = name.to_string();
        let (args, types) = arguments(f);
        types.iter().for_each(|t| check(t));
        let tuple = arguments_tuple(f, &types);
        let doc = docs(f);
        construct_arms.push(quote! {
            #name_str => {
                let (#(#args,)*) = ::multiproc::__private::codec::decode::<#tuple>(__multiproc_args)?;
                ::core::result::Result::Ok(<#ty>::#name(#(#args),*))
            }
        });
        let create = quote_spanned!(name.span()=> manager.create::<Self, #tuple>(#name_str, &(#(#args,)*)));
        proxy_methods.push(quote! {
            #(#doc)*
            ///
            /// *Makes a new value on the manager's server* with this
            /// constructor, and returns its proxy.
            pub fn #name(
                manager: &::multiproc::__private::ManagerClient,
                #(#args: #types),*
            ) -> ::multiproc::Result<Self> {
                #create
            }
        });
    }

    let proxy_doc = format!(
        "A proxy to a [`{type_ident}`] on a manager's server, generated by `#[managed]`: each method \
         runs on the server's value. Cheap to clone; passes to `#[process_fn]` entries of any start \
         method."
    );

    quote! {
        #item

        impl ::multiproc::__private::Managed for #ty {
            const TYPE_NAME: &'static str = ::core::concat!(
                ::core::module_path!(),
                "::",
                ::core::stringify!(#type_ident)
            );
            type Proxy = #proxy;

            fn dispatch(
                &mut self,
                __multiproc_method: &str,
                __multiproc_args: &[u8],
            ) -> ::multiproc::Result<::std::vec::Vec<u8>> {
                match __multiproc_method {
                    #(#dispatch_arms)*
                    _ => ::core::result::Result::Err(::multiproc::Error::Manager(::std::format!(
                        "`{}` has no method `{}`",
                        <Self as ::multiproc::__private::Managed>::TYPE_NAME,
                        __multiproc_method
                    ))),
                }
            }

            fn construct(__multiproc_name: &str, __multiproc_args: &[u8]) -> ::multiproc::Result<Self> {
                match __multiproc_name {
                    #(#construct_arms)*
                    _ => ::core::result::Result::Err(::multiproc::Error::Manager(::std::format!(
                        "`{}` has no constructor `{}`",
                        <Self as ::multiproc::__private::Managed>::TYPE_NAME,
                        __multiproc_name
                    ))),
                }
            }
        }

        #[doc = #proxy_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        pub struct #proxy {
            handle: ::multiproc::__private::Handle,
        }

        impl #proxy {
            #(#proxy_methods)*
        }

        const _: () = {
            impl ::multiproc::__private::Proxy for #proxy {
                const TYPE_NAME: &'static str = <#ty as ::multiproc::__private::Managed>::TYPE_NAME;
                fn from_handle(handle: ::multiproc::__private::Handle) -> Self {
                    #proxy { handle }
                }
                fn handle(&self) -> &::multiproc::__private::Handle {
                    &self.handle
                }
            }

            impl ::multiproc::__private::serde::Serialize for #proxy {
                fn serialize<S: ::multiproc::__private::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    ::multiproc::__private::serde::Serialize::serialize(&self.handle, serializer)
                }
            }

            impl<'de> ::multiproc::__private::serde::Deserialize<'de> for #proxy {
                fn deserialize<D: ::multiproc::__private::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    ::core::result::Result::Ok(#proxy {
                        handle: <::multiproc::__private::Handle as ::multiproc::__private::serde::Deserialize>::deserialize(
                            deserializer,
                        )?,
                    })
                }
            }

            const _: () = {
                #(#checks)*
            };

            #[::multiproc::__private::linkme::distributed_slice(::multiproc::__private::MANAGED)]
            #[linkme(crate = ::multiproc::__private::linkme)]
            static #registration: ::multiproc::__private::ManagedDesc =
                ::multiproc::__private::ManagedDesc::new::<#ty>();
        };
    }
}
