//! The guide's shared state in memory that several processes map:
//! [`Value`] and [`Array`] of plain data, each behind a lock that survives
//! the death of its holder, a raw [`SharedMemory`] block (anonymous or
//! named), and a [`ShareableList`] of plain values in one.
//!
//! The memory is an anonymous `memfd` mapped shared: the kernel frees it
//! with its last descriptor and mapping, so nothing is left in `/dev/shm`
//! whatever happens. Handing a `Value` or `Array` to a child (an argument of
//! a `#[process_fn]`) hands over that descriptor. The one exception is a
//! [`SharedMemory`] made by name, which unrelated processes open as a file
//! of `/dev/shm` (see there).
//!
//! Their element type is plain data: [`Pod`]. This module re-exports it,
//! [`Zeroable`] and their derives (with the [`bytemuck`] crate they come
//! from), so a struct of your own needs no dependency of yours:
//!
//! ```
//! use multiproc::shared::{Pod, Value, Zeroable};
//!
//! #[derive(Clone, Copy, Pod, Zeroable)]
//! #[bytemuck(crate = "multiproc::shared::bytemuck")]
//! #[repr(C)]
//! struct Point {
//!     x: f64,
//!     y: f64,
//! }
//!
//! # fn main() -> multiproc::Result<()> {
//! let p = Value::new(Point { x: 1.0, y: 2.0 })?;
//! p.lock().unwrap().y += 1.0;
//! assert_eq!(p.get()?.y, 3.0);
//! # Ok(())
//! # }
//! ```

//!
//! A file per kind: `value.rs`, `array.rs`, `raw.rs` (the unlocked
//! ones), `memory.rs` ([`SharedMemory`]), `list.rs` ([`ShareableList`]);
//! here, the layout of their segments and the checks of a received one.

use std::sync::Arc;

/// The crate [`Pod`] and [`Zeroable`] come from, for their derives'
/// `#[bytemuck(crate = "multiproc::shared::bytemuck")]` (see the module's
/// example).
pub use bytemuck;
/// Plain data, which any bytes are a valid value of: what [`Value`] and
/// [`Array`] hold. Derive it (and [`Zeroable`]) for a `#[repr(C)]` struct,
/// as the module's example does.
pub use bytemuck::Pod;
/// The all-zero value is valid: needed by [`Pod`]; derive both.
pub use bytemuck::Zeroable;
use serde::{Deserialize, Deserializer, Serialize};

use crate::segment::Segment;
use crate::sync::LockResult;
use crate::sys::LockedSlice;

mod array;
mod list;
mod memory;
mod raw;
mod value;

pub use array::{Array, ArrayGuard};
pub use list::ShareableList;
pub use memory::SharedMemory;
pub use raw::{RawArray, RawValue};
pub use value::{Value, ValueGuard, ValueLock, ValueLockGuard};

/// Where the data starts in a segment: after the mutex (and the length).
const DATA: usize = 64;
/// Where an array keeps its length.
const LEN: usize = 48;

/// A received segment for one `T` (a `Value` or `RawValue`), checked to
/// be large enough.
fn value_segment<'de, T: Pod, D: Deserializer<'de>>(d: D) -> std::result::Result<Arc<Segment>, D::Error> {
    checked_value_segment::<T>(Segment::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// `seg`, when it is large enough for one `T`.
fn checked_value_segment<T: Pod>(seg: Segment) -> std::result::Result<Arc<Segment>, &'static str> {
    if seg.region.len() < DATA + std::mem::size_of::<T>() {
        return Err("a shared value's segment is too small for its type");
    }
    Ok(Arc::new(seg))
}

/// A received segment and length of an `Array` or `RawArray`, checked to
/// hold that many `T`.
fn array_segment<'de, T: Pod, D: Deserializer<'de>>(d: D) -> std::result::Result<(Arc<Segment>, usize), D::Error> {
    let wire = ArrayWire::deserialize(d)?;
    let len = usize::try_from(wire.len).map_err(serde::de::Error::custom)?;
    let need = std::mem::size_of::<T>()
        .checked_mul(len)
        .and_then(|b| b.checked_add(DATA))
        .ok_or_else(|| serde::de::Error::custom("array length overflows"))?;
    if wire.seg.region.len() < need {
        return Err(serde::de::Error::custom(
            "a shared array's segment is too small for its length",
        ));
    }
    Ok((Arc::new(wire.seg), len))
}

fn wrap<'a, T, G>(r: LockResult<LockedSlice<'a, T>>, f: impl Fn(LockedSlice<'a, T>) -> G) -> LockResult<G> {
    r.map(&f).map_err(|e| e.map(f))
}

#[derive(Serialize)]
struct ArrayWireRef<'a> {
    seg: &'a Segment,
    len: u64,
}

#[derive(Deserialize)]
struct ArrayWire {
    seg: Segment,
    len: u64,
}
