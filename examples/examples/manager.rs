//! The guide's `Manager` example, ported: a child process changes a
//! value, an array, a list, a dict and a namespace that live in the
//! manager's server process, and the parent sees every change.
//!
//! Python:
//! ```python
//! import multiprocessing
//!
//! def f(x, arr, l, d, n):
//!     x.value = 3.14
//!     arr[0] = 5
//!     l.append('Hello')
//!     d[1] = 2
//!     n.a = 10
//!
//! if __name__ == '__main__':
//!     server = multiprocessing.Manager()
//!     x = server.Value('d', 0.0)
//!     arr = server.Array('i', range(10))
//!     l = server.list()
//!     d = server.dict()
//!     n = server.Namespace()
//!     proc = multiprocessing.Process(target=f, args=(x, arr, l, d, n))
//!     proc.start()
//!     proc.join()
//!     print(x.value)
//!     print(arr)
//!     print(l)
//!     print(d)
//!     print(n)
//! ```
//!
//! Run with `cargo run -p multiproc-examples --example manager`.

use multiproc::manager::{ArrayProxy, DictProxy, ListProxy, Manager, NamespaceProxy, ValueProxy};
use multiproc::prelude::*;

#[allow(clippy::approx_constant)] // 3.14: the guide's own value
#[process_fn]
fn f(
    x: ValueProxy<f64>,
    arr: ArrayProxy<i32>,
    l: ListProxy<String>,
    d: DictProxy<i32, i32>,
    n: NamespaceProxy,
) -> multiproc::Result<()> {
    x.set(&3.14)?;
    arr.set(0, &5)?;
    l.push(&"Hello".to_string())?;
    d.insert(&1, &2)?;
    n.set("a", &10)?;
    Ok(())
}

#[allow(clippy::approx_constant)]
fn main() -> multiproc::Result<()> {
    let server = Manager::start()?;
    let x = server.value(&0.0f64)?;
    let arr = server.array(&(0..10).collect::<Vec<i32>>())?;
    let l = server.list::<String>()?;
    let d = server.dict::<i32, i32>()?;
    let n = server.namespace()?;

    let mut proc = Process::builder().start(f, (x.clone(), arr.clone(), l.clone(), d.clone(), n.clone()))?;
    proc.join()??;

    println!("{}", x.get()?);
    println!("{:?}", arr.to_vec()?);
    println!("{:?}", l.to_vec()?);
    println!("{:?}", d.items()?);
    println!("Namespace(a={})", n.get::<i32>("a")?);
    assert_eq!(x.get()?, 3.14);
    assert_eq!(arr.get(0)?, 5);
    Ok(())
}
