//! Values made without `unsafe` at their users: a string slot a forked
//! child can set lock-free, and the value of a zero-sized closure.

/// A string set at most a few times per process and read from anywhere,
/// without a lock (a forked child must be able to set it whatever the
/// parent's other threads held). Old values are leaked, by design: they are
/// process identities, a few bytes each.
#[derive(Debug)]
pub(crate) struct StrSlot(std::sync::atomic::AtomicPtr<String>);

impl StrSlot {
    pub(crate) const fn new() -> Self {
        StrSlot(std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()))
    }

    pub(crate) fn set(&self, value: String) {
        let leaked: &'static mut String = Box::leak(Box::new(value));
        self.0.store(leaked, std::sync::atomic::Ordering::Release);
    }

    pub(crate) fn get(&self) -> Option<&'static str> {
        let ptr = self.0.load(std::sync::atomic::Ordering::Acquire);
        // SAFETY: a non-null pointer here always comes from `Box::leak` in
        // `set` and is never freed, so it is valid for 'static.
        (!ptr.is_null()).then(|| unsafe { (*ptr).as_str() })
    }
}

/// The value of a zero-sized type, made from nothing: how a child calls a
/// non-capturing closure that `par_map!` registered by name (the closure's
/// type is known to the registry entry; its value carries no data).
/// A type with a size fails to compile.
pub(crate) fn conjure_zst<C: Copy>() -> C {
    const {
        assert!(
            std::mem::size_of::<C>() == 0,
            "only a closure that captures nothing can be lifted"
        )
    };
    // SAFETY: `C` has size zero (checked at compile time above), and a
    // zero-sized read from a dangling, aligned, non-null pointer is valid;
    // a capture-less closure has no invariant beyond its type.
    unsafe { std::ptr::NonNull::<C>::dangling().as_ptr().read() }
}
