//! [`Slot`]: a same-host connection's shared page.

use std::os::fd::BorrowedFd;

use std::sync::atomic::{AtomicU32, Ordering};

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sys;

use super::*;

/// A same-host connection's shared page: requests and replies travel
/// through it instead of the socket, with no system call while both sides
/// are awake (a socket round trip was about 7.5 µs of writes, polls and
/// reads). The socket stays: for liveness (a dead peer's socket hangs up),
/// and for a message larger than the page, whose place the page marks.
///
/// Layout: the request count, the reply count, the message length (or
/// [`SLOT_ON_SOCKET`]), whether the server sleeps, whether the client
/// sleeps; the message from byte 64. Strict turns: the client writes only
/// after a reply, the server only after a request, and each reads the
/// other's bytes only after the count's release. A hostile peer can make
/// only a decode error: the bytes are read volatile, the length checked.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(super) region: sys::SharedRegion,
    /// The last request count the server took.
    pub(super) seen: u32,
}

pub(super) const SLOT_BYTES: usize = 4096;
pub(super) const SLOT_DATA: usize = 64;
pub(super) const SLOT_REQ: usize = 0;
pub(super) const SLOT_REP: usize = 4;
pub(super) const SLOT_LEN: usize = 8;
pub(super) const SLOT_SERVER_SLEEPS: usize = 12;
pub(super) const SLOT_CLIENT_SLEEPS: usize = 16;
/// The length that says "the message is on the socket".
pub(super) const SLOT_ON_SOCKET: u32 = u32::MAX;

impl Slot {
    pub(super) fn word(&self, offset: usize) -> &AtomicU32 {
        self.region
            .atomic_u32(offset)
            .unwrap_or_else(|| unreachable!("the page holds its words"))
    }

    /// Puts `bytes` in the page; a message too large for it is marked
    /// there (`true`: send it on the socket — after the count is
    /// announced, since the peer reads the socket only then).
    pub(super) fn write(&self, bytes: &[u8]) -> Result<bool> {
        if bytes.len() <= SLOT_BYTES - SLOT_DATA {
            self.region
                .write_at(SLOT_DATA, bytes)
                .map_err(Error::io("writing a manager message"))?;
            self.word(SLOT_LEN).store(bytes.len() as u32, Ordering::Relaxed);
            return Ok(false);
        }
        self.word(SLOT_LEN).store(SLOT_ON_SOCKET, Ordering::Relaxed);
        Ok(true)
    }

    /// Bumps the count at `count` and wakes the peer if it sleeps there.
    pub(super) fn announce(&self, count: usize, sleeps: usize) {
        // SeqCst here and in `await_count`'s flag store and count load: a
        // bump must see a sleeper's flag, or the sleeper must see the bump.
        let word = self.word(count);
        word.fetch_add(1, Ordering::SeqCst);
        if self.word(sleeps).load(Ordering::SeqCst) != 0 {
            sys::futex_wake(word, 1);
        }
    }

    /// Waits until the count at `count` moves past `seen` (spinning for
    /// `spin` first); `Err` when the peer's socket hangs up meanwhile.
    pub(super) fn await_count(
        &self,
        sock: BorrowedFd<'_>,
        count: usize,
        sleeps: usize,
        seen: u32,
        spin: Duration,
    ) -> Result<u32> {
        let word = self.word(count);
        let spin_until = Instant::now() + spin;
        loop {
            let now = word.load(Ordering::Acquire);
            if now != seen {
                return Ok(now);
            }
            if Instant::now() >= spin_until {
                break;
            }
            std::hint::spin_loop();
        }
        let flag = self.word(sleeps);
        flag.store(1, Ordering::SeqCst);
        let mut nap = Duration::from_millis(20);
        let result = loop {
            let now = word.load(Ordering::SeqCst);
            if now != seen {
                break Ok(now);
            }
            sys::futex_wait(word, seen, Some(Instant::now() + nap));
            if word.load(Ordering::Acquire) == seen {
                // A dead peer never counts: its socket says so.
                let hung = sys::poll(&[(sock, sys::POLLIN)], Some(Instant::now()))
                    .map(|r| r[0] & libc::POLLHUP != 0)
                    .unwrap_or(true);
                if hung {
                    break Err(Error::Disconnected { partial: false });
                }
                nap = (nap * 2).min(Duration::from_millis(500));
            }
        };
        flag.store(0, Ordering::Relaxed);
        result
    }

    /// Reads the message the peer just announced.
    pub(super) fn read(&self, stream: &mut Stream) -> Result<Vec<u8>> {
        let len = self.word(SLOT_LEN).load(Ordering::Relaxed);
        if len == SLOT_ON_SOCKET {
            return stream.recv_raw();
        }
        let len = len as usize;
        if len > SLOT_BYTES - SLOT_DATA {
            return Err(Error::Codec(format!(
                "a manager message of {len} bytes in a {SLOT_BYTES}-byte page"
            )));
        }
        let mut bytes = vec![0u8; len];
        self.region
            .read_at(SLOT_DATA, &mut bytes)
            .map_err(Error::io("reading a manager message"))?;
        Ok(bytes)
    }
}
