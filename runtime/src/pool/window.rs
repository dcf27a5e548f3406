//! The bookkeeping of a lazy `imap`, shared by the process pool and its
//! thread twin: which chunks are out, which came back early, and whose
//! turn it is to be handed out.

use std::collections::BTreeMap;

/// The chunks of one lazy map between being sent and being handed out.
#[derive(Debug)]
pub(crate) struct Window<C> {
    /// Most chunks sent and not yet handed out.
    limit: usize,
    ordered: bool,
    next_chunk: usize,
    in_flight: usize,
    next_to_yield: usize,
    /// Chunks that came back before their turn (ordered maps only).
    arrived: BTreeMap<usize, C>,
}

impl<C> Window<C> {
    pub(crate) fn new(limit: usize, ordered: bool) -> Self {
        Window {
            limit,
            ordered,
            next_chunk: 0,
            in_flight: 0,
            next_to_yield: 0,
            arrived: BTreeMap::new(),
        }
    }

    /// Lets every chunk be sent at once.
    pub(crate) fn unbounded(&mut self) {
        self.limit = usize::MAX;
    }

    /// Lets at most `chunks` be sent and not yet handed out.
    pub(crate) fn bound(&mut self, chunks: usize) {
        self.limit = chunks.max(1);
    }

    /// Whether another chunk may be sent: the chunks in flight and those
    /// arrived but not yet handed out both count, so memory stays bounded
    /// however the results are ordered.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight + self.arrived.len() < self.limit
    }

    /// The index the next chunk sent gets.
    pub(crate) fn next_index(&self) -> usize {
        self.next_chunk
    }

    /// That chunk was sent.
    pub(crate) fn sent(&mut self) {
        self.next_chunk += 1;
        self.in_flight += 1;
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub(crate) fn ordered(&self) -> bool {
        self.ordered
    }

    /// Chunk `index` came back: handed out at once by an unordered map,
    /// kept until its turn by an ordered one.
    pub(crate) fn arrive(&mut self, index: usize, chunk: C) -> Option<(usize, C)> {
        self.in_flight -= 1;
        if self.ordered {
            self.arrived.insert(index, chunk);
            None
        } else {
            Some((index, chunk))
        }
    }

    /// The chunk whose turn it is, if it has come back (ordered maps).
    pub(crate) fn take_turn(&mut self) -> Option<(usize, C)> {
        let chunk = self.arrived.remove(&self.next_to_yield)?;
        self.next_to_yield += 1;
        Some((self.next_to_yield - 1, chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn an_ordered_window_hands_chunks_out_in_turn_and_counts_early_ones() {
        let mut w = Window::new(2, true);
        for _ in 0..2 {
            assert!(w.has_room());
            w.sent();
        }
        assert!(!w.has_room());
        assert_eq!(w.arrive(1, "b"), None);
        assert!(w.take_turn().is_none());
        // Chunk 1 came back early: it still holds its place in the window.
        assert!(!w.has_room());
        assert_eq!(w.arrive(0, "a"), None);
        assert_eq!(w.take_turn(), Some((0, "a")));
        assert_eq!(w.take_turn(), Some((1, "b")));
        assert_eq!((w.in_flight(), w.next_index()), (0, 2));
        assert!(w.has_room());
    }

    #[test]
    fn an_unordered_window_hands_chunks_out_as_they_come() {
        let mut w = Window::new(1, false);
        w.sent();
        assert_eq!(w.arrive(0, 7), Some((0, 7)));
        assert!(w.take_turn().is_none());
        assert!(w.has_room());
    }
}
