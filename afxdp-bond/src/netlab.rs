//! A network lab on one machine, for `afxdp-bond lab`, the integration tests and the
//! benchmarks: network namespaces, veth pairs with both ends inside them, addresses from
//! 198.18.0.0/15 only, Linux bridges, `tc` mirred redirects, a private Open vSwitch per
//! namespace, commands and closures run inside a namespace.
//!
//! Safety rules it enforces: every object it creates has a name unique to the process (a
//! prefix, the process id in hex, a kind letter and a counter, at most 15 characters); a
//! veth is created with both ends already inside namespaces, so nothing ever touches the
//! machine's own interfaces; every IPv4 address is asserted to be in 198.18.0.0/15; no route
//! is added; every external command runs with a time limit; every object is removed by a
//! `Drop` guard, also when a test fails or panics; [`remove_stale`] removes what a killed
//! earlier run left behind (objects whose embedded process id no longer runs).

#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::xdp::sys;

/// The prefix of every name this module makes.
pub const PREFIX: &str = "ab";

/// Default time limit of one external command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process: `ab` + pid in hex + `kind` + counter (at most 15 chars,
/// so it also serves as an interface name).
pub fn unique_name(kind: char) -> String {
    assert!(
        kind.is_ascii_lowercase() && !kind.is_ascii_hexdigit(),
        "name kind {kind:?} must be a lowercase letter after f"
    );
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("{PREFIX}{:x}{kind}{n}", std::process::id());
    assert!(
        name.len() <= 15,
        "generated name {name} is longer than 15 characters"
    );
    name
}

/// The process id embedded in a name made by [`unique_name`], if it is one.
fn name_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    // The kind letter is never a hex digit (asserted by `unique_name`).
    u32::from_str_radix(&hex, 16).ok()
}

fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Panics unless `cidr` (`A.B.C.D/len`) lies inside 198.18.0.0/15, the benchmarking range.
pub fn assert_lab_address(cidr: &str) {
    let (addr, len) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let ip: Ipv4Addr = addr
        .parse()
        .unwrap_or_else(|_| panic!("lab address {cidr:?} is not IPv4 (198.18.0.0/15 only)"));
    let len: u8 = len
        .parse()
        .unwrap_or_else(|_| panic!("lab address {cidr:?}: bad prefix length"));
    assert!(
        u32::from(ip) & 0xfffe_0000 == 0xc612_0000 && (15..=32).contains(&len),
        "lab address {cidr} is outside 198.18.0.0/15"
    );
}

/// Runs `cmd` with a time limit; kills it if the limit passes. Output is captured.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain the pipes on threads so a chatty command cannot block on a full pipe.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = io::Read::read_to_end(p, &mut v);
        }
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = io::Read::read_to_end(p, &mut v);
        }
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{cmd:?} did not finish within {timeout:?}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// The number of replies in `ping -q` output (`N packets transmitted, M received, ...`);
/// 0 when the line is missing.
pub fn ping_received(output: &str) -> u32 {
    output
        .split(',')
        .find_map(|p| {
            p.trim()
                .strip_suffix(" received")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs a command to completion (30 s limit) and fails unless it exits with status 0.
/// Returns its standard output.
pub fn run_ok<S: AsRef<OsStr>>(program: &str, args: &[S]) -> io::Result<String> {
    let out = run_with_timeout(Command::new(program).args(args), COMMAND_TIMEOUT)?;
    check(program, args, out)
}

fn check<S: AsRef<OsStr>>(program: &str, args: &[S], out: Output) -> io::Result<String> {
    if !out.status.success() {
        let argv: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        return Err(io::Error::other(format!(
            "`{program} {}` failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes what an earlier, killed run of a process with this module left: namespaces
/// named `ab<pid>...` whose process no longer exists (their veths, bridges and TAPs go with
/// them), and their daemon state directories.
pub fn remove_stale() {
    if let Ok(list) = run_ok("ip", &["netns", "list"]) {
        for line in list.lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            if let Some(pid) = name_pid(name) {
                if !is_alive(pid) {
                    kill_netns_pids(name);
                    let _ = run_ok("ip", &["netns", "del", name]);
                }
            }
        }
    }
    if let Ok(dir) = fs::read_dir(std::env::temp_dir()) {
        for e in dir.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("afxdp-bond-").and_then(name_pid) {
                if !is_alive(pid) {
                    kill_pidfiles(&e.path());
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
}

fn kill_netns_pids(ns: &str) {
    if let Ok(pids) = run_ok("ip", &["netns", "pids", ns]) {
        for p in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let _ = sys::kill(p, libc::SIGKILL);
        }
    }
}

/// A network namespace, deleted (after killing every process left inside) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace with a unique name, loopback up.
    pub fn new() -> io::Result<Self> {
        let name = unique_name('n');
        if Path::new("/run/netns").join(&name).exists() {
            // A leftover of our own name (a reused pid): remove it.
            kill_netns_pids(&name);
            let _ = run_ok("ip", &["netns", "del", &name]);
        }
        run_ok("ip", &["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace name (as `ip netns` knows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip netns exec NS program args...` with a time limit; the raw output.
    pub fn exec_timeout<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        timeout: Duration,
    ) -> io::Result<Output> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]).args(args);
        run_with_timeout(&mut cmd, timeout)
    }

    /// Runs `program args...` inside the namespace (30 s limit), requiring success; returns
    /// standard output.
    pub fn run<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> io::Result<String> {
        let out = self.exec_timeout(program, args, COMMAND_TIMEOUT)?;
        check(program, args, out)
    }

    /// `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ok("ip", &full)
    }

    /// Starts `program args...` inside the namespace in the background; the process is
    /// killed when the guard drops.
    pub fn spawn<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> io::Result<ChildGuard> {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(ChildGuard(Some(child)))
    }

    /// Runs `f` on a dedicated thread that has entered the namespace, and returns its
    /// result (a panic in `f` is resumed here). Sockets, netlink and AF_XDP objects `f`
    /// creates belong to the namespace, and so do threads it spawns.
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> io::Result<R> {
        let file = fs::File::open(Path::new("/run/netns").join(&self.name))?;
        std::thread::scope(|s| {
            let h = s.spawn(move || -> io::Result<R> {
                sys::setns_net(&file)?;
                Ok(f())
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Adds `cidr` (asserted inside 198.18.0.0/15) to `ifname`.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        assert_lab_address(cidr);
        self.ip(&["addr", "add", cidr, "dev", ifname]).map(drop)
    }

    /// Sets `ifname` up or down.
    pub fn set_up(&self, ifname: &str, up: bool) -> io::Result<()> {
        self.ip(&["link", "set", ifname, if up { "up" } else { "down" }])
            .map(drop)
    }

    /// Sets a sysctl inside the namespace (`net.*` keys are per namespace), by writing
    /// `/proc/sys/...` from a process inside it (no dependency on the `sysctl` binary).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        assert!(
            key.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "sysctl key {key:?}"
        );
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b' '),
            "sysctl value {value:?}"
        );
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run("sh", &["-c", &format!("echo '{value}' > {path}")])
            .map(drop)
    }

    /// Creates a Linux bridge (a learning switch) with a unique name, up, enslaving `ports`.
    /// Returns its name. It goes away with the namespace.
    pub fn add_bridge(&self, ports: &[&str]) -> io::Result<String> {
        let br = unique_name('s');
        self.ip(&["link", "add", &br, "type", "bridge"])?;
        for p in ports {
            self.ip(&["link", "set", p, "master", &br])?;
            self.set_up(p, true)?;
        }
        self.set_up(&br, true)?;
        Ok(br)
    }

    /// Redirects every frame arriving on `from` to the egress of `to` (tc ingress qdisc,
    /// u32 match-all, mirred redirect): a wire that also carries the link-local frames a
    /// bridge would swallow (LACP).
    pub fn mirred_redirect(&self, from: &str, to: &str) -> io::Result<()> {
        let _ = self.run(
            "tc",
            &["qdisc", "add", "dev", from, "handle", "ffff:", "ingress"],
        );
        self.run(
            "tc",
            &[
                "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", to,
            ],
        )
        .map(drop)
    }

    /// Creates a veth pair between `self` and `other` (both ends created directly inside the
    /// namespaces: neither ever exists in the caller's namespace), with unique names, both
    /// up. Returns (name here, name there).
    pub fn veth_to(&self, other: &Self) -> io::Result<(String, String)> {
        self.veth_to_queues(other, 1)
    }

    /// Like [`veth_to`](Self::veth_to), with `queues` RX and TX queues on each end.
    pub fn veth_to_queues(&self, other: &Self, queues: u32) -> io::Result<(String, String)> {
        let q = queues.max(1).to_string();
        let end = ["numtxqueues", q.as_str(), "numrxqueues", q.as_str()];
        self.veth_with(other, &end, &end)
    }

    /// Like [`veth_to`](Self::veth_to), with chosen interface indexes: `ours` here, `theirs`
    /// in `other` (the kernel's link-watch treats a carrier change as urgent only when the
    /// two ends' indexes differ).
    pub fn veth_to_indexed(
        &self,
        other: &Self,
        ours: u32,
        theirs: u32,
    ) -> io::Result<(String, String)> {
        let (a, b) = (ours.to_string(), theirs.to_string());
        self.veth_with(other, &["index", &a], &["index", &b])
    }

    /// A veth pair from this namespace to `other`, each end with its own extra `ip link`
    /// attributes; both ends up. Returns (our end, their end).
    fn veth_with(
        &self,
        other: &Self,
        ours: &[&str],
        theirs: &[&str],
    ) -> io::Result<(String, String)> {
        let a = unique_name('v');
        let b = unique_name('v');
        let mut args = vec!["link", "add", a.as_str(), "netns", self.name.as_str()];
        args.extend_from_slice(ours);
        args.extend_from_slice(&["type", "veth", "peer", "name", &b, "netns", &other.name]);
        args.extend_from_slice(theirs);
        run_ok("ip", &args)?;
        self.set_up(&a, true)?;
        other.set_up(&b, true)?;
        Ok((a, b))
    }

    /// A veth pair with both ends inside this namespace. Returns both names.
    pub fn veth_pair(&self) -> io::Result<(String, String)> {
        let a = unique_name('v');
        let b = unique_name('v');
        self.ip(&["link", "add", &a, "type", "veth", "peer", "name", &b])?;
        self.set_up(&a, true)?;
        self.set_up(&b, true)?;
        Ok((a, b))
    }

    /// The output of `ip -d link show IFNAME` inside the namespace.
    pub fn link_details(&self, ifname: &str) -> io::Result<String> {
        self.ip(&["-d", "link", "show", ifname])
    }

    /// MAC address of `ifname`.
    pub fn mac(&self, ifname: &str) -> io::Result<[u8; 6]> {
        let out = self.ip(&["link", "show", ifname])?;
        let text = out
            .split("link/ether ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .ok_or_else(|| io::Error::other(format!("no MAC for {ifname} in {out:?}")))?;
        let mut mac = [0u8; 6];
        let parts: Vec<&str> = text.split(':').collect();
        if parts.len() != 6 {
            return Err(io::Error::other(format!("bad MAC {text}")));
        }
        for (m, p) in mac.iter_mut().zip(parts) {
            *m = u8::from_str_radix(p, 16).map_err(io::Error::other)?;
        }
        Ok(mac)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_netns_pids(&self.name);
        if let Err(e) = run_ok("ip", &["netns", "del", &self.name]) {
            eprintln!("netlab: could not delete namespace {}: {e}", self.name);
        }
    }
}

/// A background process, killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Wraps a child process.
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }

    /// Waits at most `timeout` for the process to exit by itself, then kills it. Returns
    /// its output and whether it exited in time.
    pub fn wait_timeout(mut self, timeout: Duration) -> io::Result<(Output, bool)> {
        let mut child = self.0.take().ok_or_else(|| io::Error::other("no child"))?;
        let deadline = Instant::now() + timeout;
        let mut in_time = true;
        loop {
            if child.try_wait()?.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                in_time = false;
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok((child.wait_with_output()?, in_time))
    }

    /// Whether the process has exited (it is reaped then).
    pub fn try_wait_exited(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// Sends `sig` to the process.
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        sys::kill(self.id() as i32, sig)
    }

    /// Kills the process (SIGKILL), waits for it and returns its output.
    pub fn kill(mut self) -> io::Result<Output> {
        let mut child = self.0.take().ok_or_else(|| io::Error::other("no child"))?;
        let _ = child.kill();
        child.wait_with_output()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A private directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
}

impl StateDir {
    /// Creates `$TMPDIR/afxdp-bond-<unique>`.
    pub fn new() -> io::Result<Self> {
        let path = std::env::temp_dir().join(format!("afxdp-bond-{}", unique_name('r')));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir(&path)?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn kill_pidfiles(dir: &Path) {
    for f in ["ovs-vswitchd.pid", "ovsdb-server.pid"] {
        if let Ok(s) = fs::read_to_string(dir.join(f)) {
            if let Ok(pid) = s.trim().parse::<i32>() {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// A private Open vSwitch (ovsdb-server + ovs-vswitchd, userspace datapath) running inside
/// a namespace, all its state in a private directory; both daemons are killed by pid on drop.
#[derive(Debug)]
pub struct Ovs {
    ns: String,
    dir: StateDir,
}

impl Ovs {
    /// Starts the two daemons inside `ns` (and sets `net.ipv4.conf.all.arp_ignore=1` there,
    /// so the kernel does not answer ARP on the ports OVS takes).
    pub fn start(ns: &Netns) -> io::Result<Self> {
        let dir = StateDir::new()?;
        let ovs = Self {
            ns: ns.name().to_string(),
            dir,
        };
        let d = ovs.dir.path().to_string_lossy().into_owned();
        ns.sysctl("net.ipv4.conf.all.arp_ignore", "1")?;
        ovs.cmd_ok(
            "ovsdb-tool",
            &[
                "create",
                &format!("{d}/conf.db"),
                "/usr/share/openvswitch/vswitch.ovsschema",
            ],
            false,
        )?;
        ovs.cmd_ok(
            "ovsdb-server",
            &[
                &format!("{d}/conf.db"),
                &format!("--remote=punix:{d}/db.sock"),
                &format!("--pidfile={d}/ovsdb-server.pid"),
                &format!("--unixctl={d}/ovsdb-server.ctl"),
                &format!("--log-file={d}/ovsdb-server.log"),
                "--detach",
            ],
            true,
        )?;
        ovs.vsctl(&["--no-wait", "init"])?;
        ovs.cmd_ok(
            "ovs-vswitchd",
            &[
                &format!("unix:{d}/db.sock"),
                &format!("--pidfile={d}/ovs-vswitchd.pid"),
                &format!("--unixctl={d}/ovs-vswitchd.ctl"),
                &format!("--log-file={d}/ovs-vswitchd.log"),
                "--detach",
            ],
            true,
        )?;
        Ok(ovs)
    }

    fn cmd_ok(&self, program: &str, args: &[&str], in_ns: bool) -> io::Result<String> {
        let d = self.dir.path();
        let mut cmd = if in_ns {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &self.ns, program]);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        for var in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"] {
            cmd.env(var, d);
        }
        let out = run_with_timeout(&mut cmd, COMMAND_TIMEOUT)?;
        check(program, args, out)
    }

    /// A userspace-datapath bridge `br0` with an LACP bond `bond0` over `members` (active,
    /// fast, `balance-tcp`: the partner every LACP test and benchmark uses) and `ports`
    /// as plain ports.
    pub fn lacp_bridge(&self, members: &[&str], ports: &[&str]) -> io::Result<()> {
        let mut args = vec![
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
            "--",
            "add-bond",
            "br0",
            "bond0",
        ];
        args.extend_from_slice(members);
        args.extend_from_slice(&[
            "lacp=active",
            "bond_mode=balance-tcp",
            "other_config:lacp-time=fast",
        ]);
        for p in ports {
            args.extend_from_slice(&["--", "add-port", "br0", p]);
        }
        self.vsctl(&args).map(drop)
    }

    /// `ovs-vsctl --db=unix:DIR/db.sock ARGS`.
    pub fn vsctl(&self, args: &[&str]) -> io::Result<String> {
        let db = format!("--db=unix:{}/db.sock", self.dir.path().display());
        let mut full = vec![db.as_str()];
        full.extend_from_slice(args);
        self.cmd_ok("ovs-vsctl", &full, false)
    }

    /// `ovs-appctl -t DIR/ovs-vswitchd.ctl ARGS`.
    pub fn appctl(&self, args: &[&str]) -> io::Result<String> {
        let t = format!("{}/ovs-vswitchd.ctl", self.dir.path().display());
        let mut full = vec!["-t", t.as_str()];
        full.extend_from_slice(args);
        self.cmd_ok("ovs-appctl", &full, false)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        kill_pidfiles(self.dir.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_short_and_parse_back() {
        let a = unique_name('n');
        let b = unique_name('v');
        assert_ne!(a, b);
        assert!(a.len() <= 15 && b.len() <= 15);
        assert_eq!(name_pid(&a), Some(std::process::id()));
        assert_eq!(name_pid("eth0"), None);
    }

    #[test]
    fn lab_addresses() {
        assert_lab_address("198.18.0.1/24");
        assert_lab_address("198.19.255.254/15");
    }

    #[test]
    #[should_panic(expected = "outside 198.18.0.0/15")]
    fn private_range_is_refused() {
        assert_lab_address("192.168.1.1/24");
    }

    #[test]
    #[should_panic(expected = "outside 198.18.0.0/15")]
    fn neighbour_range_is_refused() {
        assert_lab_address("198.20.0.1/24");
    }

    #[test]
    fn timeout_kills() {
        let r = run_with_timeout(Command::new("sleep").arg("5"), Duration::from_millis(100));
        assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
}
