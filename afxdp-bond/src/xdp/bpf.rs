//! The XDP side: an `XSKMAP` and a tiny redirect program, created with raw `bpf(2)` calls
//! (no libbpf, no C toolchain), attached to a member with `BPF_LINK_CREATE`.
//!
//! The program is five instructions, assembled by hand:
//!
//! ```text
//! r2 = *(u32 *)(r1 + 16)        ; ctx->rx_queue_index
//! r1 = map_fd XSKMAP            ; ld_imm64 with BPF_PSEUDO_MAP_FD (two slots)
//! r3 = XDP_PASS                 ; flags: the action when no socket is at that index
//! call bpf_redirect_map         ; helper 51
//! exit                          ; r0 = XDP_REDIRECT, or XDP_PASS
//! ```
//!
//! The kernel holds the attachment through a *BPF link* whose only reference is a file
//! descriptor of this process: when the process exits, also by `SIGKILL`, the descriptor is
//! closed and the kernel detaches the program. Nothing is pinned in bpffs.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::Error;

const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_MAP_DELETE_ELEM: libc::c_int = 3;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_LINK_CREATE: libc::c_int = 28;

const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `enum bpf_attach_type`: `BPF_XDP`.
const BPF_XDP: u32 = 37;
const BPF_FUNC_REDIRECT_MAP: i32 = 51;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const XDP_PASS: i32 = 2;

/// `XDP_FLAGS_SKB_MODE`: generic XDP, in the network stack after the skb is built.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`: native XDP, in the driver before any skb exists.
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// How the XDP program is attached to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XdpMode {
    /// Native (driver) XDP; fail if the driver has none.
    Native,
    /// Generic (skb) XDP: works on every device, slower.
    Generic,
    /// Native, and generic where the driver refuses native.
    #[default]
    Auto,
}

impl std::str::FromStr for XdpMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" | "drv" => Ok(Self::Native),
            "generic" | "skb" => Ok(Self::Generic),
            "auto" => Ok(Self::Auto),
            _ => Err(format!(
                "invalid XDP mode {s:?}: expected native, generic or auto"
            )),
        }
    }
}

impl fmt::Display for XdpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::Generic => "generic",
            Self::Auto => "auto",
        })
    }
}

/// The XDP mode actually in use on a member (never `Auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachedMode {
    /// Native (driver) XDP.
    Native,
    /// Generic (skb) XDP.
    Generic,
}

impl fmt::Display for AttachedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::Generic => "generic",
        })
    }
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BpfInsn {
    code: u8,
    /// dst_reg in the low nibble, src_reg in the high nibble (little endian).
    regs: u8,
    off: i16,
    imm: i32,
}

impl BpfInsn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
}

/// The redirect program for an XSKMAP whose file descriptor is `map_fd`.
fn redirect_program(map_fd: RawFd) -> [BpfInsn; 6] {
    const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
    const LD_IMM_DW: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
    const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
    const CALL: u8 = 0x85; // BPF_JMP | BPF_CALL
    const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
    /// `offsetof(struct xdp_md, rx_queue_index)`.
    const RX_QUEUE_INDEX: i16 = 16;
    [
        BpfInsn::new(LDX_MEM_W, 2, 1, RX_QUEUE_INDEX, 0),
        BpfInsn::new(LD_IMM_DW, 1, BPF_PSEUDO_MAP_FD, 0, map_fd),
        BpfInsn::new(0, 0, 0, 0, 0),
        BpfInsn::new(MOV64_K, 3, 0, 0, XDP_PASS),
        BpfInsn::new(CALL, 0, 0, 0, BPF_FUNC_REDIRECT_MAP),
        BpfInsn::new(EXIT, 0, 0, 0, 0),
    ]
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

/// `bpf(cmd, attr, sizeof attr)`.
fn sys_bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: every `T` used here is a `#[repr(C)]` prefix of `union bpf_attr` for `cmd`, with
    // all unused fields zero; the kernel reads (and for some commands writes) at most
    // `size_of::<T>()` bytes through the pointer, which is valid and exclusive for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: `fd` is a new file descriptor that a successful bpf() call just returned; this
    // process owns it and nothing else refers to it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    // BPF object names: at most 15 bytes of [A-Za-z0-9_.].
    for (dst, src) in out.iter_mut().zip(
        name.bytes()
            .filter(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .take(15),
    ) {
        *dst = src;
    }
    out
}

/// A `BPF_MAP_TYPE_XSKMAP`: queue index -> AF_XDP socket.
#[derive(Debug)]
pub struct XskMap {
    fd: OwnedFd,
    max_entries: u32,
}

impl XskMap {
    /// Creates a map with one slot per receive queue.
    pub fn new(max_entries: u32) -> Result<Self, Error> {
        let mut attr = MapCreateAttr {
            map_type: BPF_MAP_TYPE_XSKMAP,
            key_size: 4,
            value_size: 4,
            max_entries: max_entries.max(1),
            map_name: name16("afxdp_bond_xsks"),
            ..MapCreateAttr::default()
        };
        let fd = sys_bpf(BPF_MAP_CREATE, &mut attr)
            .map_err(|e| Error::new("bpf(BPF_MAP_CREATE, XSKMAP)", e))?;
        Ok(Self {
            fd: owned(fd),
            max_entries: max_entries.max(1),
        })
    }

    /// Number of slots.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// Puts the AF_XDP socket `xsk_fd` at slot `queue`.
    pub fn insert(&self, queue: u32, xsk_fd: RawFd) -> Result<(), Error> {
        let key = queue;
        let value = xsk_fd as u32;
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: &key as *const u32 as u64,
            value: &value as *const u32 as u64,
            ..MapElemAttr::default()
        };
        sys_bpf(BPF_MAP_UPDATE_ELEM, &mut attr)
            .map_err(|e| Error::new(format!("bpf(BPF_MAP_UPDATE_ELEM, XSKMAP[{queue}])"), e))?;
        Ok(())
    }

    /// Empties slot `queue` (frames of that queue then go to the kernel stack).
    pub fn remove(&self, queue: u32) -> Result<(), Error> {
        let key = queue;
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: &key as *const u32 as u64,
            ..MapElemAttr::default()
        };
        sys_bpf(BPF_MAP_DELETE_ELEM, &mut attr)
            .map_err(|e| Error::new(format!("bpf(BPF_MAP_DELETE_ELEM, XSKMAP[{queue}])"), e))?;
        Ok(())
    }
}

impl AsRawFd for XskMap {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The loaded redirect program (not yet attached anywhere).
#[derive(Debug)]
pub struct RedirectProgram {
    fd: OwnedFd,
}

impl RedirectProgram {
    /// Loads the program for `map`. On a verifier rejection the error carries the verifier log.
    pub fn load(map: &XskMap) -> Result<Self, Error> {
        let insns = redirect_program(map.as_raw_fd());
        let license = c"GPL";
        let mut log = vec![0u8; 64 * 1024];
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_XDP,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            // Level 0 first: the kernel fills the log only on failure with level 1, and a
            // log buffer with level 0 is rejected; ask again with a log on failure.
            prog_name: name16("afxdp_bond_rx"),
            expected_attach_type: BPF_XDP,
            ..ProgLoadAttr::default()
        };
        match sys_bpf(BPF_PROG_LOAD, &mut attr) {
            Ok(fd) => Ok(Self { fd: owned(fd) }),
            Err(first) => {
                attr.log_level = 1;
                attr.log_size = log.len() as u32;
                attr.log_buf = log.as_mut_ptr() as u64;
                let again = sys_bpf(BPF_PROG_LOAD, &mut attr);
                let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]).trim_end().to_string();
                match again {
                    Ok(fd) => Ok(Self { fd: owned(fd) }),
                    Err(e) => Err(Error::new("bpf(BPF_PROG_LOAD, XDP redirect program)", e)
                        .with_log(if text.is_empty() {
                            format!("(no verifier log; first attempt: {first})")
                        } else {
                            text
                        })),
                }
            }
        }
    }
}

impl AsRawFd for RedirectProgram {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A program attached to one interface through a BPF link. Dropping it (or the process
/// exiting) detaches the program.
#[derive(Debug)]
pub struct XdpLink {
    fd: OwnedFd,
    ifindex: u32,
    mode: AttachedMode,
}

impl XdpLink {
    /// Attaches `prog` to the interface `ifindex` in `mode`. `Auto` tries native first and
    /// falls back to generic when the driver refuses native XDP; the choice is logged.
    pub fn attach(
        prog: &RedirectProgram,
        ifindex: u32,
        ifname: &str,
        mode: XdpMode,
    ) -> Result<Self, Error> {
        let try_mode = |m: AttachedMode| -> io::Result<OwnedFd> {
            let mut attr = LinkCreateAttr {
                prog_fd: prog.as_raw_fd() as u32,
                target_ifindex: ifindex,
                attach_type: BPF_XDP,
                flags: match m {
                    AttachedMode::Native => XDP_FLAGS_DRV_MODE,
                    AttachedMode::Generic => XDP_FLAGS_SKB_MODE,
                },
            };
            sys_bpf(BPF_LINK_CREATE, &mut attr).map(owned)
        };
        let ctx = |m: AttachedMode| {
            format!("bpf(BPF_LINK_CREATE) attaching the XDP program to {ifname} in {m} mode")
        };
        let (fd, chosen) = match mode {
            XdpMode::Native => (
                try_mode(AttachedMode::Native)
                    .map_err(|e| Error::new(ctx(AttachedMode::Native), e))?,
                AttachedMode::Native,
            ),
            XdpMode::Generic => (
                try_mode(AttachedMode::Generic)
                    .map_err(|e| Error::new(ctx(AttachedMode::Generic), e))?,
                AttachedMode::Generic,
            ),
            XdpMode::Auto => match try_mode(AttachedMode::Native) {
                Ok(fd) => (fd, AttachedMode::Native),
                Err(native)
                    if matches!(
                        native.raw_os_error(),
                        Some(libc::EOPNOTSUPP) | Some(libc::EINVAL)
                    ) =>
                {
                    let fd = try_mode(AttachedMode::Generic)
                        .map_err(|e| Error::new(ctx(AttachedMode::Generic), e))?;
                    log::warn!(
                        "{ifname}: native XDP refused ({native}); using generic (skb) XDP, which is slower"
                    );
                    (fd, AttachedMode::Generic)
                }
                Err(e) => return Err(Error::new(ctx(AttachedMode::Native), e)),
            },
        };
        log::info!("{ifname}: XDP redirect program attached in {chosen} mode (requested {mode})");
        Ok(Self {
            fd,
            ifindex,
            mode: chosen,
        })
    }

    /// The mode in use.
    pub fn mode(&self) -> AttachedMode {
        self.mode
    }

    /// The interface it is attached to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }
}

impl AsRawFd for XdpLink {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Everything XDP needs on one member: its XSKMAP, the program and the link.
#[derive(Debug)]
pub struct MemberXdp {
    // Field order is drop order: the link first (detach), then the program, then the map.
    link: XdpLink,
    _prog: RedirectProgram,
    map: XskMap,
}

impl MemberXdp {
    /// Creates the map (one slot per queue), loads the program and attaches it.
    pub fn attach(ifname: &str, queues: u32, mode: XdpMode) -> Result<Self, Error> {
        let ifindex = super::sys::ifindex(ifname)?;
        let map = XskMap::new(queues)?;
        let prog = RedirectProgram::load(&map)?;
        let link = XdpLink::attach(&prog, ifindex, ifname, mode)?;
        Ok(Self {
            link,
            _prog: prog,
            map,
        })
    }

    /// The member's XSKMAP.
    pub fn map(&self) -> &XskMap {
        &self.map
    }

    /// The XDP mode in use.
    pub fn mode(&self) -> AttachedMode {
        self.link.mode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_encoding() {
        let p = redirect_program(7);
        // ldxw r2, [r1+16]
        assert_eq!(
            p[0],
            BpfInsn {
                code: 0x61,
                regs: 0x12,
                off: 16,
                imm: 0
            }
        );
        // lddw r1, map_fd (src = BPF_PSEUDO_MAP_FD)
        assert_eq!(
            p[1],
            BpfInsn {
                code: 0x18,
                regs: 0x11,
                off: 0,
                imm: 7
            }
        );
        assert_eq!(
            p[2],
            BpfInsn {
                code: 0,
                regs: 0,
                off: 0,
                imm: 0
            }
        );
        // mov64 r3, XDP_PASS
        assert_eq!(
            p[3],
            BpfInsn {
                code: 0xb7,
                regs: 0x03,
                off: 0,
                imm: 2
            }
        );
        assert_eq!(
            p[4],
            BpfInsn {
                code: 0x85,
                regs: 0,
                off: 0,
                imm: 51
            }
        );
        assert_eq!(
            p[5],
            BpfInsn {
                code: 0x95,
                regs: 0,
                off: 0,
                imm: 0
            }
        );
        assert_eq!(size_of::<BpfInsn>(), 8);
    }

    #[test]
    #[ignore = "needs root and network namespaces"]
    fn program_loads_and_verifier_log_is_captured() {
        let map = XskMap::new(4).unwrap();
        assert_eq!(map.max_entries(), 4);
        let _prog = RedirectProgram::load(&map).unwrap();
        // A "map" descriptor that is no BPF map: the verifier refuses the ld_imm64 and says
        // why in its log, which the error carries.
        let fake = XskMap {
            fd: OwnedFd::from(std::fs::File::open("/dev/null").unwrap()),
            max_entries: 1,
        };
        let err = RedirectProgram::load(&fake).unwrap_err();
        let log = err.verifier_log().expect("no verifier log in the error");
        assert!(log.contains("fd"), "unexpected verifier log: {log}");
        assert!(err.to_string().contains("BPF verifier log"), "{err}");
    }

    #[test]
    fn mode_parse() {
        assert_eq!("native".parse::<XdpMode>(), Ok(XdpMode::Native));
        assert_eq!("skb".parse::<XdpMode>(), Ok(XdpMode::Generic));
        assert!(
            "hw".parse::<XdpMode>()
                .unwrap_err()
                .contains("native, generic or auto")
        );
    }
}
