//! Procedural macros of `multiproc`. Use them through the `multiproc` crate,
//! which re-exports them and which the generated code names by absolute path.

#![warn(missing_docs)]

mod process_fn;

/// Marks a free function as an entry point that a child process can run.
///
/// The function stays callable as before (`square(7)`), and becomes a
/// typed handle that `Process::builder().start(square, (7,))` accepts. It is
/// registered under a stable name — its module path and name — that is the
/// same in every copy of the program, so a child started by any start method
/// finds it. Arguments and the result must be serde types.
///
/// Options: `#[process_fn(name = "custom::name")]` overrides the stable name.
///
/// See the `multiproc` crate for examples.
#[proc_macro_attribute]
pub fn process_fn(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    process_fn::run(attr.into(), item.into()).into()
}
