//! Checks made before anything is touched, so that an operator's mistake is one clear line:
//! privileges, and the member interfaces (missing, already used by XDP, a kernel bond or
//! bridge, or another `afxdp-bond`).

use std::fs;

use crate::control;
use crate::xdp::{self, LinkState, netlink::get_link, sys};

/// A capability: its number and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cap(u32, &'static str);

const CAP_NET_ADMIN: Cap = Cap(12, "CAP_NET_ADMIN");
const CAP_NET_RAW: Cap = Cap(13, "CAP_NET_RAW");
const CAP_IPC_LOCK: Cap = Cap(14, "CAP_IPC_LOCK");
const CAP_SYS_ADMIN: Cap = Cap(21, "CAP_SYS_ADMIN");
const CAP_BPF: Cap = Cap(39, "CAP_BPF");

/// The capabilities `afxdp-bond run` needs, for the docs and the systemd unit:
/// `CAP_NET_ADMIN` (XDP attach, TAP, link settings), `CAP_NET_RAW` (AF_XDP and packet
/// sockets), `CAP_BPF` (the XDP program and its map; `CAP_SYS_ADMIN` on kernels before 5.8),
/// `CAP_IPC_LOCK` (the UMEM is locked memory; or a large enough `RLIMIT_MEMLOCK`).
pub const REQUIRED_CAPABILITIES: &[&str] =
    &["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_BPF", "CAP_IPC_LOCK"];

/// The effective capability set of this process (`CapEff` of `/proc/self/status`).
fn effective_caps() -> Result<u64, String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status to check capabilities: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .ok_or_else(|| "no CapEff line in /proc/self/status".to_string())
}

fn has(caps: u64, c: Cap) -> bool {
    caps & (1u64 << c.0) != 0
}

/// Checks that this process may do what `run` does, before it does any of it. `umem_bytes`
/// is the locked memory the UMEMs need: without `CAP_IPC_LOCK` the kernel charges it to
/// `RLIMIT_MEMLOCK`, which is raised here if the hard limit allows.
pub fn check_privileges(umem_bytes: u64) -> Result<(), String> {
    let caps = effective_caps()?;
    let mut missing: Vec<String> = Vec::new();
    for c in [CAP_NET_ADMIN, CAP_NET_RAW] {
        if !has(caps, c) {
            missing.push(c.1.to_string());
        }
    }
    if !has(caps, CAP_BPF) && !has(caps, CAP_SYS_ADMIN) {
        missing.push(format!("{} (or {})", CAP_BPF.1, CAP_SYS_ADMIN.1));
    }
    if !has(caps, CAP_IPC_LOCK) {
        let (cur, _) = sys::memlock_limit().unwrap_or((0, 0));
        if cur < umem_bytes && sys::raise_memlock_limit(umem_bytes).is_err() {
            missing.push(format!(
                "{} (or an RLIMIT_MEMLOCK of at least {} MiB for the UMEM; it is {} MiB)",
                CAP_IPC_LOCK.1,
                umem_bytes.div_ceil(1 << 20),
                cur >> 20
            ));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    if sys::geteuid() != 0 {
        Err(format!(
            "not root: run as root or with the capabilities {}; missing: {}",
            REQUIRED_CAPABILITIES.join(", "),
            missing.join(", ")
        ))
    } else {
        Err(format!("missing capability: {}", missing.join(", ")))
    }
}

/// What another running bond says about itself (its `info` answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondInfo {
    /// Its name.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// The inode of its network namespace.
    pub netns: u64,
    /// Its member interfaces.
    pub members: Vec<String>,
}

impl BondInfo {
    /// The JSON of the `info` answer.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "pid": self.pid,
            "netns": self.netns,
            "members": self.members,
        })
        .to_string()
    }

    /// Reads an `info` answer.
    pub fn from_json(s: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        Some(Self {
            name: v.get("name")?.as_str()?.to_string(),
            pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
            netns: v.get("netns")?.as_u64()?,
            members: v
                .get("members")?
                .as_array()?
                .iter()
                .filter_map(|m| m.as_str().map(str::to_string))
                .collect(),
        })
    }
}

/// The running bonds (those whose control socket answers), except `except`.
pub fn running_bonds(except: &str) -> Vec<BondInfo> {
    control::list()
        .into_iter()
        .filter(|n| n != except)
        .filter_map(|n| control::request(&n, "info").ok())
        .filter_map(|s| BondInfo::from_json(s.trim()))
        .collect()
}

/// Fails if a bond of this name answers on its control socket.
pub fn check_not_running(name: &str) -> Result<(), String> {
    match control::request(name, "info") {
        Ok(s) => {
            let pid = BondInfo::from_json(s.trim()).map_or(0, |i| i.pid);
            Err(format!(
                "a bond named {name} is already running (pid {pid}); choose another --name"
            ))
        }
        Err(_) => Ok(()),
    }
}

/// Checks the member list and each member, in this network namespace: it exists, it is not
/// the bond's own name, it is given once, it has no XDP program, it is not enslaved to a
/// kernel bond, bridge or VRF, and no other running `afxdp-bond` has it. Returns the links'
/// current state, in order.
pub fn check_members(bond: &str, members: &[String]) -> Result<Vec<LinkState>, String> {
    if members.is_empty() {
        return Err("no member interface given".into());
    }
    if members.len() > xdp::MAX_MEMBERS {
        return Err(format!(
            "{} members: at most {} are supported",
            members.len(),
            xdp::MAX_MEMBERS
        ));
    }
    let netns = sys::netns_inode().unwrap_or(0);
    let others = running_bonds(bond);
    let mut out = Vec::with_capacity(members.len());
    for (i, m) in members.iter().enumerate() {
        if m == bond {
            return Err(format!(
                "interface {m} is in use: it is the bond's own (TAP) name; choose another --name"
            ));
        }
        if members[..i].contains(m) {
            return Err(format!("interface {m} is given twice"));
        }
        let ifindex = sys::ifindex(m).map_err(|_| format!("interface {m} does not exist"))?;
        let link = get_link(ifindex).map_err(|e| format!("interface {m}: {e}"))?;
        if let Some(other) = others
            .iter()
            .find(|b| b.netns == netns && b.members.iter().any(|x| x == m))
        {
            return Err(format!(
                "interface {m} is in use: it is a member of the running afxdp-bond {} (pid {})",
                other.name, other.pid
            ));
        }
        if let Some(id) = link.xdp_prog_id {
            return Err(format!(
                "interface {m} is in use: an XDP program (id {id}) is attached to it already"
            ));
        }
        if let Some(master) = link.master {
            let owner = sys::ifname(master).unwrap_or_else(|| format!("ifindex {master}"));
            return Err(format!(
                "interface {m} is in use: it is enslaved to {owner} (a kernel bond, bridge or VRF)"
            ));
        }
        out.push(link);
    }
    if sys::ifindex(bond).is_ok() {
        return Err(format!(
            "an interface named {bond} exists already: the bond's TAP device needs that name (choose another --name)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trip() {
        let i = BondInfo {
            name: "bond0".into(),
            pid: 42,
            netns: 4026531840,
            members: vec!["eth0".into(), "eth1".into()],
        };
        assert_eq!(BondInfo::from_json(&i.to_json()), Some(i));
        assert_eq!(BondInfo::from_json("{}"), None);
    }

    #[test]
    fn capabilities_parse() {
        // Whatever this process has, the file parses.
        assert!(effective_caps().is_ok());
    }
}
