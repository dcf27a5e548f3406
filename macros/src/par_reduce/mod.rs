//! `par_reduce!(f, data, identity, op, option = value, …)`: parse →
//! validate → expand, one file each. The options and the rules of `f` are
//! `par_map!`'s; `op` combines two partial results.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn run(input: TokenStream) -> TokenStream {
    let input = match parse::parse(input) {
        Ok(input) => input,
        Err(e) => return crate::par_map::fallback(e),
    };
    match validate::validate(&input) {
        Ok(checked) => expand::expand(input, checked),
        Err(e) => crate::par_map::fallback(e),
    }
}
