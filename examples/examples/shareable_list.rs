//! Python's `shared_memory.ShareableList`, ported: a fixed-length list of
//! plain values that another process opens by name.
//!
//! Python:
//! ```python
//! from multiprocessing import shared_memory, Process
//!
//! def child(name):
//!     sl = shared_memory.ShareableList(name=name)
//!     for i in range(len(sl)):
//!         sl[i] = sl[i] * 10
//!     sl.shm.close()
//!
//! sl = shared_memory.ShareableList([1, 2, 3], name="demo")
//! p = Process(target=child, args=(sl.shm.name,)); p.start(); p.join()
//! print(list(sl))
//! sl.shm.close(); sl.shm.unlink()
//! ```
//!
//! Python's list may mix numbers, strings and bytes; here every item is
//! one plain-data type. Run with
//! `cargo run -p multiproc-examples --example shareable_list`.

use multiproc::prelude::*;
use multiproc::shared::ShareableList;

#[process_fn]
fn child(name: String) -> multiproc::Result<()> {
    let sl = ShareableList::<i64>::open(&name)?;
    for i in 0..sl.len() {
        sl.set(i, sl.get(i)? * 10)?;
    }
    Ok(())
}

fn main() -> multiproc::Result<()> {
    let name = format!("shareable-list-demo-{}", std::process::id());
    let sl = ShareableList::create(&name, &[1i64, 2, 3])?;
    Process::builder().start(child, (name,))?.join()??;
    println!("{:?}", sl.to_vec()?); // [10, 20, 30]
    assert_eq!(sl.to_vec()?, [10, 20, 30]);
    Ok(()) // dropping `sl`, the creator's handle, unlinks the name
}
