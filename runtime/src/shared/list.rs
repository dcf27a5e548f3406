//! [`ShareableList`]: Python's `shared_memory.ShareableList`, for plain
//! values of one type, in a [`SharedMemory`] block.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Pod, SharedMemory};
use crate::error::{Error, Result};

/// The block's first bytes: what a list was made by this crate.
const MAGIC: [u8; 8] = *b"mpslist1";
/// Where the items start; before them: the magic, the size of one item
/// and the number of items (`u64`s, little-endian), and 8 spare bytes.
const DATA: usize = 32;

/// A fixed-length list of plain values `T` in shared memory — Python's
/// `shared_memory.ShareableList`, typed: every item is a `T` (any
/// [`Pod`] type: numbers, arrays of them, `#[repr(C)]` structs that
/// derive `Pod`). Its length is set at creation.
///
/// Like [`SharedMemory`], it is anonymous ([`new`](ShareableList::new),
/// handed to children as an argument) or named
/// ([`create`](ShareableList::create) and [`open`](ShareableList::open),
/// with the same checks, errors and lifetime: the creator's last handle
/// removes the name).
///
/// **Unsynchronized, as in Python.** Each [`get`](ShareableList::get) and
/// [`set`](ShareableList::set) copies one item out or in; a process that
/// reads an item while another writes it may see a mix of old and new
/// bytes (still a valid `T`, since any bytes are). Guard the list with a
/// [`Lock`](crate::sync::Lock) when that matters, or use an
/// [`Array`](super::Array), which has one.
///
/// # Examples
///
/// ```
/// use multiproc::prelude::*;
/// use multiproc::shared::ShareableList;
///
/// #[process_fn]
/// fn double_all(name: String) -> multiproc::Result<()> {
///     let list = ShareableList::<i64>::open(&name)?;
///     for i in 0..list.len() {
///         list.set(i, list.get(i)? * 2)?;
///     }
///     Ok(())
/// }
///
/// # fn main() -> multiproc::Result<()> {
/// let name = format!("doc-list-{}", std::process::id());
/// let list = ShareableList::create(&name, &[1i64, 2, 3])?;
/// Process::builder().start(double_all, (name,))?.join()??;
/// assert_eq!(list.to_vec()?, [2, 4, 6]);
/// assert!(matches!(list.get(3), Err(multiproc::Error::IndexOutOfRange { index: 3, len: 3 })));
/// # Ok(())
/// # }
/// ```
pub struct ShareableList<T> {
    shm: SharedMemory,
    len: usize,
    _items: PhantomData<T>,
}

impl<T> Clone for ShareableList<T> {
    fn clone(&self) -> Self {
        ShareableList {
            shm: self.shm.clone(),
            len: self.len,
            _items: PhantomData,
        }
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for ShareableList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ShareableList");
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        match self.to_vec() {
            Ok(items) => d.field("items", &items),
            Err(e) => d.field("error", &format_args!("{e}")),
        };
        d.finish()
    }
}

/// The bytes a list of `len` items of `T` takes, header included.
fn block_size<T>(len: usize) -> Result<usize> {
    if size_of::<T>() == 0 {
        return Err(Error::Usage("a ShareableList needs items of at least one byte".into()));
    }
    len.checked_mul(size_of::<T>())
        .and_then(|n| n.checked_add(DATA))
        .ok_or_else(|| Error::Usage(format!("a ShareableList of {len} items does not fit in memory").into()))
}

impl<T: Pod> ShareableList<T> {
    /// An anonymous list holding a copy of `items` (see
    /// [`SharedMemory::new`]).
    ///
    /// # Errors
    /// [`Error::Usage`] for a zero-sized `T`; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// let list = multiproc::shared::ShareableList::new(&[1.5f64, 2.5]).unwrap();
    /// assert_eq!((list.len(), list.name()), (2, None));
    /// ```
    pub fn new(items: &[T]) -> Result<Self> {
        Self::fill(SharedMemory::new(block_size::<T>(items.len())?)?, items)
    }

    /// A list named `name` holding a copy of `items` (Python's
    /// `ShareableList(items, name=name)`): as
    /// [`SharedMemory::create`], whose rules for names it follows.
    ///
    /// # Errors
    /// [`Error::SharedMemoryExists`] when the name is taken;
    /// [`Error::Usage`] for a bad name or a zero-sized `T`; [`Error::Io`].
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::ShareableList;
    ///
    /// let name = format!("doc-list-create-{}", std::process::id());
    /// let list = ShareableList::create(&name, &[7u32; 4]).unwrap();
    /// assert_eq!(list.name(), Some(name.as_str()));
    /// assert!(ShareableList::create(&name, &[1u32]).is_err());
    /// ```
    pub fn create(name: &str, items: &[T]) -> Result<Self> {
        Self::fill(SharedMemory::create(name, block_size::<T>(items.len())?)?, items)
    }

    /// Attaches to the list named `name` (Python's `ShareableList(name=…)`),
    /// with the checks of [`SharedMemory::open`]; then the block must
    /// hold a list of items of `T`'s size. (Only the size can be checked:
    /// open it with the type it was created with.)
    ///
    /// # Errors
    /// As [`SharedMemory::open`], and [`Error::SharedMemoryRefused`] when
    /// the block is not a list of items of this size.
    ///
    /// # Examples
    ///
    /// ```
    /// use multiproc::shared::ShareableList;
    ///
    /// let name = format!("doc-list-open-{}", std::process::id());
    /// let list = ShareableList::create(&name, &[1u16, 2]).unwrap();
    /// let same = ShareableList::<u16>::open(&name).unwrap();
    /// same.set(1, 20).unwrap();
    /// assert_eq!(list.get(1).unwrap(), 20);
    /// assert!(ShareableList::<u64>::open(&name).is_err()); // another item size
    /// ```
    pub fn open(name: &str) -> Result<Self> {
        Self::attach(SharedMemory::open(name)?).map_err(|reason| Error::SharedMemoryRefused {
            name: name.to_string(),
            reason,
        })
    }

    fn fill(shm: SharedMemory, items: &[T]) -> Result<Self> {
        let mut header = [0u8; DATA];
        header[..8].copy_from_slice(&MAGIC);
        header[8..16].copy_from_slice(&(size_of::<T>() as u64).to_le_bytes());
        header[16..24].copy_from_slice(&(items.len() as u64).to_le_bytes());
        shm.write_at(0, &header)?;
        shm.write_at(DATA, bytemuck::cast_slice(items))?;
        Ok(ShareableList {
            shm,
            len: items.len(),
            _items: PhantomData,
        })
    }

    /// Checks the header of a block made elsewhere: bytes another process
    /// wrote, trusted for nothing.
    fn attach(shm: SharedMemory) -> std::result::Result<Self, String> {
        let mut header = [0u8; DATA];
        shm.read_at(0, &mut header)
            .map_err(|_| format!("its {} bytes are too few for a ShareableList", shm.size()))?;
        if header[..8] != MAGIC {
            return Err("it is not a ShareableList".into());
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let (item, len) = (word(8), word(16));
        if item != size_of::<T>() as u64 {
            return Err(format!(
                "its items are {item} bytes long, not {} as this type's",
                size_of::<T>()
            ));
        }
        let len = usize::try_from(len).map_err(|_| format!("its length {len} is impossible"))?;
        match block_size::<T>(len) {
            Ok(need) if need <= shm.size() => Ok(ShareableList {
                shm,
                len,
                _items: PhantomData,
            }),
            _ => Err(format!("its length {len} does not fit in its {} bytes", shm.size())),
        }
    }

    /// The number of items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::ShareableList::new(&[0u8; 3]).unwrap().len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(multiproc::shared::ShareableList::<u8>::new(&[]).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The name of a named list; `None` for an anonymous one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(multiproc::shared::ShareableList::new(&[1u8]).unwrap().name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.shm.name()
    }

    /// The block it lives in (Python's `.shm`): for its name,
    /// [`unlink`](SharedMemory::unlink), or the raw bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let list = multiproc::shared::ShareableList::new(&[1u32, 2]).unwrap();
    /// assert!(list.shm().size() >= 8);
    /// ```
    pub fn shm(&self) -> &SharedMemory {
        &self.shm
    }

    fn offset(&self, index: usize) -> Result<usize> {
        if index < self.len {
            Ok(DATA + index * size_of::<T>())
        } else {
            Err(Error::IndexOutOfRange { index, len: self.len })
        }
    }

    /// A copy of the item at `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`].
    ///
    /// # Examples
    ///
    /// ```
    /// let list = multiproc::shared::ShareableList::new(&[10i32, 20]).unwrap();
    /// assert_eq!(list.get(1).unwrap(), 20);
    /// assert!(list.get(2).is_err());
    /// ```
    pub fn get(&self, index: usize) -> Result<T> {
        let mut item = T::zeroed();
        self.shm
            .read_at(self.offset(index)?, bytemuck::bytes_of_mut(&mut item))?;
        Ok(item)
    }

    /// Writes `item` at `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`].
    ///
    /// # Examples
    ///
    /// ```
    /// let list = multiproc::shared::ShareableList::new(&[0u8; 2]).unwrap();
    /// list.set(0, 9).unwrap();
    /// assert_eq!(list.to_vec().unwrap(), [9, 0]);
    /// assert!(matches!(list.set(5, 1), Err(multiproc::Error::IndexOutOfRange { index: 5, len: 2 })));
    /// ```
    pub fn set(&self, index: usize, item: T) -> Result<()> {
        self.shm.write_at(self.offset(index)?, bytemuck::bytes_of(&item))
    }

    /// A copy of every item.
    ///
    /// # Errors
    /// [`Error::Io`] only if the block is smaller than the list (it is
    /// not, by construction).
    ///
    /// # Examples
    ///
    /// ```
    /// let list = multiproc::shared::ShareableList::new(&[1u64, 2, 3]).unwrap();
    /// assert_eq!(list.to_vec().unwrap(), [1, 2, 3]);
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let mut items = vec![T::zeroed(); self.len];
        self.shm.read_at(DATA, bytemuck::cast_slice_mut(&mut items))?;
        Ok(items)
    }
}

impl<T> Serialize for ShareableList<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de, T: Pod> Deserialize<'de> for ShareableList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        ShareableList::attach(SharedMemory::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
