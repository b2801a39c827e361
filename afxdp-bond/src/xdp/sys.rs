//! Small safe wrappers over the Linux system calls the I/O layer makes directly.
//!
//! Every `unsafe` block of the I/O layer that is not about rings or the UMEM lives here or in
//! the module that owns the kernel object (`bpf`, `tap`, [`super::ethtool`]).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::Error;

/// Interface names are at most 15 bytes plus the terminating NUL.
pub(crate) const IFNAMSIZ: usize = libc::IFNAMSIZ;

/// Copies `name` into a NUL-terminated `ifr_name` field, or fails if it does not fit.
pub(crate) fn ifname_bytes(name: &str) -> Result<[libc::c_char; IFNAMSIZ], Error> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
        return Err(Error::new(
            format!("invalid interface name {name:?} (1 to 15 bytes, no NUL)"),
            io::Error::from_raw_os_error(libc::EINVAL),
        ));
    }
    let mut out = [0 as libc::c_char; IFNAMSIZ];
    for (dst, src) in out.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok(out)
}

/// The interface index of `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> Result<u32, Error> {
    let c = CString::new(name).map_err(|_| {
        Error::new(
            format!("invalid interface name {name:?}"),
            io::Error::from_raw_os_error(libc::EINVAL),
        )
    })?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(Error::last(format!("interface {name}")));
    }
    Ok(index)
}

/// The name of the interface with index `index`, if it exists.
pub fn ifname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; IFNAMSIZ];
    // SAFETY: `buf` has the IFNAMSIZ bytes that `if_indextoname` may write.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    String::from_utf8(bytes).ok()
}

/// Opens a socket and wraps it in an [`OwnedFd`].
pub(crate) fn socket(domain: i32, ty: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain system call with integer arguments.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An `ioctl` whose argument is a pointer to `arg`.
pub(crate) fn ioctl_ptr<T>(fd: RawFd, request: libc::c_ulong, arg: &mut T) -> io::Result<()> {
    // SAFETY: every caller passes a request whose argument is a `T` (checked at each call site
    // by matching the kernel's struct layout); `arg` is a valid, exclusive pointer for the call.
    let rc = unsafe { libc::ioctl(fd, request as _, arg as *mut T) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling thread into the network namespace that `ns` (an open
/// `/var/run/netns/NAME` or `/proc/PID/ns/net`) refers to.
///
/// Used by `netlab` to run a closure inside a namespace on a dedicated thread.
pub fn setns_net(ns: &impl AsRawFd) -> io::Result<()> {
    // The thread must not share its filesystem attributes for setns(CLONE_NEWNET) to matter
    // to it alone: a network namespace is per thread, so no unshare is needed.
    // SAFETY: plain system call on a valid open file descriptor.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One `pollfd` entry.
pub type PollFd = libc::pollfd;

/// Builds a `pollfd` waiting for input on `fd`.
pub(crate) fn pollfd(fd: RawFd, events: i16) -> PollFd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Waits on `fds` for at most `timeout` (none: forever), with nanosecond resolution
/// (`ppoll`). Returns the number of ready entries; `EINTR` counts as zero ready.
pub(crate) fn ppoll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(t.subsec_nanos() as i32),
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `fds` is a valid mutable slice of pollfd for its length; `ts_ptr` is null or
    // points at a timespec that lives across the call; no signal mask is passed.
    let rc = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            ts_ptr,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(rc as usize)
}

/// Non-blocking `read` into `buf`; `Ok(None)` when nothing is there (`EAGAIN`).
pub(crate) fn read_nb(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is valid for writes of its length for the duration of the call.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(n as usize))
}

/// `write` of `buf`; `Ok(false)` when the fd would block.
pub(crate) fn write_nb(fd: RawFd, buf: &[u8]) -> io::Result<bool> {
    // SAFETY: `buf` is valid for reads of its length for the duration of the call.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(false),
            _ => Err(e),
        };
    }
    Ok(true)
}

/// Pins the calling thread to one CPU.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is its empty value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET writes one bit inside `set`; cpu is checked against the set size below.
    if cpu >= 8 * size_of::<libc::cpu_set_t>() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `cpu` is within the set (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends signal `sig` to process `pid` (used by `netlab` to stop daemons it started).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    if pid <= 0 {
        // 0 and negative pids address process groups: never what a caller of this means.
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: plain system call with integer arguments, on a single positive pid.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
