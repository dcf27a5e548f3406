//! `lift!(closure)`: parse → validate → expand, one file each. The closure
//! becomes a value that implements `ProcessFn`, as `par_map!` lifts its
//! own: the rules and the code are `par_map!`'s.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn run(input: TokenStream) -> TokenStream {
    let closure = match parse::parse(input) {
        Ok(closure) => closure,
        Err(e) => return crate::par_map::fallback(e),
    };
    match validate::validate(&closure) {
        Ok(captures) => expand::expand(&closure, &captures),
        Err(e) => crate::par_map::fallback(e),
    }
}
