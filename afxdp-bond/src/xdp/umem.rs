//! The UMEM area and the frame ownership model.
//!
//! One anonymous, page-aligned `mmap` is registered once with the kernel and shared by every
//! AF_XDP socket of a worker (`XDP_SHARED_UMEM`). It is cut into fixed-size frames (aligned
//! mode: a frame's base address is its offset rounded down to the frame size).
//!
//! Every frame is, at any time, owned by exactly one of:
//! - the kernel: on some socket's fill ring (waiting to receive), or on some socket's TX ring
//!   (waiting to be sent, until it shows up on that socket's completion ring);
//! - the worker's free pool (a stack of frame base addresses, allocated once at start-up);
//! - the program: a [`Frame`] handle, which is neither `Clone` nor `Copy`.
//!
//! Because the UMEM is shared, a frame received on member A may be put on member B's TX ring
//! as it is (no copy in user space); when B's completion ring returns it, it goes back to the
//! pool and from there onto whichever fill ring needs frames. Nothing is allocated per frame.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::Error;

/// A frame owned by the program: an offset in the worker's UMEM and a length.
///
/// It is given back by sending it ([`Datapath::send`](super::Datapath::send), to a member or
/// the host) or releasing it ([`Datapath::release`](super::Datapath::release)). A dropped
/// handle leaks its frame until the worker is dropped (counted nowhere: do not drop them).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a Frame must be sent or released, or its UMEM frame is lost"]
pub struct Frame {
    pub(crate) addr: u64,
    pub(crate) len: u32,
    pub(crate) umem: u32,
}

impl Frame {
    /// Length of the Ethernet frame in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The frame's offset in the UMEM (what the rings carry).
    pub fn addr(&self) -> u64 {
        self.addr
    }
}

static NEXT_UMEM_ID: AtomicU32 = AtomicU32::new(1);

/// The memory of one UMEM: an anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Area {
    ptr: NonNull<u8>,
    len: usize,
    frame_size: u32,
    id: u32,
}

// SAFETY: the area is plain memory owned by this value; moving the owner to another thread
// moves the only user-space access path with it (all access goes through `&self`/`&mut self`
// methods of the worker that owns it).
unsafe impl Send for Area {}

impl Area {
    /// Maps `frames` frames of `frame_size` bytes (a power of two from 2048 to the page size).
    pub(crate) fn new(frames: u32, frame_size: u32) -> Result<Self, Error> {
        if !frame_size.is_power_of_two() || !(2048..=4096).contains(&frame_size) {
            return Err(Error::new(
                format!("UMEM frame size {frame_size}: must be 2048 or 4096"),
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        let len = frames as usize * frame_size as usize;
        if len == 0 {
            return Err(Error::new(
                "UMEM with no frames",
                io::Error::from_raw_os_error(libc::EINVAL),
            ));
        }
        // Transparent huge pages: every frame touched in user space (a hash reads its
        // headers) is on a different 4 KiB page, so with small pages every frame costs a
        // TLB miss (a two-level page walk under a hypervisor). The area is aligned to 2 MiB
        // and advised MADV_HUGEPAGE (honoured when THP is `always` or `madvise`), then
        // populated.
        const HUGE: usize = 2 << 20;
        let map_len = len + HUGE;
        // SAFETY: anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last(format!("mmap of a {len}-byte UMEM")));
        }
        let start = p as usize;
        let aligned = (start + HUGE - 1) & !(HUGE - 1);
        let head = aligned - start;
        let tail = map_len - head - len;
        // SAFETY: both ranges lie inside the mapping just made and are not used; what stays
        // mapped is exactly [aligned, aligned + len).
        unsafe {
            if head > 0 {
                libc::munmap(p, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
        }
        let p = aligned as *mut libc::c_void;
        // SAFETY: advice on the mapping owned here; failure only means no huge pages.
        unsafe {
            libc::madvise(p, len, libc::MADV_HUGEPAGE);
        }
        // Populate now (as MAP_POPULATE would), so the datapath never page-faults.
        // SAFETY: as above; MADV_POPULATE_WRITE (Linux 5.14) faults the pages in writable.
        let populated = unsafe {
            libc::madvise(p, len, 23 /* MADV_POPULATE_WRITE */)
        } == 0;
        if !populated {
            for off in (0..len).step_by(4096) {
                // SAFETY: inside the mapping, which nothing else uses yet.
                unsafe { std::ptr::write_volatile(p.cast::<u8>().add(off), 0) };
            }
        }
        let ptr = NonNull::new(p.cast::<u8>()).ok_or_else(|| {
            Error::new(
                "mmap returned NULL",
                io::Error::from_raw_os_error(libc::ENOMEM),
            )
        })?;
        Ok(Self {
            ptr,
            len,
            frame_size,
            id: NEXT_UMEM_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub(crate) fn as_slice_ptr(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.ptr, self.len)
    }

    pub(crate) fn frame_size(&self) -> u32 {
        self.frame_size
    }

    pub(crate) fn frame_count(&self) -> u32 {
        (self.len / self.frame_size as usize) as u32
    }

    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Base address (UMEM offset) of the frame that `addr` points into.
    pub(crate) fn base(&self, addr: u64) -> u64 {
        addr & !u64::from(self.frame_size - 1)
    }

    /// Whether `[addr, addr + len)` lies inside one frame of the area.
    pub(crate) fn valid(&self, addr: u64, len: u32) -> bool {
        let base = self.base(addr);
        let end = addr.saturating_add(u64::from(len));
        end <= base + u64::from(self.frame_size) && end <= self.len as u64
    }

    /// Bytes `[addr, addr + len)` of the area.
    ///
    /// # Safety
    /// The range must be valid (see [`Self::valid`]) and the frame owned by the caller (a
    /// [`Frame`] handle, or a descriptor just taken off an RX ring): no other reference to
    /// those bytes may exist while the returned one lives, and the kernel does not write
    /// frames that user space owns.
    pub(crate) unsafe fn bytes_mut<'a>(&self, addr: u64, len: u32) -> &'a mut [u8] {
        debug_assert!(self.valid(addr, len));
        // SAFETY: in bounds of the mapping (caller), exclusively owned (caller).
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(addr as usize), len as usize)
        }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `new`, unmapped once. Sockets
        // that still exist hold their own kernel references to the pages.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The free frames of a worker: a stack of base addresses, sized once.
#[derive(Debug)]
pub(crate) struct FramePool {
    free: Vec<u64>,
}

impl FramePool {
    pub(crate) fn new(area: &Area) -> Self {
        let n = area.frame_count();
        let fs = u64::from(area.frame_size());
        // Pushed in reverse so the first frames handed out are the lowest addresses.
        let free = (0..u64::from(n)).rev().map(|i| i * fs).collect();
        Self { free }
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<u64> {
        self.free.pop()
    }

    #[inline]
    pub(crate) fn push(&mut self, base: u64) {
        // Never grows past its initial capacity: each frame is in the pool at most once.
        debug_assert!(self.free.len() < self.free.capacity() || self.free.capacity() == 0);
        self.free.push(base);
    }

    pub(crate) fn len(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_bounds() {
        let area = Area::new(8, 2048).unwrap();
        let mut pool = FramePool::new(&area);
        assert_eq!(pool.len(), 8);
        assert_eq!(pool.pop(), Some(0));
        assert_eq!(pool.pop(), Some(2048));
        pool.push(2048);
        assert_eq!(pool.len(), 7);
        assert_eq!(area.base(2048 + 100), 2048);
        assert!(area.valid(2048 + 100, 1948));
        assert!(!area.valid(2048 + 100, 1949));
        assert!(!area.valid(8 * 2048, 1));
        assert!(Area::new(8, 3000).is_err());
    }
}
