//! Python's `shared_memory.SharedMemory` by name, ported: a second process
//! attaches to the block knowing nothing but its name.
//!
//! Python:
//! ```python
//! from multiprocessing import shared_memory, Process
//!
//! def child(name):
//!     shm_b = shared_memory.SharedMemory(name)
//!     shm_b.buf[4] = 99
//!     shm_b.close()
//!
//! shm_a = shared_memory.SharedMemory(name="demo", create=True, size=10)
//! shm_a.buf[:4] = bytearray([22, 33, 44, 55])
//! p = Process(target=child, args=(shm_a.name,)); p.start(); p.join()
//! print(bytes(shm_a.buf[:5]))
//! shm_a.close(); shm_a.unlink()
//! ```
//!
//! Here the creator's last handle unlinks the name: no `unlink()` to
//! forget. Run with
//! `cargo run -p multiproc-examples --example shared_memory_by_name`.

use multiproc::prelude::*;
use multiproc::shared::SharedMemory;

#[process_fn]
fn child(name: String) -> multiproc::Result<()> {
    let shm_b = SharedMemory::open(&name)?;
    shm_b.write_at(4, &[99])
}

fn main() -> multiproc::Result<()> {
    // Unique per run, so two runs at once do not collide.
    let name = format!("shared-memory-demo-{}", std::process::id());
    let shm_a = SharedMemory::create(&name, 10)?;
    shm_a.write_at(0, &[22, 33, 44, 55])?;
    Process::builder().start(child, (name.clone(),))?.join()??;
    let mut buf = [0u8; 5];
    shm_a.read_at(0, &mut buf)?;
    println!("{buf:?}"); // [22, 33, 44, 55, 99]
    assert_eq!(buf, [22, 33, 44, 55, 99]);
    drop(shm_a); // unlinks /dev/shm/<name>
    assert!(SharedMemory::open(&name).is_err());
    Ok(())
}
