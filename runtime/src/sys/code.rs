//! Code addresses as offsets within this executable: how a worker finds
//! the runner of a closure that captures (see `captures.rs`).
//!
//! A capturing closure's runner is a generic function instantiated for the
//! closure's types, which no `static` can name (statics cannot be generic,
//! and the types of captured locals cannot be written by a macro). Every
//! copy of the program — forked, re-executed, a forkserver's child, an MPI
//! rank — runs the same executable, in which one function lies at the same
//! distance from another whatever the load address: so the parent sends
//! the runner's offset from [`anchor`], and the worker adds it back.

/// The point offsets are measured from: a function of this crate, which is
/// linked into the same executable as every user crate.
#[inline(never)]
fn anchor() {}

fn anchor_address() -> usize {
    anchor as fn() as usize
}

/// The offset of the code at `address` (a function pointer cast to
/// `usize`) from the anchor.
pub(crate) fn code_offset(address: usize) -> u64 {
    address.wrapping_sub(anchor_address()) as u64
}

/// The function of type `F` at `offset` from the anchor.
///
/// # Safety
/// `offset` must be what [`code_offset`] returned for a function pointer
/// of type `F`, in a process running this same executable (the caller
/// checks the executable's fingerprint first). `F` must be a function
/// pointer type.
pub(crate) unsafe fn code_at<F: Copy>(offset: u64) -> F {
    const {
        assert!(
            std::mem::size_of::<F>() == std::mem::size_of::<usize>(),
            "code_at returns function pointers"
        )
    };
    let address = anchor_address().wrapping_add(offset as usize);
    // SAFETY: `F` is a function pointer type, of the size of `usize`
    // (checked above), and by the caller's contract `address` is the
    // address of a function of exactly that type in this executable.
    unsafe { std::mem::transmute_copy::<usize, F>(&address) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seven(x: u64) -> u64 {
        x + 7
    }

    #[test]
    fn an_offset_finds_its_function_again() {
        let offset = code_offset(seven as fn(u64) -> u64 as usize);
        // SAFETY: made just above from a `fn(u64) -> u64` of this executable.
        let f: fn(u64) -> u64 = unsafe { code_at(offset) };
        assert_eq!(f(1), 8);
    }
}
