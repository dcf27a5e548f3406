//! The guide's `Value` / `Array` example, ported.
//!
//! Python:
//! ```python
//! def f(n, a):
//!     n.value = 3.14
//!     a[0] = 5
//!
//! num = multiprocessing.Value('d', 0.0)
//! arr = multiprocessing.Array('i', range(10))
//! p = multiprocessing.Process(target=f, args=(num, arr)); p.start(); p.join()
//! print(num.value); print(arr[:])
//! ```
//!
//! The type code becomes the Rust type: `'d'` is `f64`, `'i'` is `i32`.
//!
//! Run with `cargo run -p multiproc-examples --example value_array`.

use multiproc::prelude::*;
use multiproc::shared::{Array, Value};

#[process_fn]
fn f(n: Value<f64>, a: Array<i32>) -> multiproc::Result<()> {
    n.set(std::f64::consts::PI)?; // the guide writes 3.14
    if let Ok(mut guard) = a.lock() {
        guard[0] = 5;
    }
    Ok(())
}

fn main() -> multiproc::Result<()> {
    let num = Value::new(0.0f64)?;
    let arr = Array::from_slice(&(0..10).collect::<Vec<i32>>())?;
    let mut p = Process::builder().start(f, (num.clone(), arr.clone()))?;
    p.join()??;
    println!("{}", num.get()?);
    println!("{:?}", arr.to_vec()?);
    Ok(())
}
