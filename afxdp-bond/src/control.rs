//! The control socket of a running bond: `afxdp-bond status` asks a running `afxdp-bond run`
//! for its state through it.
//!
//! A Unix stream socket at `/run/afxdp-bond/NAME.sock` (`NAME` is the bond's `--name`),
//! created with mode 0600 inside a directory of mode 0700, both owned by the bond's user
//! (root): no other user can even reach it. The server also checks the peer's credentials
//! (`SO_PEERCRED`) and answers only root or its own user. The directory can be moved with
//! the environment variable `AFXDP_BOND_RUN_DIR` (the tests do).
//!
//! The protocol is one request line, one answer, then the server closes the connection:
//!
//! | request | answer |
//! |---|---|
//! | `status` | the `/proc/net/bonding/NAME` text |
//! | `status-json` | the JSON form |
//! | `info` | JSON: the bond's name, pid, network namespace inode and members |
//!
//! An answer that starts with `error: ` is an error message.
//!
//! The socket file is removed when the server is dropped. A socket file left by a killed
//! bond (nobody accepts on it) is replaced by the next bond of that name; a bond of the
//! same name that still answers makes [`ControlServer::bind`] fail.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::xdp::sys;

/// The default directory of the control sockets.
pub const DEFAULT_RUN_DIR: &str = "/run/afxdp-bond";

/// The longest request line the server reads.
const MAX_REQUEST: usize = 256;

/// The directory of the control sockets: `$AFXDP_BOND_RUN_DIR`, else `/run/afxdp-bond`.
pub fn run_dir() -> PathBuf {
    match std::env::var_os("AFXDP_BOND_RUN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_RUN_DIR),
    }
}

/// Checks that `name` can name a bond (and so a socket file): what Linux accepts as an
/// interface name (1 to 15 bytes, no `/`, no blank, not `.` or `..`).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid bond name {name:?}: 1 to 15 printable characters, no '/', ':' or blank"
        ))
    }
}

/// The socket path of bond `name`.
pub fn socket_path(name: &str) -> PathBuf {
    run_dir().join(format!("{name}.sock"))
}

/// Creates the run directory (mode 0700) if needed, and makes sure an existing one is a
/// directory owned by this user with no access for others.
fn prepare_dir(dir: &Path) -> io::Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) => {
            if !m.is_dir() {
                return Err(io::Error::other(format!(
                    "{} exists and is not a directory",
                    dir.display()
                )));
            }
            if m.uid() != sys::geteuid() {
                return Err(io::Error::other(format!(
                    "{} is owned by uid {}, not by this user (uid {})",
                    dir.display(),
                    m.uid(),
                    sys::geteuid()
                )));
            }
            if m.mode() & 0o077 != 0 {
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700))),
        Err(e) => Err(e),
    }
}

/// Why [`ControlServer::bind`] failed.
#[derive(Debug)]
pub enum BindError {
    /// A bond of this name is running (its socket answers).
    AlreadyRunning(PathBuf),
    /// Any other failure.
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AlreadyRunning(p) => write!(
                f,
                "a bond of this name is already running (its control socket {} answers)",
                p.display()
            ),
            Self::Io(p, e) => write!(f, "control socket {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for BindError {}

/// The listening control socket of one bond; the socket file is removed on drop.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Creates `RUN_DIR/NAME.sock` (see the module docs).
    pub fn bind(name: &str) -> Result<Self, BindError> {
        let path = socket_path(name);
        let io_err = |e| BindError::Io(path.clone(), e);
        check_name(name).map_err(|m| io_err(io::Error::other(m)))?;
        prepare_dir(&run_dir()).map_err(io_err)?;
        if fs::symlink_metadata(&path).is_ok() {
            if UnixStream::connect(&path).is_ok() {
                return Err(BindError::AlreadyRunning(path));
            }
            // Left by a bond that died without cleaning up: nobody listens.
            fs::remove_file(&path).map_err(io_err)?;
        }
        let listener = UnixListener::bind(&path).map_err(io_err)?;
        let server = Self { listener, path };
        fs::set_permissions(&server.path, fs::Permissions::from_mode(0o600))
            .map_err(|e| BindError::Io(server.path.clone(), e))?;
        server
            .listener
            .set_nonblocking(true)
            .map_err(|e| BindError::Io(server.path.clone(), e))?;
        Ok(server)
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests on a thread of its own until `stop` is set (checked every 200 ms):
    /// `handler` gets the request line and returns the answer. The socket file goes away
    /// when the thread ends.
    pub fn spawn<F>(self, stop: Arc<AtomicBool>, handler: F) -> io::Result<JoinHandle<()>>
    where
        F: Fn(&str) -> String + Send + 'static,
    {
        std::thread::Builder::new()
            .name("afxdp-bond-ctl".into())
            .spawn(move || self.serve(&stop, &handler))
    }

    /// Answers requests on the calling thread until `stop` is set.
    pub fn serve(&self, stop: &AtomicBool, handler: &dyn Fn(&str) -> String) {
        while !stop.load(Ordering::Relaxed) {
            match sys::wait_readable(self.listener.as_raw_fd(), Duration::from_millis(200)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    log::warn!("control socket: poll: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            }
            match self.listener.accept() {
                Ok((conn, _)) => {
                    if let Err(e) = answer(conn, handler) {
                        log::debug!("control socket: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => log::warn!("control socket: accept: {e}"),
            }
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn answer(mut conn: UnixStream, handler: &dyn Fn(&str) -> String) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let uid = sys::peer_uid(conn.as_raw_fd())?;
    if uid != 0 && uid != sys::geteuid() {
        conn.write_all(b"error: permission denied\n")?;
        return Ok(());
    }
    let mut req = Vec::with_capacity(64);
    let mut byte = [0u8; 1];
    while req.len() < MAX_REQUEST {
        match conn.read(&mut byte)? {
            0 => break,
            _ if byte[0] == b'\n' => break,
            _ => req.push(byte[0]),
        }
    }
    let req = String::from_utf8_lossy(&req);
    let reply = handler(req.trim());
    conn.write_all(reply.as_bytes())?;
    if !reply.ends_with('\n') {
        conn.write_all(b"\n")?;
    }
    Ok(())
}

/// Sends `request` to the bond called `name` and returns its answer. An `error: ...` answer
/// becomes an `Err` with that message.
pub fn request(name: &str, request: &str) -> io::Result<String> {
    request_at(&run_dir(), name, request)
}

/// [`request`] to a bond whose control socket is in `dir`.
pub fn request_at(dir: &Path, name: &str, request: &str) -> io::Result<String> {
    check_name(name).map_err(io::Error::other)?;
    let path = dir.join(format!("{name}.sock"));
    let mut conn = UnixStream::connect(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => io::Error::new(
            e.kind(),
            format!(
                "no bond named {name} is running (no control socket answers at {})",
                path.display()
            ),
        ),
        io::ErrorKind::PermissionDenied => io::Error::new(
            e.kind(),
            format!(
                "{}: permission denied (the control socket is for root only)",
                path.display()
            ),
        ),
        _ => io::Error::new(e.kind(), format!("{}: {e}", path.display())),
    })?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(request.as_bytes())?;
    conn.write_all(b"\n")?;
    conn.shutdown(std::net::Shutdown::Write)?;
    let mut out = String::new();
    conn.read_to_string(&mut out)?;
    if let Some(msg) = out.strip_prefix("error: ") {
        return Err(io::Error::other(msg.trim_end().to_string()));
    }
    Ok(out)
}

/// The names of the bonds whose control sockets are in the run directory (running or
/// stale).
pub fn list() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(run_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".sock"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("bond0").is_ok());
        assert!(check_name("ab12b0").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "a:b", "abcdefghijklmnop"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
