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

/// A non-blocking `eventfd` (a counter other threads bump to wake a poller).
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain system call with integer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds one to an eventfd counter (ignoring a full counter: the poller is awake anyway).
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes the 8 bytes of `one`, which lives across the call.
    let _ = unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Reads (and so resets) an eventfd counter; nothing if it is zero.
pub(crate) fn eventfd_drain(fd: RawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads at most 8 bytes into `v`, which lives across the call.
    let _ = unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static STOP_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn on_stop_signal(sig: libc::c_int) {
    // Only async-signal-safe work: two atomic stores.
    STOP_SIGNAL.store(sig, std::sync::atomic::Ordering::Relaxed);
    STOP.store(true, std::sync::atomic::Ordering::Release);
}

/// Installs handlers for `SIGINT` and `SIGTERM` that set the returned flag (and nothing
/// else), so a foreground program can shut down in order. `SIGPIPE` is ignored (a status
/// client that goes away must not kill the bond).
pub fn install_stop_signals() -> io::Result<&'static std::sync::atomic::AtomicBool> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain data; zeroed is a valid empty value (no flags, empty
        // mask) that is then filled in.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
        sa.sa_flags = libc::SA_RESTART;
        // SAFETY: `sa.sa_mask` is a valid sigset_t owned by this frame.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: installs a handler that only stores to atomics (async-signal-safe).
        let rc = unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: setting SIGPIPE to SIG_IGN has no memory-safety preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    Ok(&STOP)
}

/// The signal that set the stop flag of [`install_stop_signals`], if one did.
pub fn stop_signal() -> Option<i32> {
    match STOP_SIGNAL.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        s => Some(s),
    }
}

/// The effective user id.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The soft and hard `RLIMIT_MEMLOCK` in bytes (`u64::MAX` for unlimited).
pub fn memlock_limit() -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid rlimit for the kernel to fill.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut r) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let conv = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            v
        }
    };
    Ok((conv(r.rlim_cur), conv(r.rlim_max)))
}

/// Raises the soft `RLIMIT_MEMLOCK` to `bytes` (at most the hard limit, unless the process
/// may raise that too).
pub fn raise_memlock_limit(bytes: u64) -> io::Result<()> {
    let (cur, max) = memlock_limit()?;
    if cur >= bytes {
        return Ok(());
    }
    let r = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: max.max(bytes) as libc::rlim_t,
    };
    // SAFETY: `r` is a valid rlimit read by the kernel.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &r) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The inode of the calling thread's network namespace (`/proc/thread-self/ns/net`): two
/// threads or processes are in the same namespace when they agree on it.
pub fn netns_inode() -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

/// The user id of the process at the other end of a Unix stream socket (`SO_PEERCRED`).
pub fn peer_uid(fd: RawFd) -> io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for the kernel to write; `len` is their size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred.uid)
}

/// Waits at most `timeout` for `fd` to become readable. Returns whether it is.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut p = [pollfd(fd, libc::POLLIN)];
    Ok(ppoll(&mut p, Some(timeout))? > 0 && p[0].revents != 0)
}
