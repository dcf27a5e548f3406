//! [`Callable`]: what the thread twin's pool runs — a `#[process_fn]` entry
//! or a closure, so switching a program between processes and threads
//! changes the pool's type and nothing else.

use std::marker::PhantomData;

use crate::entry::ProcessFn;

/// Something a [`thread::Pool`](super::Pool) can call with `Args` (a tuple):
/// a `#[process_fn]` entry, or a closure of up to four parameters.
///
/// `Marker` only tells the two kinds apart; it is always inferred. A
/// closure's parameter types must be written out (`|x: u64| x * x`), as for
/// `par_map!`.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::thread::Callable;
///
/// #[process_fn]
/// fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
///
/// fn call<M, F: Callable<(i32, i32), M>>(f: F) -> F::Output {
///     f.call_with((2, 3))
/// }
///
/// assert_eq!(call(add), 5);
/// assert_eq!(call(|a: i32, b: i32| a * b), 6);
/// ```
pub trait Callable<Args, Marker>: Send + Sync + 'static {
    /// What a call returns.
    type Output: Send + 'static;
    /// Calls it with its arguments as a tuple.
    fn call_with(&self, args: Args) -> Self::Output;
}

/// The [`Callable`] marker of `#[process_fn]` entries.
#[derive(Debug)]
pub enum Entry {}

/// The [`Callable`] marker of closures taking `Args`.
#[derive(Debug)]
pub struct Closure<Args>(PhantomData<fn(Args)>);

impl<P: ProcessFn> Callable<P::Args, Entry> for P {
    type Output = P::Output;

    fn call_with(&self, args: P::Args) -> P::Output {
        self.call(args)
    }
}

macro_rules! closures {
    ($(($($arg:ident),*)),* $(,)?) => {$(
        impl<Func, Ret, $($arg),*> Callable<($($arg,)*), Closure<($($arg,)*)>> for Func
        where
            Func: Fn($($arg),*) -> Ret + Send + Sync + 'static,
            Ret: Send + 'static,
        {
            type Output = Ret;

            #[allow(non_snake_case)]
            fn call_with(&self, ($($arg,)*): ($($arg,)*)) -> Ret {
                self($($arg),*)
            }
        }
    )*};
}

closures!((), (A), (A, B), (A, B, C), (A, B, C, D));
