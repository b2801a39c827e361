//! `engine`: one whole `afxdp_bond::engine::Bond` driven by an op sequence.
//!
//! The input picks the mode (by name or number) and a `modprobe` string made of valid and
//! invalid option tokens, the first members, and whether a simulated LACP partner (a second
//! `lacp::System`, the switch) sits at the other end of every member's wire. The steps:
//! members added (valid, duplicate, badly named, with a taken or invalid MAC, out of range)
//! and removed; link changes (carrier, speed, duplex) as immediate events or as samples for
//! the next `miimon` run; frames received on a member (LACPDUs built to answer the bond's
//! own, any LACP or Marker PDU, ARP and NS/NA to or from the monitor's targets, frames the
//! bond itself emitted looped back, raw bytes); host frames (IPv4/IPv6 TCP/UDP, IGMP and
//! MLD reports, ARP, NS/NA, raw bytes, with or without a queue mapping) through both
//! `Plan::select_tx` (with a `Worker`) and `Bond::select_tx`; time stepping through every
//! deadline, jumping to the next one or jumping far; `set_option` with valid and invalid
//! names and values; host addresses; the bond's MAC and MTU; open and close.
//!
//! The caller follows the documented poll order after every input (events, then control
//! frames, then the deadline), acts as the I/O layer (it carries out the MAC, MTU,
//! promiscuity and multicast requests on simulated NICs) and as the wire (LACP frames reach
//! the partner only while the member's carrier is up, and the partner's reach the bond).
//!
//! Invariants, after every step (see `Harness::check` and the transmit and receive
//! checks for the exact rules; they follow `bond_main.c` and the engine's documented
//! differences):
//!
//! - **Transmit**: a host frame goes only to members that may carry it in the mode:
//!   balance-rr and balance-xor: members that can send (carrier, link up, active); IGMP in
//!   balance-rr: the active member; active-backup: the active member only; broadcast:
//!   exactly the members with carrier and link up; 802.3ad: distributing ports of the
//!   active aggregator (with `lacp_fallback` engaged: the active member); balance-tlb/alb:
//!   a member with carrier and link up (`bond_slave_can_tx()` in `bond_do_alb_xmit()`); a
//!   queue mapping other than 0 in balance-rr and active-backup: the first member with that
//!   `queue_id` if it is up (`bond_slave_override()`). A drop for "no usable member" only
//!   when there is none. Control frames: LACPDUs and Marker Responses only in 802.3ad on a
//!   port whose link is up or going down, LACPDUs only if it is full duplex (a Marker
//!   Information is answered whatever the duplex, as Linux does); ARP/NS probes only in the
//!   modes that use them, on a member with carrier or on the active member
//!   (`bond_ab_arp_probe()`); learning frames on members up or going back; client updates
//!   on members up; gratuitous ARP, unsolicited NA and re-sent reports by the host-frame
//!   rules. Nothing while the bond is down.
//! - **Plan and Bond agree**: `Plan::select_tx` and `Plan::classify_rx` answer what
//!   `Bond::select_tx` and `Bond::handle_rx` answer for the same frame wherever the plan
//!   decides alone (balance-rr only for IGMP: its rotation is per worker), hand the frame
//!   to the Bond only in balance-tlb/alb and for membership reports, and the published plan
//!   matches the member table.
//! - **Receive**: dropped with the right reason (down, unknown member, runt), delivered
//!   only from members that are not inactive (balance-alb: also unicast), link-local on an
//!   inactive member left on the member, LACP consumed in 802.3ad.
//! - **Roles**: in 802.3ad a port is active exactly when it distributes and inactive
//!   exactly when it does not collect (with the fallback engaged: as active-backup); in
//!   active-backup the active member is active and the others are inactive backups (but
//!   the ARP monitor's probed member, and with `all_slaves_active`); in balance-tlb/alb
//!   every member but the active one is inactive; in the other modes nobody is inactive and
//!   a member up is active; the active member is never down; the bond's carrier is any
//!   member up (802.3ad: the LACP carrier with `min_links`).
//! - **Time**: the deadline is never in the past after an input at `now`; a few
//!   `handle_timeout(now)` calls bring it past `now`; a spurious `handle_timeout` changes
//!   nothing observable (no event, no frame, same status, same deadline).
//! - **Status**: the text renders with one `Slave Interface` per member; the JSON renders
//!   and survives a serialise/parse round trip.
//! - **Counters**: every host frame and every received frame is counted once, per member
//!   or per drop reason, in the worker that decided it; control frames by kind; no event
//!   dropped.
//! - **Requests**: the MACs, MTUs, promiscuity and multicast memberships the events asked
//!   for are those of the member table (every member carries the bond's MAC in modes 0-4,
//!   keeps its own with `fail_over_mac=active`, the active member carries it with
//!   `follow` and in balance-tlb/alb, distinct MACs in balance-alb; the bond's MTU; the
//!   slow-protocols address on every port of an open 802.3ad bond; promiscuous only the
//!   member the ALB machine says); a released member has its permanent MAC, original MTU,
//!   no promiscuity and no multicast membership back, and nothing mentions it afterwards.
//! - **Events**: `ActiveMember` chains (each `previous` is the last `current`), `Carrier`,
//!   `LacpFallback` and `PlanChanged` change something, and the last of each is the state.

use crate::frames;
use crate::input::{Bytes, Encode, encode_rest, op_enum, op_struct};
use afxdp_bond::engine::{
    Bond, BondConfig, Duplex, Event, LinkInfo, LinkState, MAX_MEMBERS, MacAddr, MemberConfig,
    MemberStatus, Mode, Rx, RxDrop, Transmit, TransmitKind, Tx, TxDrop, VERSION_LINE, Worker,
    options::OPTIONS,
};
use arbitrary::Arbitrary;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;
use lacp::wire::{Frame, Lacpdu, MarkerKind, Pdu, PortInfo, PortState};
use std::collections::{BTreeMap, BTreeSet};

/// Member indices 0..MEMBERS (plus 63, the largest index, and 64, one too large).
pub const MEMBERS: usize = 6;

/// Most steps run per input (longer inputs are cut, so one input stays fast).
pub const MAX_OPS: usize = 256;

/// Most deadlines handled one by one in one `Advance` (the rest is one late call).
const MAX_DEADLINES_PER_ADVANCE: usize = 200;

/// Most deadlines handled one by one in a whole input (then every `Advance` is one late
/// call), so that an input of many long advances at `miimon=1` stays fast.
const MAX_DEADLINES_PER_INPUT: usize = 2_000;

const SLOW_MAC: MacAddr = MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x02]);
const PEER_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0x02, 0x01]);
const PARTNER_SYSTEM: MacAddr = MacAddr([0x02, 0, 0, 0, 0x0f, 0x01]);

/// The addresses the host may give the bond (all in the benchmarking ranges).
const HOST_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(198, 18, 0, 1),
    Ipv4Addr::new(198, 18, 0, 2),
    Ipv4Addr::new(198, 18, 2, 1),
    Ipv4Addr::new(198, 19, 0, 1),
];
const HOST_V6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1),
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2),
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
];
/// The monitor targets the option tokens and values name.
const TARGET_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(198, 18, 1, 1),
    Ipv4Addr::new(198, 18, 1, 2),
    Ipv4Addr::new(198, 18, 1, 3),
];
const TARGET_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 1, 1),
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 1, 2),
];

/// A member's own (permanent) MAC.
pub fn perm_mac(i: usize) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0x01, i as u8])
}

fn member_name(i: usize) -> String {
    format!("eth{i}")
}

/// The modes, as `Setup::mode` picks them: even by name, odd by number.
fn mode_token(mode: u8) -> (Mode, String) {
    let m = Mode::ALL[usize::from(mode / 2) % 7];
    let s = if mode % 2 == 0 {
        format!("mode={}", m.name())
    } else {
        format!("mode={}", m.number())
    };
    (m, s)
}

/// `modprobe` tokens (index 0: none). The valid ones first, then invalid ones.
pub const TOKENS: &[&str] = &[
    "",
    "miimon=100",
    "miimon=10",
    "miimon=0",
    "updelay=200",
    "downdelay=100",
    "updelay=15",
    "arp_interval=100",
    "arp_ip_target=198.18.1.1",
    "arp_ip_target=198.18.1.1,198.18.1.2",
    "ns_ip6_target=2001:2::1:1",
    "arp_validate=all",
    "arp_validate=filter_backup",
    "arp_validate=active",
    "arp_all_targets=all",
    "arp_missed_max=1",
    "lacp_rate=fast",
    "lacp_active=off",
    "ad_select=bandwidth",
    "ad_select=count",
    "min_links=2",
    "lacp_fallback=active-backup",
    "xmit_hash_policy=layer3+4",
    "xmit_hash_policy=encap3+4",
    "xmit_hash_policy=vlan+srcmac",
    "primary=eth1",
    "primary_reselect=better",
    "primary_reselect=failure",
    "fail_over_mac=active",
    "fail_over_mac=follow",
    "num_grat_arp=3",
    "peer_notif_delay=200",
    "resend_igmp=3",
    "resend_igmp=0",
    "packets_per_slave=0",
    "packets_per_slave=3",
    "all_slaves_active=1",
    "tlb_dynamic_lb=0",
    "lp_interval=2",
    "queue_id=eth1:2",
    "prio=eth2:10",
    "active_slave=eth2",
    "broadcast_neighbor=1",
    "coupled_control=0",
    "use_carrier=0",
    "ad_actor_sys_prio=100",
    "ad_user_port_key=5",
    "ad_actor_system=02:00:00:00:0e:01",
    "actor_port_prio=eth0:100",
    "mode=active-backup",
    // Invalid.
    "miimon=-1",
    "mode=9",
    "bogus=1",
    "lacp_rate=default",
    "arp_ip_target=255.255.255.255",
    "xmit_hash_policy=layer5",
    "miimon",
    "=",
    "queue_id=eth1:99",
    "updelay=abc",
    "ad_actor_system=01:00:00:00:00:01",
];

/// Values for `set_option` (combined with every option name, valid and invalid alike).
pub const VALUES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "100",
    "200",
    "-1",
    "65536",
    "4294967296",
    "off",
    "on",
    "fast",
    "slow",
    "default",
    "maxval",
    "layer3+4",
    "encap2+3",
    "active-backup",
    "802.3ad",
    "balance-alb",
    "balance-rr",
    "all",
    "filter",
    "follow",
    "better",
    "bandwidth",
    "+198.18.1.3",
    "-198.18.1.1",
    "198.18.1.1,198.18.1.2",
    "+2001:2::1:2",
    "eth0",
    "eth1",
    "eth9",
    "eth1:2",
    "eth2:-3",
    "eth0:0",
    "eth3:65535",
    "",
    "\n",
    " 1 trailing",
    "02:00:00:00:0e:02",
    "00:00:00:00:00:00",
];

fn option_name(i: u8) -> &'static str {
    let n = OPTIONS.len();
    match usize::from(i) % (n + 2) {
        k if k < n => OPTIONS[k].name,
        k if k == n => "bogus",
        _ => "",
    }
}

/// A link from one byte: bit 0 set = no carrier; bits 1-3 speed; bits 4-5 duplex.
fn link_info(b: u8) -> LinkInfo {
    const SPEEDS: [Option<u32>; 8] = [
        Some(10_000),
        Some(1_000),
        Some(100),
        None,
        Some(25_000),
        Some(0),
        Some(40_000),
        Some(10),
    ];
    const DUPLEX: [Duplex; 4] = [Duplex::Full, Duplex::Full, Duplex::Half, Duplex::Unknown];
    LinkInfo {
        carrier: b & 1 == 0,
        speed_mbps: SPEEDS[usize::from(b >> 1) & 7],
        duplex: DUPLEX[usize::from(b >> 4) & 3],
    }
}

/// A member index from one byte: 0..MEMBERS mostly, sometimes 63 or 64 (too large) or 200.
fn member_index(b: u8) -> usize {
    match b % 9 {
        k @ 0..=5 => usize::from(k),
        6 => MAX_MEMBERS - 1,
        7 => MAX_MEMBERS,
        _ => 200,
    }
}

/// A queue mapping from one byte: none for 0..=127, else 0..=15.
fn queue(b: u8) -> Option<u16> {
    (b >= 128).then_some(u16::from(b & 0x0f))
}

op_struct! {
    /// How the bond starts.
    pub struct Setup {
        /// The mode (`mode / 2 % 7`), by name when even, by number when odd.
        pub mode: u8,
        /// The option tokens of the `modprobe` string ([`TOKENS`], 0 = none).
        pub tokens: [u8; 6],
        /// Members 0..`members % 7` are added before the first step (up, 10 Gb/s).
        pub members: u8,
        /// Bit 0: an LACP partner on the wires; bit 1: its `lacp_rate` is fast; bit 2:
        /// the bond is opened before the first step; bit 3: the host gives addresses.
        pub flags: u8,
        /// The bond's random seed.
        pub seed: u8,
    }
}

op_enum! {
    /// One step.
    pub enum Op {
        /// Add a member. `name % 4`: its own, another member's (a duplicate), invalid, its
        /// own; `mac % 4`: its own, the bond's, another member's, multicast (invalid);
        /// `mtu % 4`: 1500, 9000, 1500, 576; `link`: see [`link_info`].
        AddMember { member: u8, name: u8, mac: u8, mtu: u8, link: u8 },
        /// Remove a member.
        RemoveMember { member: u8 },
        /// A member's link changes: an immediate event (`handle_link`) or a sample for the
        /// next `miimon` run (`sample_link`).
        Link { member: u8, link: u8, immediate: bool },
        /// An LACPDU from the partner's port behind `member`, answering what the bond's
        /// port says (its actor information as the partner field), with actor state
        /// `state`; `flags` varies the partner's key, port, system and what it echoes.
        RxLacpdu { member: u8, state: u8, flags: u8 },
        /// Any LACP or Marker PDU, well formed, received on a member.
        RxPdu { member: u8, pdu: Pdu },
        /// An ARP from a peer (`from % 4`: a target, another target, a host address, a
        /// stranger) to the host (`to % 4`: a host address, a target, a stranger, the
        /// peer itself); `op % 3`: request, reply, other; `dst % 4`: the bond's MAC, the
        /// member's, broadcast, another host.
        RxArp { member: u8, op: u8, from: u8, to: u8, dst: u8, vlan: u8 },
        /// An NS or NA from a peer (an NS target, or a stranger) about `target`.
        RxNd { member: u8, na: bool, from: u8, target: u8, dst: u8 },
        /// A frame the bond emitted earlier (control frame or host frame, `which` back
        /// from the newest) received on a member: looped back, or reflected by a switch.
        RxEmitted { member: u8, which: u8 },
        /// Raw bytes received on a member.
        RxRaw { member: u8, frame: Bytes },
        /// An IP frame from the host. `kind % 10`: UDP/IPv4, TCP/IPv4, UDP/IPv6, TCP/IPv6,
        /// IGMPv2 report, IGMPv3 report, IGMPv2 leave, MLDv2 report, ICMPv4, IPv4 fragment;
        /// `dst % 4`: a peer's MAC, broadcast, IPv4 multicast, IPv6 multicast.
        HostIp { kind: u8, flow: u16, dst: u8, vlan: u8, len: u8, queue: u8 },
        /// An ARP from the host (`op % 3`: request, reply, gratuitous).
        HostArp { op: u8, target: u8, vlan: u8, queue: u8 },
        /// An NS or NA from the host.
        HostNd { na: bool, target: u8, queue: u8 },
        /// Raw bytes from the host.
        HostRaw { frame: Bytes, queue: u8 },
        /// Advance time by `ms`, handling every deadline on the way.
        Advance { ms: u16 },
        /// Advance to the next deadline (of the bond or the partner).
        AdvanceToNext,
        /// Jump ahead by `ms` and call `handle_timeout` once (a late caller).
        Jump { ms: u32 },
        /// `set_option` with a name from the table (or an unknown one) and a value from
        /// [`VALUES`].
        SetOption { name: u8, value: u8 },
        /// `set_option` with any value.
        SetOptionRaw { name: u8, value: Bytes },
        /// The host's addresses (`v4`, `v6`: bit masks over the candidates), on the bond
        /// (`vlan % 4 == 0`) or on a VLAN above it.
        HostAddresses { v4: u8, v6: u8, vlan: u8 },
        /// The bond's MAC (`which % 4`: a new one, a member's, the current one, invalid).
        SetMac { which: u8 },
        /// The bond's MTU.
        SetMtu { mtu: u16 },
        /// `open`.
        Open,
        /// `close`.
        Close,
    }
}

/// A whole input.
#[derive(Clone, Debug, PartialEq, Eq, Arbitrary)]
pub struct Input {
    /// The start.
    pub setup: Setup,
    /// The steps.
    pub ops: Vec<Op>,
}

impl Encode for Input {
    fn encode(&self, out: &mut Vec<u8>) {
        self.setup.encode(out);
        encode_rest(&self.ops, out);
    }
}

/// A member's NIC as the I/O layer keeps it, from the requests.
#[derive(Debug, Clone)]
struct Nic {
    perm: MacAddr,
    mac: MacAddr,
    mtu: u32,
    orig_mtu: u32,
    promisc: bool,
    slow_mcast: bool,
    /// The link on the wire (what the caller last reported).
    link: LinkInfo,
}

type Observed = (
    String,
    afxdp_bond::engine::BondCounters,
    Vec<MemberStatus>,
    u64,
    Option<Duration>,
    Option<usize>,
    bool,
);

/// The counts the harness expects, per member index and per reason.
#[derive(Debug, Clone, Default)]
struct Expected {
    /// (tx frames, tx bytes, rx frames, rx bytes) per member index.
    member: BTreeMap<usize, [u64; 4]>,
    tx_drop: [u64; TxDrop::COUNT],
    rx_drop: [u64; RxDrop::COUNT],
    control: [u64; TransmitKind::COUNT],
}

struct Harness {
    now: Duration,
    bond: Bond,
    worker: Worker,
    partner: Option<lacp::System>,
    nics: BTreeMap<usize, Nic>,
    /// What the events said last.
    bond_mac_event: Option<MacAddr>,
    active: Option<usize>,
    carrier: bool,
    fallback: bool,
    generation: u64,
    links: BTreeMap<usize, LinkState>,
    /// The last frames the bond emitted (newest last).
    emitted: Vec<Vec<u8>>,
    exp: Expected,
    /// Deadlines still to be handled one by one in this input.
    deadlines_left: usize,
    /// The member the current step removes.
    removing: Option<usize>,
}

fn tx_drop_index(r: TxDrop) -> usize {
    TxDrop::ALL.iter().position(|x| *x == r).expect("reason")
}

fn rx_drop_index(r: RxDrop) -> usize {
    RxDrop::ALL.iter().position(|x| *x == r).expect("reason")
}

fn kind_index(k: TransmitKind) -> usize {
    TransmitKind::ALL
        .iter()
        .position(|x| *x == k)
        .expect("kind")
}

/// The EtherType after at most one VLAN tag, and the offset of what follows.
fn l3(f: &[u8]) -> Option<(u16, usize)> {
    let et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    if et == 0x8100 || et == 0x88a8 {
        return Some((u16::from_be_bytes([*f.get(16)?, *f.get(17)?]), 18));
    }
    Some((et, 14))
}

/// An IPv4 IGMP frame with its whole IP header (what balance-rr sends on the active member).
fn is_igmp(f: &[u8]) -> bool {
    matches!(l3(f), Some((0x0800, off)) if f.len() >= off + 20 && f[off + 9] == 2)
}

/// ARP, or an NS/NA right after the IPv6 header (`bond_should_broadcast_neighbor()`).
fn is_neighbor(f: &[u8]) -> bool {
    match l3(f) {
        Some((0x0806, _)) => true,
        Some((0x86dd, off)) => {
            f.len() > off + 40 && f[off + 6] == 58 && matches!(f[off + 40], 135 | 136)
        }
        _ => false,
    }
}

fn dst_of(f: &[u8]) -> Option<MacAddr> {
    Some(MacAddr(f.get(..6)?.try_into().ok()?))
}

fn is_link_local(m: MacAddr) -> bool {
    m.0[..5] == [0x01, 0x80, 0xc2, 0, 0] && m.0[5] & 0xf0 == 0
}

fn eth(dst: MacAddr, src: MacAddr, vlan: u8, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    match vlan % 4 {
        1 => f.extend_from_slice(&[0x81, 0x00, 0x00, 10]),
        2 => f.extend_from_slice(&[0x81, 0x00, 0x0f, 0xff]),
        3 => f.extend_from_slice(&[0x88, 0xa8, 0x00, 20]),
        _ => {}
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn peer_mac(n: u16) -> MacAddr {
    let b = n.to_be_bytes();
    MacAddr([0x02, 0xc0, 0, 0, b[0], b[1]])
}

fn peer_v4(n: u16) -> Ipv4Addr {
    let b = n.to_be_bytes();
    Ipv4Addr::new(198, 18, 3 + b[0] % 4, b[1])
}

fn peer_v6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 3, n)
}

impl Harness {
    fn new(setup: &Setup) -> Self {
        let now = Duration::ZERO;
        let (mode, mode_tok) = mode_token(setup.mode);
        let mut s = mode_tok.clone();
        for &t in &setup.tokens {
            let tok = TOKENS[usize::from(t) % TOKENS.len()];
            if !tok.is_empty() {
                s.push(' ');
                s.push_str(tok);
            }
        }
        let config = BondConfig {
            seed: u64::from(setup.seed),
            ..BondConfig::default()
        };
        let bond = match Bond::from_modprobe(now, &s, config.clone()) {
            Ok(b) => b,
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty());
                if let afxdp_bond::engine::Error::Option(o) = &e {
                    if let Some(name) = o.option() {
                        assert!(msg.contains(name), "{msg:?} does not name {name}");
                    }
                }
                Bond::from_modprobe(now, &mode_tok, config).expect("the mode alone is valid")
            }
        };
        assert!(bond.mode() == mode || s.contains("mode=active-backup"));
        let mut bond = bond;
        let _ = bond.take_warnings();
        let worker = bond.new_worker();
        let partner = (setup.flags & 1 != 0).then(|| {
            let mut p = lacp::System::new(lacp::Config {
                lacp_rate: if setup.flags & 2 != 0 {
                    lacp::LacpRate::Fast
                } else {
                    lacp::LacpRate::Slow
                },
                bond_mac: lacp::MacAddr(PARTNER_SYSTEM.0),
                ..lacp::Config::default()
            })
            .expect("partner config");
            for i in 0..MEMBERS {
                p.add_port(now, i, lacp::MacAddr([0x02, 0, 0, 0, 0x0f, 0x10 + i as u8]))
                    .expect("partner port");
            }
            p
        });
        let mut h = Self {
            now,
            bond,
            worker,
            partner,
            nics: BTreeMap::new(),
            bond_mac_event: None,
            active: None,
            carrier: false,
            fallback: false,
            generation: 0,
            links: BTreeMap::new(),
            emitted: Vec::new(),
            exp: Expected::default(),
            deadlines_left: MAX_DEADLINES_PER_INPUT,
            removing: None,
        };
        h.drain();
        if setup.flags & 8 != 0 {
            h.bond.set_host_addresses(now, &HOST_V4[..1], &HOST_V6[..1]);
        }
        for i in 0..usize::from(setup.members % 7) {
            h.add(i, member_name(i), perm_mac(i), 1500, LinkInfo::up(10_000));
        }
        if setup.flags & 4 != 0 {
            h.bond.open(now);
        }
        h.drain();
        h.catch_up();
        h
    }

    // ------------------------------------------------------------------ the I/O layer

    /// Drains the bond's events and control frames, and runs the wire to the partner.
    fn drain(&mut self) {
        for _ in 0..64 {
            let mut any = false;
            while let Some(e) = self.bond.poll_event() {
                any = true;
                self.on_event(e);
            }
            let mut n = 0;
            while let Some(t) = self.bond.poll_transmit(self.now) {
                any = true;
                n += 1;
                assert!(n <= 100_000, "poll_transmit does not end");
                self.on_transmit(&t);
            }
            let mut out = Vec::new();
            if let Some(p) = self.partner.as_mut() {
                while let Some(t) = p.poll_transmit(self.now) {
                    out.push((t.port, t.frame.as_bytes().to_vec()));
                }
                while p.poll_event().is_some() {}
            }
            for (port, f) in out {
                any = true;
                if self.nics.get(&port).is_some_and(|n| n.link.carrier) {
                    self.rx(port, &f);
                }
            }
            if !any {
                return;
            }
        }
        // A partner that never stops talking: what the bond still has is lost on the wire.
        while let Some(e) = self.bond.poll_event() {
            self.on_event(e);
        }
        while let Some(t) = self.bond.poll_transmit(self.now) {
            self.on_transmit(&t);
        }
    }

    fn on_event(&mut self, e: Event) {
        if crate::input::trace() {
            eprintln!("  event {e:?}");
        }
        let mode = self.bond.mode();
        match e {
            Event::SetBondMac { mac } => {
                assert!(mac.is_valid_unicast(), "bond MAC {mac}");
                self.bond_mac_event = Some(mac);
            }
            Event::SetMemberMac { member, mac } => {
                let nic = self
                    .nics
                    .get_mut(&member)
                    .expect("SetMemberMac: no such NIC");
                assert!(mac.is_valid_unicast(), "member {member} MAC {mac}");
                nic.mac = mac;
            }
            Event::SetMemberMtu { member, mtu } => {
                self.nics
                    .get_mut(&member)
                    .expect("SetMemberMtu: no such NIC")
                    .mtu = mtu;
            }
            Event::SetPromiscuous { member, enabled } => {
                let nic = self.nics.get_mut(&member).expect("SetPromiscuous: no NIC");
                assert_ne!(nic.promisc, enabled, "promiscuity of {member} asked twice");
                nic.promisc = enabled;
            }
            Event::JoinMulticast { member, mac } => {
                assert_eq!(mode, Mode::Ieee8023ad);
                assert_eq!(mac, SLOW_MAC);
                let nic = self.nics.get_mut(&member).expect("JoinMulticast: no NIC");
                assert!(!nic.slow_mcast, "joined twice");
                nic.slow_mcast = true;
            }
            Event::LeaveMulticast { member, mac } => {
                assert_eq!(mac, SLOW_MAC);
                let nic = self.nics.get_mut(&member).expect("LeaveMulticast: no NIC");
                assert!(nic.slow_mcast, "left without joining");
                nic.slow_mcast = false;
            }
            Event::MemberReleased { member, last_frame } => {
                assert!(
                    self.bond.member(member).is_none(),
                    "released {member} is there"
                );
                let nic = self.nics.remove(&member).expect("released a member twice");
                self.links.remove(&member);
                self.partner_link(member, None);
                assert_eq!(
                    nic.mac, nic.perm,
                    "member {member} released with another MAC"
                );
                assert_eq!(
                    nic.mtu, nic.orig_mtu,
                    "member {member} released with bond MTU"
                );
                assert!(!nic.promisc, "member {member} released promiscuous");
                assert!(
                    !nic.slow_mcast,
                    "member {member} released in the LACP group"
                );
                if let Some(t) = last_frame {
                    assert_eq!(mode, Mode::Ieee8023ad, "farewell frame outside 802.3ad");
                    assert_eq!(t.member, member);
                    assert_eq!(t.kind, TransmitKind::Lacpdu);
                    let (src, pdu) = Pdu::parse_frame(t.frame()).expect("farewell parses");
                    assert_eq!(MacAddr(src.0), nic.perm);
                    assert!(matches!(pdu, Pdu::Lacpdu(_)));
                    self.remember(t.frame());
                    if nic.link.carrier {
                        if let Some(p) = self.partner.as_mut() {
                            let _ = p.handle_rx(self.now, member, t.frame());
                        }
                    }
                }
            }
            Event::MemberLink { member, state } => {
                assert!(
                    self.nics.contains_key(&member),
                    "MemberLink for a missing member"
                );
                self.links.insert(member, state);
            }
            Event::ActiveMember { previous, current } => {
                assert_eq!(previous, self.active, "ActiveMember does not chain");
                assert_ne!(previous, current, "ActiveMember without a change");
                if let Some(c) = current {
                    assert!(self.nics.contains_key(&c), "active member {c} missing");
                    assert_ne!(
                        current, self.removing,
                        "the member being removed made active"
                    );
                }
                self.active = current;
            }
            Event::Carrier { up } => {
                assert_ne!(up, self.carrier, "Carrier without a change");
                self.carrier = up;
            }
            Event::ActiveAggregator { .. } => assert_eq!(mode, Mode::Ieee8023ad),
            Event::LacpFallback { engaged } => {
                assert_eq!(mode, Mode::Ieee8023ad);
                assert_ne!(engaged, self.fallback, "LacpFallback without a change");
                self.fallback = engaged;
            }
            Event::PlanChanged { generation } => {
                assert!(generation > self.generation, "plan generation went back");
                self.generation = generation;
            }
        }
    }

    /// The partner's end of member `i`'s wire: up while the member's NIC has carrier
    /// (`None`: the NIC left the bond, the cable is pulled).
    fn partner_link(&mut self, i: usize, link: Option<LinkInfo>) {
        let now = self.now;
        if let (Some(p), true) = (self.partner.as_mut(), i < MEMBERS) {
            let l = match link {
                Some(info) if info.carrier => {
                    lacp::Link::up(info.speed_mbps.filter(|&s| s != 0).unwrap_or(10_000))
                }
                _ => lacp::Link::down(),
            };
            p.handle_link(now, i, l).expect("partner port");
        }
    }

    fn remember(&mut self, f: &[u8]) {
        if self.emitted.len() >= 16 {
            self.emitted.remove(0);
        }
        self.emitted.push(f.to_vec());
    }

    fn status_of(&self, m: usize) -> MemberStatus {
        self.bond
            .member(m)
            .unwrap_or_else(|| panic!("member {m} does not exist"))
    }

    fn can_tx(st: &MemberStatus) -> bool {
        st.link_info.carrier && st.link == LinkState::Up && st.active
    }

    fn link_up(st: &MemberStatus) -> bool {
        st.link_info.carrier && st.link == LinkState::Up
    }

    fn members(&self) -> Vec<MemberStatus> {
        self.bond
            .member_indices()
            .map(|i| self.status_of(i))
            .collect()
    }

    fn distributing(&self, m: usize) -> bool {
        self.bond.lacp().is_some_and(|l| l.is_distributing(m))
    }

    /// The members that may carry this host frame now (`None`: the rule is "exactly this
    /// set", for broadcast), and the rule's name.
    fn candidates(&self, frame: &[u8], queue: Option<u16>) -> (BTreeSet<usize>, &'static str) {
        let mode = self.bond.mode();
        let members = self.members();
        let active = self.bond.active_member();
        if matches!(mode, Mode::BalanceRr | Mode::ActiveBackup) {
            if let Some(q) = queue.filter(|&q| q != 0) {
                if let Some(st) = members.iter().find(|st| st.queue_id == q) {
                    if Self::link_up(st) {
                        return ([st.index].into(), "queue override");
                    }
                }
            }
        }
        let set = |f: &dyn Fn(&MemberStatus) -> bool| -> BTreeSet<usize> {
            members
                .iter()
                .filter(|st| f(st))
                .map(|st| st.index)
                .collect()
        };
        match mode {
            Mode::BalanceRr if is_igmp(frame) => match active {
                Some(a) => ([a].into(), "balance-rr IGMP: the active member"),
                None => (
                    set(&Self::can_tx).into_iter().take(1).collect(),
                    "balance-rr IGMP without an active member: the first that can send",
                ),
            },
            Mode::BalanceRr | Mode::BalanceXor => (set(&Self::can_tx), "members that can send"),
            Mode::ActiveBackup => (active.into_iter().collect(), "the active member"),
            Mode::Broadcast => (set(&Self::link_up), "members with link up"),
            Mode::Ieee8023ad => {
                if self.bond.lacp_fallback_engaged() {
                    (
                        set(&|st| Some(st.index) == active && Self::can_tx(st)),
                        "LACP fallback: the active member",
                    )
                } else {
                    (
                        set(&|st| Self::can_tx(st) && self.distributing(st.index)),
                        "distributing ports of the active aggregator",
                    )
                }
            }
            Mode::BalanceTlb | Mode::BalanceAlb => (
                set(&Self::link_up),
                "members with carrier and link up (bond_slave_can_tx)",
            ),
        }
    }

    /// Checks a transmit decision for a host frame (or a frame of the bond's that leaves
    /// the way a host frame would).
    fn check_tx(&self, what: &str, tx: Tx, frame: &[u8], queue: Option<u16>) {
        let up = self.bond.is_up();
        let has_members = self.bond.member_indices().next().is_some();
        let mode = self.bond.mode();
        let (cands, rule) = self.candidates(frame, queue);
        match tx {
            Tx::Drop(TxDrop::BondDown) => assert!(!up, "{what}: BondDown while up"),
            Tx::Drop(r) => {
                assert!(up, "{what}: {r:?} while down");
                match r {
                    TxDrop::NoMembers => assert!(!has_members, "{what}: NoMembers"),
                    TxDrop::NoUsableMember => assert!(
                        cands.is_empty(),
                        "{what}: NoUsableMember but {cands:?} may send ({rule})"
                    ),
                    TxDrop::NoActiveMember => {
                        assert!(matches!(mode, Mode::ActiveBackup) || mode.is_lb());
                        assert_eq!(self.bond.active_member(), None, "{what}: NoActiveMember");
                    }
                    TxDrop::Runt => {
                        assert!(mode.is_lb());
                        assert!(frame.len() < 14, "{what}: runt of {}", frame.len());
                    }
                    TxDrop::MemberCannotTx => assert!(mode.is_lb(), "{what}: {r:?}"),
                    TxDrop::BondDown => unreachable!(),
                }
            }
            Tx::ViaBond => panic!("{what}: the Bond answered ViaBond"),
            Tx::Member(m) => {
                assert!(up, "{what}: sent while down");
                assert!(
                    cands.contains(&m),
                    "{what}: host frame on member {m} ({:?}); {rule}: {cands:?}",
                    self.bond.member(m)
                );
            }
            Tx::Members(set) => {
                assert!(up, "{what}: sent while down");
                let got: BTreeSet<usize> = set.iter().collect();
                if mode == Mode::Broadcast {
                    assert_eq!(got, cands, "{what}: broadcast set; {rule}");
                } else {
                    assert_eq!(mode, Mode::Ieee8023ad, "{what}: several members");
                    assert!(self.bond.options().broadcast_neighbor() && is_neighbor(frame));
                    let want: BTreeSet<usize> = cands
                        .iter()
                        .copied()
                        .filter(|&m| self.bond.member(m).is_some_and(|st| Self::link_up(&st)))
                        .collect();
                    assert_eq!(got, want, "{what}: broadcast_neighbor set");
                }
                assert!(!got.is_empty(), "{what}: empty set");
            }
        }
    }

    fn on_transmit(&mut self, t: &Transmit) {
        self.exp.control[kind_index(t.kind)] += 1;
        let m = t.member;
        let mode = self.bond.mode();
        assert!(self.bond.is_up(), "control frame while down");
        let st = self.bond.member(m).unwrap_or_else(|| {
            panic!("{:?} on member {m}, which does not exist", t.kind);
        });
        let f = t.frame();
        assert!(f.len() >= 14, "{:?} of {} bytes", t.kind, f.len());
        if crate::input::trace() {
            eprintln!("  transmit {:?} on {m}", t.kind);
        }
        match t.kind {
            TransmitKind::Lacpdu | TransmitKind::MarkerResponse => {
                assert_eq!(mode, Mode::Ieee8023ad, "{:?} outside 802.3ad", t.kind);
                assert!(
                    matches!(st.link, LinkState::Up | LinkState::Fail),
                    "{:?} on member {m} whose link is {:?}",
                    t.kind,
                    st.link
                );
                // LACP runs only on full-duplex ports; a Marker Information is answered on
                // any port that is up (ad_marker_info_received() does not look at duplex).
                if t.kind == TransmitKind::Lacpdu {
                    assert_eq!(
                        st.link_info.duplex,
                        Duplex::Full,
                        "LACPDU on a port that is not full duplex"
                    );
                }
                let (src, pdu) = Pdu::parse_frame(f).expect("own LACP frame parses");
                assert_eq!(MacAddr(src.0), st.perm_mac, "LACP source address");
                match pdu {
                    Pdu::Lacpdu(_) => assert_eq!(t.kind, TransmitKind::Lacpdu),
                    Pdu::Marker(mk) => {
                        assert_eq!(t.kind, TransmitKind::MarkerResponse);
                        assert_eq!(mk.kind, MarkerKind::Response);
                    }
                }
            }
            TransmitKind::ArpProbe | TransmitKind::NsProbe => {
                assert!(mode.uses_arp(), "{:?} in {mode}", t.kind);
                assert!(
                    st.link_info.carrier || self.bond.active_member() == Some(m),
                    "{:?} on member {m} without carrier that is not active",
                    t.kind
                );
            }
            TransmitKind::LearningFrame => {
                assert!(mode.is_lb());
                assert!(
                    matches!(st.link, LinkState::Up | LinkState::Back),
                    "learning frame on member {m} whose link is {:?}",
                    st.link
                );
            }
            TransmitKind::RlbUpdate => {
                assert_eq!(mode, Mode::BalanceAlb);
                assert_eq!(st.link, LinkState::Up, "client update on member {m}");
            }
            TransmitKind::GratuitousArp
            | TransmitKind::UnsolicitedNa
            | TransmitKind::MembershipReport => {
                let (cands, rule) = self.candidates(f, None);
                assert!(
                    cands.contains(&m),
                    "{:?} on member {m} ({st:?}); {rule}: {cands:?}",
                    t.kind
                );
            }
        }
        self.remember(f);
        if matches!(t.kind, TransmitKind::Lacpdu | TransmitKind::MarkerResponse)
            && self.nics.get(&m).is_some_and(|n| n.link.carrier)
        {
            if let Some(p) = self.partner.as_mut() {
                let _ = p.handle_rx(self.now, m, f);
            }
        }
    }

    // ------------------------------------------------------------------ inputs

    fn count_tx(&mut self, tx: Tx, len: usize) {
        let mut add = |m: usize| {
            let c = self.exp.member.entry(m).or_default();
            c[0] += 1;
            c[1] += len as u64;
        };
        match tx {
            Tx::Member(m) => add(m),
            Tx::Members(set) => set.iter().for_each(add),
            Tx::Drop(r) => self.exp.tx_drop[tx_drop_index(r)] += 1,
            Tx::ViaBond => {}
        }
    }

    fn count_rx(&mut self, member: usize, rx: Rx, len: usize) {
        match rx {
            Rx::Deliver | Rx::DeliverOnMember | Rx::Consume => {
                if member < MAX_MEMBERS {
                    let c = self.exp.member.entry(member).or_default();
                    c[2] += 1;
                    c[3] += len as u64;
                }
            }
            Rx::Drop(r) => self.exp.rx_drop[rx_drop_index(r)] += 1,
            Rx::ViaBond => {}
        }
    }

    /// A frame from the host: the plan's decision with the harness's worker, then the
    /// Bond's.
    fn host(&mut self, f: Vec<u8>, queue: Option<u16>) {
        let mode = self.bond.mode();
        let plan = self.bond.plan();
        let mut pf = f.clone();
        let ptx = match queue {
            Some(q) => plan.select_tx_on_queue(&mut self.worker, &mut pf, q),
            None => plan.select_tx(&mut self.worker, &mut pf),
        };
        self.count_tx(ptx, f.len());
        match ptx {
            Tx::ViaBond => {
                let reports = self.bond.options().resend_igmp() > 0
                    && (mode == Mode::BalanceRr || mode.uses_primary())
                    && matches!(l3(&f), Some((0x0800 | 0x86dd, _)));
                assert!(
                    mode.is_lb() || reports,
                    "plan handed {mode} frame to the Bond"
                );
            }
            _ => {
                self.check_tx("Plan::select_tx", ptx, &f, queue);
                assert_eq!(pf, f, "the plan changed the frame");
            }
        }
        let mut bf = f.clone();
        let btx = match queue {
            Some(q) => self.bond.select_tx_on_queue(self.now, &mut bf, q),
            None => self.bond.select_tx(self.now, &mut bf),
        };
        self.count_tx(btx, f.len());
        if crate::input::trace() {
            eprintln!(
                "  host frame ({} bytes, queue {queue:?}): plan {ptx:?}, bond {btx:?}",
                f.len()
            );
        }
        self.check_tx("Bond::select_tx", btx, &f, queue);
        assert_eq!(bf.len(), f.len());
        if mode.is_lb() {
            let l3 = l3(&f).map(|(et, _)| et);
            if !matches!(l3, Some(0x0806 | 0x86dd)) && f.len() >= 14 {
                assert_eq!(&bf[..6], &f[..6], "destination rewritten");
                assert_eq!(&bf[12..], &f[12..], "payload rewritten");
            }
        } else {
            assert_eq!(bf, f, "the Bond changed the frame");
        }
        if ptx != Tx::ViaBond && (mode != Mode::BalanceRr || is_igmp(&f)) {
            assert_eq!(ptx, btx, "Plan::select_tx and Bond::select_tx disagree");
        }
        if matches!(btx, Tx::Member(_) | Tx::Members(_)) {
            self.remember(&bf);
        }
        self.drain();
    }

    /// The receive rules for a decision, against the bond's state now.
    fn check_rx(&self, what: &str, member: usize, f: &[u8], rx: Rx) {
        let up = self.bond.is_up();
        let st = self.bond.member(member);
        let mode = self.bond.mode();
        match rx {
            Rx::Drop(RxDrop::BondDown) => assert!(!up, "{what}: BondDown while up"),
            _ if !up => panic!("{what}: {rx:?} while the bond is down"),
            Rx::Drop(RxDrop::UnknownMember) => assert!(st.is_none(), "{what}: unknown {member}"),
            _ if st.is_none() => panic!("{what}: {rx:?} on missing member {member}"),
            Rx::Drop(RxDrop::Runt) => assert!(f.len() < 14, "{what}: runt of {}", f.len()),
            _ if f.len() < 14 => panic!("{what}: {rx:?} for {} bytes", f.len()),
            Rx::ViaBond => panic!("{what}: the Bond answered ViaBond"),
            Rx::Consume => {
                assert_eq!(mode, Mode::Ieee8023ad, "{what}: consumed outside 802.3ad");
                assert_eq!(
                    &f[12..14],
                    &[0x88, 0x09],
                    "{what}: consumed a non-LACP frame"
                );
            }
            _ => {
                let st = st.expect("member");
                let dst = dst_of(f).expect("14 bytes");
                let want = if !st.inactive || (mode == Mode::BalanceAlb && !dst.is_multicast()) {
                    Rx::Deliver
                } else if is_link_local(dst) {
                    Rx::DeliverOnMember
                } else {
                    Rx::Drop(RxDrop::InactiveMember)
                };
                assert_eq!(rx, want, "{what}: member {member} ({st:?})");
            }
        }
    }

    /// A frame received on a member: the plan's decision, then the Bond's.
    fn rx(&mut self, member: usize, f: &[u8]) {
        let plan = self.bond.plan();
        let mut pf = f.to_vec();
        let prx = plan.classify_rx(&mut self.worker, member, &mut pf);
        self.count_rx(member, prx, f.len());
        if prx != Rx::ViaBond {
            self.check_rx("Plan::classify_rx", member, f, prx);
        }
        let mut bf = f.to_vec();
        let brx = self.bond.handle_rx(self.now, member, &mut bf);
        self.count_rx(member, brx, f.len());
        if crate::input::trace() {
            eprintln!(
                "  rx on {member} ({} bytes): plan {prx:?}, bond {brx:?}",
                f.len()
            );
        }
        self.check_rx("Bond::handle_rx", member, f, brx);
        if prx != Rx::ViaBond {
            assert_eq!(prx, brx, "Plan::classify_rx and Bond::handle_rx disagree");
            assert_eq!(pf, bf, "Plan and Bond rewrote the frame differently");
        }
        if bf != f {
            assert_eq!(
                self.bond.mode(),
                Mode::BalanceAlb,
                "received frame rewritten"
            );
            assert_eq!(brx, Rx::Deliver);
            assert_eq!(&bf[..6], &self.bond.mac().0, "rewritten to the bond's MAC");
            assert_eq!(&bf[6..], &f[6..]);
        }
    }

    fn add(&mut self, i: usize, name: String, mac: MacAddr, mtu: u32, link: LinkInfo) {
        let exists = self.bond.member(i).is_some();
        let config = MemberConfig {
            name: name.clone(),
            mac,
            mtu,
            link,
        };
        // The NIC is there before the bond is told about it.
        let prior = self.nics.get(&i).cloned();
        if prior.is_none() {
            self.nics.insert(
                i,
                Nic {
                    perm: mac,
                    mac,
                    mtu,
                    orig_mtu: mtu,
                    promisc: false,
                    slow_mcast: false,
                    link,
                },
            );
        }
        let r = self.bond.add_member(self.now, i, config);
        use afxdp_bond::engine::Error as E;
        match &r {
            Ok(()) => {
                assert!(!exists && i < MAX_MEMBERS);
                let st = self.status_of(i);
                assert_eq!((st.perm_mac, &st.name), (mac, &name));
                self.partner_link(i, Some(link));
            }
            Err(E::MemberExists(j)) => assert!(exists && *j == i),
            Err(E::MemberIndexTooLarge(j)) => assert!(*j == i && i >= MAX_MEMBERS),
            Err(E::InvalidName(_) | E::DuplicateName(_) | E::InvalidMac(_) | E::NoFreeMac(_)) => {
                assert!(!exists);
            }
            Err(e) => panic!("add_member: {e}"),
        }
        if r.is_err() {
            match prior {
                Some(p) => {
                    self.nics.insert(i, p);
                }
                None => {
                    self.nics.remove(&i);
                }
            }
        }
        self.drain();
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::AddMember {
                member,
                name,
                mac,
                mtu,
                link,
            } => {
                let i = member_index(*member);
                let other = (i + 1 + usize::from(*name / 4)) % MEMBERS;
                let name = match name % 4 {
                    1 => member_name(other),
                    2 => ["", "a/b", "eth 0", "0123456789abcdef"][usize::from(*name / 4) % 4]
                        .to_string(),
                    _ => member_name(i),
                };
                let mac = match mac % 4 {
                    0 => perm_mac(i),
                    1 => self.bond.mac(),
                    2 => perm_mac(usize::from(*mac / 4) % MEMBERS),
                    _ => MacAddr([0x03, 0, 0, 0, 0, 1]),
                };
                let mtu = [1500, 9000, 1500, 576][usize::from(*mtu % 4)];
                self.add(i, name, mac, mtu, link_info(*link));
            }
            Op::RemoveMember { member } => {
                let i = member_index(*member);
                let exists = self.bond.member(i).is_some();
                self.removing = Some(i);
                let r = self.bond.remove_member(self.now, i);
                assert_eq!(r.is_ok(), exists, "remove_member({i}): {r:?}");
                self.drain();
                self.removing = None;
                assert!(self.bond.member(i).is_none());
                assert!(
                    !self.nics.contains_key(&i),
                    "member {i} removed, never released"
                );
            }
            Op::Link {
                member,
                link,
                immediate,
            } => {
                let i = member_index(*member);
                let info = link_info(*link);
                let exists = self.bond.member(i).is_some();
                let r = if *immediate {
                    self.bond.handle_link(self.now, i, info)
                } else {
                    self.bond.sample_link(self.now, i, info)
                };
                assert_eq!(r.is_ok(), exists);
                if let Some(n) = self.nics.get_mut(&i) {
                    n.link = info;
                    self.partner_link(i, Some(info));
                }
                self.drain();
            }
            Op::RxLacpdu {
                member,
                state,
                flags,
            } => {
                let i = member_index(*member);
                let ours = self
                    .bond
                    .lacp()
                    .and_then(|l| l.port(i))
                    .map(|p| p.actor)
                    .unwrap_or_default();
                let mut partner = ours;
                if flags & 0x10 != 0 {
                    partner.state.toggle(PortState::SYNCHRONIZATION);
                }
                let actor = PortInfo {
                    system_priority: if flags & 0x20 != 0 { 1 } else { 0x8000 },
                    system: lacp::MacAddr(if flags & 0x40 != 0 {
                        [0x02, 0, 0, 0, 0x0e, 0x01]
                    } else {
                        PARTNER_SYSTEM.0
                    }),
                    key: 0x11 + u16::from(flags & 3),
                    port_priority: 0xff,
                    port: 1 + (i as u16 + u16::from((flags >> 2) & 3)) % 8,
                    state: PortState::from_bits_retain(*state),
                };
                let pdu = Pdu::Lacpdu(Lacpdu {
                    version: 1,
                    actor,
                    partner,
                    collector_max_delay: 0,
                });
                let f = Frame::new(lacp::MacAddr(PEER_MAC.0), &pdu);
                self.rx(i, f.as_bytes());
                self.drain();
            }
            Op::RxPdu { member, pdu } => {
                let f = Frame::new(lacp::MacAddr(PEER_MAC.0), pdu);
                self.rx(member_index(*member), f.as_bytes());
                self.drain();
            }
            Op::RxArp {
                member,
                op,
                from,
                to,
                dst,
                vlan,
            } => {
                let i = member_index(*member);
                let (sha, spa) = match from % 4 {
                    k @ (0 | 1) => (PEER_MAC, TARGET_V4[usize::from(k)]),
                    2 => (PEER_MAC, HOST_V4[0]),
                    _ => (peer_mac(u16::from(*from)), peer_v4(u16::from(*from))),
                };
                let tpa = match to % 4 {
                    0 => HOST_V4[usize::from(*to / 4) % HOST_V4.len()],
                    1 => TARGET_V4[2],
                    2 => peer_v4(u16::from(*to)),
                    _ => spa,
                };
                let member_mac = self.bond.member(i).map_or(self.bond.mac(), |st| st.mac);
                let d = match dst % 4 {
                    0 => self.bond.mac(),
                    1 => member_mac,
                    2 => MacAddr::BROADCAST,
                    _ => peer_mac(7),
                };
                let opcode = [1u16, 2, 3][usize::from(*op % 3)];
                let tha = if opcode == 1 { MacAddr::ZERO } else { d };
                let arp = frames::arp(opcode, sha.0, spa.octets(), tha.0, tpa.octets());
                let f = eth(d, sha, *vlan, 0x0806, &arp);
                self.rx(i, &f);
                self.drain();
            }
            Op::RxNd {
                member,
                na,
                from,
                target,
                dst,
            } => {
                let i = member_index(*member);
                let src = match from % 3 {
                    0 => TARGET_V6[0],
                    1 => TARGET_V6[1],
                    _ => peer_v6(u16::from(*from)),
                };
                let tgt = match target % 3 {
                    0 => HOST_V6[0],
                    1 => src,
                    _ => peer_v6(u16::from(*target)),
                };
                let (dip, dmac) = match dst % 3 {
                    0 => (HOST_V6[0], self.bond.mac()),
                    1 => (
                        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                        MacAddr([0x33, 0x33, 0, 0, 0, 1]),
                    ),
                    _ => {
                        let g = frames::solicited_node(&tgt.octets());
                        (
                            Ipv6Addr::from(g),
                            MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]]),
                        )
                    }
                };
                let ip = frames::ndisc(
                    *na,
                    if *na { 0x60 } else { 0 },
                    src.octets(),
                    dip.octets(),
                    tgt.octets(),
                    Some(PEER_MAC.0),
                );
                let f = eth(dmac, PEER_MAC, 0, 0x86dd, &ip);
                self.rx(i, &f);
                self.drain();
            }
            Op::RxEmitted { member, which } => {
                let n = self.emitted.len();
                if n > 0 {
                    let f = self.emitted[n - 1 - usize::from(*which) % n].clone();
                    self.rx(member_index(*member), &f);
                    self.drain();
                }
            }
            Op::RxRaw { member, frame } => {
                self.rx(member_index(*member), &frame.0);
                self.drain();
            }
            Op::HostIp {
                kind,
                flow,
                dst,
                vlan,
                len,
                queue: q,
            } => {
                let f = self.host_ip(*kind, *flow, *dst, *vlan, *len);
                self.host(f, queue(*q));
            }
            Op::HostArp {
                op,
                target,
                vlan,
                queue: q,
            } => {
                let me = self.bond.mac();
                let spa = HOST_V4[0];
                let (opcode, dmac, tha, tpa) = match op % 3 {
                    0 => (
                        1,
                        MacAddr::BROADCAST,
                        MacAddr::ZERO,
                        peer_v4(u16::from(*target)),
                    ),
                    1 => (
                        2,
                        peer_mac(u16::from(*target)),
                        peer_mac(u16::from(*target)),
                        peer_v4(u16::from(*target)),
                    ),
                    _ => (1, MacAddr::BROADCAST, MacAddr::ZERO, spa),
                };
                let arp = frames::arp(opcode, me.0, spa.octets(), tha.0, tpa.octets());
                let f = eth(dmac, me, *vlan, 0x0806, &arp);
                self.host(f, queue(*q));
            }
            Op::HostNd {
                na,
                target,
                queue: q,
            } => {
                let me = self.bond.mac();
                let peer = peer_v6(u16::from(*target));
                let (dip, dmac, tgt) = if *na {
                    (peer, peer_mac(u16::from(*target)), HOST_V6[0])
                } else {
                    let g = frames::solicited_node(&peer.octets());
                    (
                        Ipv6Addr::from(g),
                        MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]]),
                        peer,
                    )
                };
                let ip = frames::ndisc(
                    *na,
                    if *na { 0x60 } else { 0 },
                    HOST_V6[0].octets(),
                    dip.octets(),
                    tgt.octets(),
                    Some(me.0),
                );
                let f = eth(dmac, me, 0, 0x86dd, &ip);
                self.host(f, queue(*q));
            }
            Op::HostRaw { frame, queue: q } => self.host(frame.0.clone(), queue(*q)),
            Op::Advance { ms } => self.advance(Duration::from_millis(u64::from(*ms))),
            Op::AdvanceToNext => {
                if let Some(d) = self.next_deadline() {
                    let d = d.min(self.now + Duration::from_secs(600)).max(self.now);
                    self.timeout_at(d);
                }
            }
            Op::Jump { ms } => {
                self.now += Duration::from_millis(u64::from(*ms));
                self.bond.handle_timeout(self.now);
                if let Some(p) = self.partner.as_mut() {
                    p.handle_timeout(self.now);
                }
                self.drain();
            }
            Op::SetOption { name, value } => {
                let v = VALUES[usize::from(*value) % VALUES.len()];
                self.set_option(option_name(*name), v);
            }
            Op::SetOptionRaw { name, value } => {
                let v = String::from_utf8_lossy(&value.0).into_owned();
                self.set_option(option_name(*name), &v);
            }
            Op::HostAddresses { v4, v6, vlan } => {
                let a4: Vec<Ipv4Addr> = HOST_V4
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| v4 & (1 << k) != 0)
                    .map(|(_, a)| *a)
                    .collect();
                let a6: Vec<Ipv6Addr> = HOST_V6
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| v6 & (1 << k) != 0)
                    .map(|(_, a)| *a)
                    .collect();
                match vlan % 4 {
                    0 => self.bond.set_host_addresses(self.now, &a4, &a6),
                    k => self.bond.set_vlan_host_addresses(
                        self.now,
                        [10, 4095, 0xf00a][usize::from(k) - 1],
                        &a4,
                        &a6,
                    ),
                }
                self.drain();
            }
            Op::SetMac { which } => {
                let mac = match which % 4 {
                    0 => MacAddr([0x02, 0, 0, 0, 0x0b, *which]),
                    1 => perm_mac(usize::from(*which / 4) % MEMBERS),
                    2 => self.bond.mac(),
                    _ => [
                        MacAddr::ZERO,
                        MacAddr::BROADCAST,
                        MacAddr([1, 0, 0x5e, 0, 0, 1]),
                    ][usize::from(*which / 4) % 3],
                };
                let r = self.bond.set_mac(self.now, mac);
                assert_eq!(r.is_ok(), mac.is_valid_unicast(), "set_mac({mac}): {r:?}");
                self.drain();
            }
            Op::SetMtu { mtu } => {
                self.bond.set_mtu(self.now, u32::from(*mtu));
                assert_eq!(self.bond.mtu(), u32::from(*mtu));
                self.drain();
            }
            Op::Open => {
                self.bond.open(self.now);
                assert!(self.bond.is_up());
                let _ = self.bond.take_warnings();
                self.drain();
            }
            Op::Close => {
                self.bond.close(self.now);
                assert!(!self.bond.is_up());
                self.drain();
            }
        }
    }

    fn host_ip(&self, kind: u8, flow: u16, dst: u8, vlan: u8, len: u8) -> Vec<u8> {
        let me = self.bond.mac();
        let src4 = HOST_V4[0].octets();
        let dst4 = peer_v4(flow).octets();
        let src6 = HOST_V6[0].octets();
        let dst6 = peer_v6(flow).octets();
        let dmac = match dst % 4 {
            0 => peer_mac(flow),
            1 => MacAddr::BROADCAST,
            2 => MacAddr([0x01, 0, 0x5e, 0, 0, 0x16]),
            _ => MacAddr([0x33, 0x33, 0, 0, 0, 0x16]),
        };
        let pad = usize::from(len);
        let (sport, dport) = (flow.wrapping_add(1024), 9000 + (flow >> 8));
        let (et, l3) = match kind % 10 {
            0 => (
                0x0800,
                frames::ipv4(src4, dst4, 17, &frames::udp_header(sport, dport, pad)),
            ),
            1 => (
                0x0800,
                frames::ipv4(src4, dst4, 6, &frames::tcp_header(sport, dport)),
            ),
            2 => (
                0x86dd,
                frames::ipv6(src6, dst6, 17, &frames::udp_header(sport, dport, pad)),
            ),
            3 => (
                0x86dd,
                frames::ipv6(src6, dst6, 6, &frames::tcp_header(sport, dport)),
            ),
            4 | 6 => {
                let group = [239, 1, (flow >> 8) as u8, flow as u8];
                let t = if kind % 10 == 4 { 0x16 } else { 0x17 };
                let mut igmp = vec![t, 0, 0, 0];
                igmp.extend_from_slice(&group);
                (0x0800, frames::ipv4(src4, [224, 0, 0, 22], 2, &igmp))
            }
            5 => {
                // IGMPv3: one record, type (flow % 6) + 1, no sources.
                let mut igmp = vec![0x22, 0, 0, 0, 0, 0, 0, 1];
                igmp.extend_from_slice(&[(flow % 6) as u8 + 1, 0, 0, 0, 239, 2, 0, flow as u8]);
                (0x0800, frames::ipv4(src4, [224, 0, 0, 22], 2, &igmp))
            }
            7 => {
                // MLDv2 report behind a hop-by-hop header with router alert.
                let mut p = vec![58, 0, 5, 2, 0, 0, 1, 0];
                p.extend_from_slice(&[143, 0, 0, 0, 0, 0, 0, 1]);
                p.extend_from_slice(&[(flow % 6) as u8 + 1, 0, 0, 0]);
                p.extend_from_slice(&[0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
                let mut g = frames::ipv6(
                    src6,
                    [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16],
                    0,
                    &p,
                );
                g[7] = 1;
                (0x86dd, g)
            }
            8 => (
                0x0800,
                frames::ipv4(src4, dst4, 1, &[8, 0, 0, 0, 0, 1, 0, 1]),
            ),
            _ => {
                let mut ip = frames::ipv4(src4, dst4, 17, &frames::udp_header(sport, dport, pad));
                ip[6] = 0x20; // more fragments
                (0x0800, ip)
            }
        };
        eth(dmac, me, vlan, et, &l3)
    }

    fn set_option(&mut self, name: &str, value: &str) {
        let mode = self.bond.mode();
        let r = self.bond.set_option(self.now, name, value);
        match &r {
            Ok(_) => {
                if name == "mode" {
                    assert!(self.bond.member_indices().next().is_none());
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.is_empty());
                if let Some(o) = e.option() {
                    assert_eq!(o, name, "error {msg:?} about another option");
                    assert!(msg.contains(name), "{msg:?} does not name {name}");
                }
                assert_eq!(self.bond.mode(), mode, "a refused option changed the mode");
            }
        }
        if crate::input::trace() {
            eprintln!("  set_option({name:?}, {value:?}): {r:?}");
        }
        self.drain();
    }

    // ------------------------------------------------------------------ time

    fn next_deadline(&self) -> Option<Duration> {
        [
            self.bond.poll_timeout(),
            self.partner.as_ref().and_then(lacp::System::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves to `t` (not before now) and handles what is due there.
    fn timeout_at(&mut self, t: Duration) {
        assert!(t >= self.now);
        self.now = t;
        self.bond.handle_timeout(t);
        if let Some(p) = self.partner.as_mut() {
            p.handle_timeout(t);
        }
        self.drain();
        if let Some(d) = self.bond.poll_timeout() {
            assert!(
                d >= t,
                "deadline {d:?} before now {t:?} after handle_timeout"
            );
        }
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        for _ in 0..MAX_DEADLINES_PER_ADVANCE {
            match self.next_deadline() {
                Some(d) if d <= end && self.deadlines_left > 0 => {
                    self.deadlines_left -= 1;
                    self.timeout_at(d.max(self.now));
                }
                _ => break,
            }
        }
        self.timeout_at(end);
    }

    /// Handles what is due now until the deadline is past now; it must get there in a few
    /// calls.
    fn catch_up(&mut self) {
        for _ in 0..8 {
            match self.bond.poll_timeout() {
                Some(d) if d <= self.now => {
                    self.bond.handle_timeout(self.now);
                    self.drain();
                }
                _ => break,
            }
        }
        if let Some(d) = self.bond.poll_timeout() {
            assert!(
                d > self.now,
                "deadline {d:?} still due at {:?} after 8 handle_timeout calls",
                self.now
            );
        }
    }

    // ------------------------------------------------------------------ invariants

    /// What a caller can see of the bond (the JSON status adds only the counters to this).
    fn observe(&self) -> Observed {
        (
            self.bond.status(),
            self.bond.counters(),
            self.members(),
            self.bond.plan().generation(),
            self.bond.poll_timeout(),
            self.bond.active_member(),
            self.bond.carrier(),
        )
    }

    /// The invariants after a step.
    fn check(&mut self) {
        // Never in the past after an input at now; then due work runs out.
        if let Some(d) = self.bond.poll_timeout() {
            assert!(
                d >= self.now,
                "deadline {d:?} in the past at {:?}",
                self.now
            );
        }
        self.catch_up();
        // A spurious handle_timeout changes nothing observable.
        let before = self.observe();
        self.bond.handle_timeout(self.now);
        assert_eq!(
            self.bond.poll_event(),
            None,
            "spurious handle_timeout: event"
        );
        assert!(
            self.bond.poll_transmit(self.now).is_none(),
            "spurious handle_timeout: control frame"
        );
        let after = self.observe();
        assert!(after == before, "spurious handle_timeout changed the bond");

        let bond = &self.bond;
        let mode = bond.mode();
        let members = self.members();
        let present: BTreeSet<usize> = members.iter().map(|st| st.index).collect();

        // Status: the text renders with one Slave Interface per member; the JSON round-trips.
        let (text, json) = (&before.0, bond.status_json());
        assert!(text.starts_with(VERSION_LINE));
        assert!(text.contains(&format!("Bonding Mode: {}", mode.description())));
        assert_eq!(text.matches("\nSlave Interface: ").count(), members.len());
        let s = serde_json::to_string(&json).expect("JSON serialises");
        let back: serde_json::Value = serde_json::from_str(&s).expect("JSON parses");
        assert_eq!(back, json);
        assert_eq!(
            json["members"].as_array().map(Vec::len),
            Some(members.len())
        );

        // The events told the state.
        assert_eq!(self.active, bond.active_member(), "last ActiveMember event");
        assert_eq!(self.carrier, bond.carrier(), "last Carrier event");
        assert_eq!(
            self.fallback,
            bond.lacp_fallback_engaged(),
            "last LacpFallback"
        );
        let plan = bond.plan();
        assert_eq!(self.generation, plan.generation(), "last PlanChanged event");
        for st in &members {
            assert_eq!(
                self.links.get(&st.index),
                Some(&st.link),
                "member {} link",
                st.index
            );
        }
        if let Some(a) = bond.active_member() {
            assert!(present.contains(&a));
            let st = self.status_of(a);
            assert_ne!(st.link, LinkState::Down, "active member {a} is down");
        }

        // The bond's carrier.
        let any_up = members.iter().any(|st| st.link == LinkState::Up);
        let want = if members.is_empty() {
            false
        } else if mode == Mode::Ieee8023ad && !bond.lacp_fallback_engaged() {
            bond.lacp().is_some_and(lacp::System::carrier)
        } else {
            any_up
        };
        assert_eq!(bond.carrier(), want, "bond carrier");

        // Member roles.
        let asa = bond.options().all_slaves_active();
        for st in &members {
            let m = st.index;
            match mode {
                Mode::Ieee8023ad if bond.lacp_fallback_engaged() => {
                    let act = bond.active_member() == Some(m);
                    assert_eq!(st.active, act, "fallback: member {m} active flag");
                    assert_eq!(st.inactive, !act && !asa, "fallback: member {m} inactive");
                }
                Mode::Ieee8023ad => {
                    let l = bond.lacp().expect("802.3ad has LACP");
                    assert_eq!(st.active, l.is_distributing(m), "port {m} active flag");
                    assert_eq!(
                        st.inactive,
                        !l.is_collecting(m) && !asa,
                        "port {m} inactive flag"
                    );
                }
                Mode::ActiveBackup => {
                    if bond.active_member() == Some(m) {
                        assert!(st.active && !st.inactive, "active member {m} flags");
                    } else if bond.monitor().current_arp_slave() != Some(m)
                        && st.link != LinkState::Back
                    {
                        // A backup receives nothing (but what the monitors need), unless
                        // all_slaves_active; the ARP monitor's probed member is active (and
                        // stays so, going back, until its next run even when a release
                        // cleared current_arp_slave, as in Linux).
                        assert!(!st.active, "backup {m} is active");
                        assert_eq!(st.inactive, !asa, "backup {m} inactive flag");
                    }
                }
                Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast => {
                    // The load-balancing ARP monitor makes members that are down backups
                    // (bond_slave_state_change()); nothing makes them inactive.
                    assert!(!st.inactive, "member {m} inactive in {mode}");
                    if st.link == LinkState::Up {
                        assert!(st.active, "member {m} up but a backup in {mode}");
                    }
                }
                Mode::BalanceTlb | Mode::BalanceAlb => {
                    let act = bond.active_member() == Some(m);
                    assert!(st.active, "member {m} backup flag in {mode}");
                    assert_eq!(st.inactive, !act && !asa, "member {m} inactive in {mode}");
                }
            }
        }

        // The plan matches the member table.
        let mut order = Vec::new();
        let mut can_tx = 0u64;
        for st in &members {
            order.push(st.index);
            if Self::can_tx(st) {
                can_tx |= 1 << st.index;
            }
        }
        assert_eq!(plan.can_tx().0, can_tx, "plan can_tx");
        assert_eq!(plan.active_member(), bond.active_member(), "plan active");
        let inactive: u64 = members
            .iter()
            .filter(|st| st.inactive)
            .map(|st| 1u64 << st.index)
            .sum();
        assert_eq!(plan.inactive_members().0, inactive, "plan inactive");
        let usable: Vec<u8> = plan.usable_members().to_vec();
        let want: Vec<u8> = match mode {
            Mode::BalanceXor | Mode::BalanceTlb | Mode::BalanceAlb => members
                .iter()
                .filter(|st| Self::can_tx(st))
                .map(|st| st.index as u8)
                .collect(),
            Mode::Ieee8023ad => members
                .iter()
                .filter(|st| {
                    Self::can_tx(st)
                        && (bond.lacp_fallback_engaged() || self.distributing(st.index))
                })
                .map(|st| st.index as u8)
                .collect(),
            _ => Vec::new(),
        };
        assert_eq!(usable, want, "plan usable members");

        // Counters: every frame counted once.
        let c = bond.counters();
        let counted: BTreeSet<usize> = c.members.iter().map(|(i, _)| *i).collect();
        assert_eq!(counted, present);
        for (i, mc) in &c.members {
            let want = self.exp.member.get(i).copied().unwrap_or_default();
            assert_eq!(
                [mc.tx_frames, mc.tx_bytes, mc.rx_frames, mc.rx_bytes],
                want,
                "member {i} counters"
            );
        }
        assert_eq!(c.tx_drop, self.exp.tx_drop, "tx drop counters");
        assert_eq!(c.rx_drop, self.exp.rx_drop, "rx drop counters");
        assert_eq!(c.control_tx, self.exp.control, "control frame counters");
        assert_eq!(c.events_dropped, 0);

        // Requests: the NICs are what the member table says.
        let nic_keys: BTreeSet<usize> = self.nics.keys().copied().collect();
        assert_eq!(nic_keys, present, "NICs vs members");
        let promisc = bond.alb().and_then(arp_alb::Alb::promiscuous_member);
        let bond_mac = bond.mac();
        if let Some(m) = self.bond_mac_event {
            assert_eq!(m, bond_mac, "last SetBondMac");
        }
        for st in &members {
            let nic = &self.nics[&st.index];
            let m = st.index;
            assert_eq!(nic.mac, st.mac, "member {m} MAC programmed");
            assert_eq!(nic.perm, st.perm_mac, "member {m} permanent MAC");
            assert_eq!(nic.mtu, bond.mtu(), "member {m} MTU");
            assert_eq!(nic.promisc, promisc == Some(m), "member {m} promiscuity");
            assert_eq!(
                nic.slow_mcast,
                mode == Mode::Ieee8023ad && bond.is_up(),
                "member {m} slow-protocols group"
            );
        }
        let fom = bond.options().fail_over_mac();
        let active = bond.active_member();
        match mode {
            Mode::ActiveBackup if fom == afxdp_bond::engine::FailOverMac::Active => {
                for st in &members {
                    assert_eq!(st.mac, st.perm_mac, "fail_over_mac=active: {}", st.index);
                }
                if let Some(a) = active {
                    assert_eq!(self.status_of(a).mac, bond_mac, "bond takes active's MAC");
                }
            }
            Mode::ActiveBackup if fom == afxdp_bond::engine::FailOverMac::Follow => {
                if let Some(a) = active {
                    assert_eq!(self.status_of(a).mac, bond_mac, "follow: active's MAC");
                }
                let n = members.iter().filter(|st| st.mac == bond_mac).count();
                assert!(n <= 1, "follow: {n} members have the bond's MAC");
            }
            Mode::BalanceTlb | Mode::BalanceAlb => {
                if let (Some(a), Some(_)) = (active, bond.alb()) {
                    assert_eq!(self.status_of(a).mac, bond_mac, "lb: active's MAC");
                }
                if mode == Mode::BalanceAlb {
                    let macs: BTreeSet<MacAddr> = members.iter().map(|st| st.mac).collect();
                    assert_eq!(macs.len(), members.len(), "alb: two members share a MAC");
                }
            }
            _ => {
                for st in &members {
                    assert_eq!(st.mac, bond_mac, "member {} has the bond's MAC", st.index);
                }
            }
        }
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    let mut h = Harness::new(&input.setup);
    h.check();
    for op in input.ops.iter().take(MAX_OPS) {
        if crate::input::trace() {
            eprintln!("{:?} {op:?}", h.now);
        }
        h.op(op);
        h.check();
        if crate::input::trace() {
            eprintln!(
                "  active {:?} carrier {} members {:?}",
                h.bond.active_member(),
                h.bond.carrier(),
                h.members()
                    .iter()
                    .map(|st| (
                        st.index,
                        st.link,
                        st.link_info.carrier,
                        st.active,
                        st.inactive
                    ))
                    .collect::<Vec<_>>()
            );
            if let Some(l) = h.bond.lacp() {
                for p in h.bond.member_indices().filter_map(|i| l.port(i)) {
                    eprintln!(
                        "  port {}: lacp {} link {:?} agg {:?} {:?} {:?} coll {} dist {}",
                        p.index,
                        p.lacp_enabled,
                        p.link,
                        p.aggregator_id,
                        p.rx_state,
                        p.mux_state,
                        p.collecting,
                        p.distributing
                    );
                }
            }
        }
    }
}

/// The index of `tok` in [`TOKENS`].
fn tok(t: &str) -> u8 {
    TOKENS.iter().position(|x| *x == t).expect("token") as u8
}

fn tokens(ts: &[&str]) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (o, t) in out.iter_mut().zip(ts) {
        *o = tok(t);
    }
    out
}

/// The `Setup::mode` byte of a mode, by name.
fn mode_byte(m: Mode) -> u8 {
    m.number() * 2
}

/// The index of a value in [`VALUES`].
fn val(v: &str) -> u8 {
    VALUES.iter().position(|x| *x == v).expect("value") as u8
}

/// The `name` byte of an option.
fn opt(name: &str) -> u8 {
    OPTIONS.iter().position(|d| d.name == name).expect("option") as u8
}

fn udp(flow: u16) -> Op {
    Op::HostIp {
        kind: 0,
        flow,
        dst: 0,
        vlan: 0,
        len: 20,
        queue: 0,
    }
}

fn flows(n: u16) -> Vec<Op> {
    (1..=n)
        .flat_map(|k| {
            [
                udp(k),
                Op::HostIp {
                    kind: 3,
                    flow: k * 7,
                    dst: 0,
                    vlan: (k % 2) as u8,
                    len: 0,
                    queue: 0,
                },
            ]
        })
        .collect()
}

fn link(member: u8, up: bool, immediate: bool) -> Op {
    Op::Link {
        member,
        link: u8::from(!up),
        immediate,
    }
}

fn adv(ms: u16) -> Op {
    Op::Advance { ms }
}

fn igmp_join(flow: u16) -> Op {
    Op::HostIp {
        kind: 4,
        flow,
        dst: 2,
        vlan: 0,
        len: 0,
        queue: 0,
    }
}

/// An input that receives the frames on members 0 and 1 in turn and sends them from the
/// host: real captured frames through a bond of the mode that fits them.
pub fn capture_seed(frames: &[Vec<u8>], lacp: bool) -> Input {
    let mode = if lacp {
        Mode::Ieee8023ad
    } else {
        Mode::ActiveBackup
    };
    let toks: &[&str] = if lacp {
        &["lacp_rate=fast"]
    } else {
        &[
            "arp_interval=100",
            "arp_ip_target=198.18.1.1",
            "arp_validate=all",
        ]
    };
    let mut ops = Vec::new();
    for (k, f) in frames.iter().take(24).enumerate() {
        let f = Bytes(f[..f.len().min(crate::input::MAX_BYTES)].to_vec());
        ops.push(Op::RxRaw {
            member: (k % 2) as u8,
            frame: f.clone(),
        });
        ops.push(Op::HostRaw { frame: f, queue: 0 });
        if k % 4 == 3 {
            ops.push(adv(150));
        }
    }
    Input {
        setup: Setup {
            mode: mode_byte(mode),
            tokens: tokens(toks),
            members: 2,
            flags: 4 | 8,
            seed: 1,
        },
        ops,
    }
}

/// Hand-made seeds: a few meaningful sequences per mode.
pub fn seeds() -> Vec<(&'static str, Input)> {
    let marker_info = Pdu::Marker(lacp::wire::MarkerPdu {
        version: 1,
        kind: MarkerKind::Information,
        requester_port: 1,
        requester_system: lacp::MacAddr(PARTNER_SYSTEM.0),
        transaction_id: 7,
    });
    let mut out = Vec::new();
    out.push((
        "rr-failover",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::BalanceRr),
                tokens: tokens(&["miimon=100", "packets_per_slave=3", "resend_igmp=3"]),
                members: 3,
                flags: 4 | 8,
                seed: 3,
            },
            ops: [
                flows(4),
                vec![
                    igmp_join(1),
                    link(1, false, true),
                    udp(1),
                    udp(2),
                    adv(300),
                    link(1, true, false),
                    adv(300),
                ],
                flows(2),
                vec![Op::Close, udp(1), Op::Open, adv(1000)],
            ]
            .concat(),
        },
    ));
    out.push((
        "ab-failover-notify",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::ActiveBackup),
                tokens: tokens(&[
                    "miimon=100",
                    "num_grat_arp=3",
                    "peer_notif_delay=200",
                    "primary=eth1",
                    "updelay=200",
                ]),
                members: 3,
                flags: 4 | 8,
                seed: 0,
            },
            ops: [
                flows(2),
                vec![
                    igmp_join(3),
                    Op::HostAddresses {
                        v4: 0b11,
                        v6: 0b101,
                        vlan: 1,
                    },
                    link(1, false, true),
                    adv(1000),
                    link(1, true, false),
                    adv(1000),
                    Op::SetOption {
                        name: opt("active_slave"),
                        value: val("eth0"),
                    },
                    Op::HostArp {
                        op: 0,
                        target: 5,
                        vlan: 0,
                        queue: 0,
                    },
                    Op::RxArp {
                        member: 2,
                        op: 1,
                        from: 3,
                        to: 0,
                        dst: 0,
                        vlan: 0,
                    },
                    Op::HostIp {
                        kind: 0,
                        flow: 9,
                        dst: 0,
                        vlan: 0,
                        len: 0,
                        queue: 130,
                    },
                    Op::RemoveMember { member: 2 },
                    adv(2000),
                ],
            ]
            .concat(),
        },
    ));
    for (name, fom) in [
        ("ab-arp-monitor", "arp_validate=all"),
        ("ab-arp-monitor-follow", "fail_over_mac=follow"),
    ] {
        let reply = |member: u8| Op::RxArp {
            member,
            op: 1,
            from: 0,
            to: 0,
            dst: 0,
            vlan: 0,
        };
        out.push((
            name,
            Input {
                setup: Setup {
                    mode: mode_byte(Mode::ActiveBackup),
                    tokens: tokens(&["arp_interval=100", "arp_ip_target=198.18.1.1", fom]),
                    members: 2,
                    flags: 4 | 8,
                    seed: 0,
                },
                ops: vec![
                    adv(250),
                    reply(0),
                    reply(1),
                    adv(100),
                    reply(0),
                    reply(1),
                    adv(100),
                    udp(1),
                    link(0, false, false),
                    adv(500),
                    reply(1),
                    adv(100),
                    udp(2),
                    link(0, true, true),
                    reply(0),
                    adv(300),
                    Op::AdvanceToNext,
                ],
            },
        ));
    }
    out.push((
        "xor-hash-speeds",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::BalanceXor) + 1,
                tokens: tokens(&["xmit_hash_policy=layer3+4", "miimon=100", "downdelay=100"]),
                members: 4,
                flags: 4,
                seed: 0,
            },
            ops: [
                flows(6),
                vec![
                    Op::Link {
                        member: 2,
                        link: 0b10_0010,
                        immediate: true,
                    },
                    link(3, false, true),
                    adv(250),
                ],
                flows(3),
                vec![Op::SetOption {
                    name: opt("xmit_hash_policy"),
                    value: val("encap2+3"),
                }],
                flows(2),
            ]
            .concat(),
        },
    ));
    out.push((
        "broadcast",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::Broadcast),
                tokens: tokens(&["miimon=100"]),
                members: 3,
                flags: 4,
                seed: 0,
            },
            ops: [
                flows(2),
                vec![link(0, false, true), adv(200)],
                flows(1),
                vec![link(0, true, true)],
                flows(1),
            ]
            .concat(),
        },
    ));
    out.push((
        "8023ad-partner",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::Ieee8023ad),
                tokens: tokens(&["lacp_rate=fast", "xmit_hash_policy=layer3+4"]),
                members: 4,
                flags: 1 | 2 | 4 | 8,
                seed: 0,
            },
            ops: [
                vec![adv(5000)],
                flows(4),
                vec![link(0, false, true), adv(3000)],
                flows(2),
                vec![
                    Op::RemoveMember { member: 1 },
                    Op::RxPdu {
                        member: 2,
                        pdu: marker_info,
                    },
                    Op::AddMember {
                        member: 1,
                        name: 0,
                        mac: 0,
                        mtu: 1,
                        link: 0,
                    },
                    adv(4000),
                    Op::Link {
                        member: 3,
                        link: 0b10_0000,
                        immediate: true,
                    },
                    adv(2000),
                    Op::RxEmitted {
                        member: 2,
                        which: 0,
                    },
                    Op::Close,
                    Op::Open,
                    adv(5000),
                ],
                flows(2),
            ]
            .concat(),
        },
    ));
    out.push((
        "8023ad-fallback",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::Ieee8023ad) + 1,
                tokens: tokens(&[
                    "lacp_fallback=active-backup",
                    "lacp_rate=fast",
                    "num_grat_arp=3",
                ]),
                members: 3,
                flags: 4 | 8,
                seed: 0,
            },
            ops: [
                vec![adv(4000)],
                flows(2),
                vec![
                    link(0, false, true),
                    adv(500),
                    Op::RxLacpdu {
                        member: 1,
                        state: 0x3d,
                        flags: 0,
                    },
                    adv(100),
                    Op::RxLacpdu {
                        member: 1,
                        state: 0x3d,
                        flags: 0,
                    },
                    Op::RxLacpdu {
                        member: 2,
                        state: 0x3d,
                        flags: 0,
                    },
                    adv(3000),
                    Op::RxLacpdu {
                        member: 2,
                        state: 0x3f,
                        flags: 0,
                    },
                    adv(1000),
                ],
                flows(2),
                vec![adv(10_000)],
            ]
            .concat(),
        },
    ));
    out.push((
        "8023ad-broadcast-neighbor",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::Ieee8023ad),
                tokens: tokens(&["broadcast_neighbor=1", "lacp_rate=fast", "min_links=2"]),
                members: 3,
                flags: 1 | 2 | 4 | 8,
                seed: 0,
            },
            ops: vec![
                adv(5000),
                Op::HostArp {
                    op: 0,
                    target: 1,
                    vlan: 0,
                    queue: 0,
                },
                Op::HostNd {
                    na: false,
                    target: 2,
                    queue: 0,
                },
                udp(5),
                link(2, false, true),
                link(1, false, true),
                adv(1000),
                udp(5),
            ],
        },
    ));
    out.push((
        "tlb-rebalance",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::BalanceTlb),
                tokens: [0; 6],
                members: 3,
                flags: 4 | 8,
                seed: 0,
            },
            ops: [
                flows(6),
                vec![adv(10_500), link(1, false, true), adv(200)],
                flows(3),
                vec![Op::SetMac { which: 0 }, adv(1000)],
            ]
            .concat(),
        },
    ));
    let client_arp = |member: u8, from: u8| Op::RxArp {
        member,
        op: 0,
        from,
        to: 0,
        dst: 2,
        vlan: 0,
    };
    out.push((
        "alb-clients",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::BalanceAlb) + 1,
                tokens: [0; 6],
                members: 3,
                flags: 4 | 8,
                seed: 0,
            },
            ops: vec![
                client_arp(0, 3),
                client_arp(1, 7),
                Op::HostArp {
                    op: 1,
                    target: 3,
                    vlan: 0,
                    queue: 0,
                },
                Op::HostArp {
                    op: 0,
                    target: 11,
                    vlan: 0,
                    queue: 0,
                },
                client_arp(2, 11),
                udp(3),
                adv(1500),
                link(0, false, true),
                adv(500),
                udp(3),
                Op::RxRaw {
                    member: 1,
                    frame: Bytes(eth(perm_mac(0), PEER_MAC, 0, 0x0800, &[0x45; 30])),
                },
                adv(11_000),
                Op::RemoveMember { member: 1 },
                adv(1000),
            ],
        },
    ));
    out.push((
        "options-and-members",
        Input {
            setup: Setup {
                mode: mode_byte(Mode::ActiveBackup) + 1,
                tokens: tokens(&["queue_id=eth1:2", "prio=eth2:10", "miimon=100"]),
                members: 3,
                flags: 8,
                seed: 0,
            },
            ops: vec![
                Op::SetOption {
                    name: opt("primary_reselect"),
                    value: val("better"),
                },
                Op::SetOption {
                    name: opt("miimon"),
                    value: val("-1"),
                },
                Op::SetOption {
                    name: opt("mode"),
                    value: val("802.3ad"),
                },
                Op::Open,
                Op::HostIp {
                    kind: 1,
                    flow: 4,
                    dst: 0,
                    vlan: 0,
                    len: 0,
                    queue: 128 + 2,
                },
                Op::AddMember {
                    member: 3,
                    name: 1,
                    mac: 1,
                    mtu: 2,
                    link: 0x31,
                },
                Op::AddMember {
                    member: 4,
                    name: 0,
                    mac: 3,
                    mtu: 0,
                    link: 0,
                },
                Op::Close,
                Op::RemoveMember { member: 0 },
                Op::RemoveMember { member: 1 },
                Op::RemoveMember { member: 2 },
                Op::SetOption {
                    name: opt("mode"),
                    value: val("balance-alb"),
                },
                Op::AddMember {
                    member: 0,
                    name: 0,
                    mac: 0,
                    mtu: 0,
                    link: 0,
                },
                Op::SetOptionRaw {
                    name: opt("arp_ip_target"),
                    value: Bytes(b"+198.18.1.9".to_vec()),
                },
                Op::SetMtu { mtu: 9000 },
                Op::Open,
                adv(500),
                Op::Jump { ms: 100_000 },
            ],
        },
    ));
    out
}
