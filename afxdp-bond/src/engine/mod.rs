//! The bond, sans-IO: every Linux bonding mode composed from the protocol crates.
//!
//! A [`Bond`] is one bond: its [members](MemberConfig), its [options](BondOptions), the
//! [`link_monitor::LinkMonitor`] (MII or ARP/NS monitor), the [`lacp::System`] in 802.3ad,
//! the [`arp_alb::Alb`] in balance-tlb and balance-alb. It makes no system call, reads no
//! clock, starts no thread; every input that depends on time takes `now`, a monotonic
//! [`Duration`](core::time::Duration) since an origin the caller picks.
//!
//! ```
//! use core::time::Duration;
//! use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig, Tx};
//!
//! let t = Duration::ZERO;
//! let mut bond = Bond::from_modprobe(t, "mode=active-backup miimon=100", BondConfig::default())?;
//! bond.add_member(t, 0, MemberConfig::new("eth0", MacAddr([2, 0, 0, 0, 0, 1])))?;
//! bond.add_member(t, 1, MemberConfig::new("eth1", MacAddr([2, 0, 0, 0, 0, 2])))?;
//! bond.open(t);
//! while let Some(event) = bond.poll_event() { /* program MACs, MTUs, ... */ let _ = event; }
//! let mut frame = [0u8; 60];
//! assert_eq!(bond.select_tx(t, &mut frame), Tx::Member(0));
//! # Ok::<(), afxdp_bond::engine::Error>(())
//! ```
//!
//! # The modes
//!
//! | mode | transmit | receive |
//! |---|---|---|
//! | 0 balance-rr | members in turn (`packets_per_slave`: 1, n, 0 = random), skipping those that cannot send; IGMP on the active member | every member |
//! | 1 active-backup | the active member | the active member; backups drop (link-local frames stay on the member) |
//! | 2 balance-xor | `xmit_hash_policy` hash over the usable members | every member |
//! | 3 broadcast | every member with link | every member |
//! | 4 802.3ad | hash over the distributing ports of the active aggregator | collecting ports; LACPDUs and Markers consumed |
//! | 5 balance-tlb | TLB table (or the hash with `tlb_dynamic_lb=0`); the rest on the active member | the active member |
//! | 6 balance-alb | TLB plus RLB (the host's ARP rewritten per client) | the active member, and unicast on every member |
//!
//! The code of each family is in its own file of `engine/modes/`, named after the kernel
//! function it follows.
//!
//! # Inputs, outputs and the poll order
//!
//! Inputs: [`Bond::handle_rx`] (a frame received on a member), [`Bond::select_tx`] (a
//! frame the host sends), [`Bond::handle_link`] (carrier, speed, duplex),
//! [`Bond::handle_timeout`], and the mutators (members, options, host addresses,
//! [`open`](Bond::open)/[`close`](Bond::close)). Outputs:
//!
//! 1. [`Bond::poll_event`] until `None`: carry out the requests (MACs, MTUs, promiscuity,
//!    multicast filters, released members) before sending anything, since the control
//!    frames that follow may use the new addresses;
//! 2. [`Bond::poll_transmit`] until `None`: send each control frame on its member;
//! 3. [`Bond::poll_timeout`]: call [`Bond::handle_timeout`] at or after it.
//!
//! Do this after every input. `now` must never go backwards.
//!
//! # Events and requests
//!
//! See [`Event`]: the requests the I/O layer must carry out on the devices
//! (`SetBondMac`, `SetMemberMac`, `SetMemberMtu`, `SetPromiscuous`, `JoinMulticast`,
//! `LeaveMulticast`, `MemberReleased`), and the state changes (`MemberLink`,
//! `ActiveMember`, `Carrier`, `ActiveAggregator`, `LacpFallback`, `PlanChanged`).
//!
//! # Fast path and control plane
//!
//! The `Bond` is single-threaded (the caller holds it under a lock, as Linux holds RTNL).
//! Per-frame decisions for several datapath workers read the [`Plan`] it publishes (see
//! [`plan`] for what it covers and what it hands back to the `Bond`);
//! [`Bond::select_tx`] and [`Bond::handle_rx`] are the same decisions for a
//! single-threaded caller, in every mode.
//!
//! # Where this differs from Linux, on purpose
//!
//! Better than Linux:
//!
//! - **Failover on carrier events.** [`Bond::handle_link`] acts on a carrier change when
//!   it arrives: with `miimon`, an active-backup bond fails over within the call instead of
//!   at the next `miimon` run (up to 100 ms later with the usual setting); `updelay` and
//!   `downdelay` still count in monitor runs as in Linux. [`Bond::sample_link`] gives
//!   Linux's polling exactly.
//! - **LACP fallback** (`lacp_fallback=active-backup`, off by default, not a Linux
//!   option): while no LACP partner answers, the 802.3ad bond runs as active-backup (see
//!   `modes/ieee8023ad.rs`), as Open vSwitch's `lacp-fallback-ab` does.
//! - **Peer notifications for every host address.** The host kernel does not know the
//!   user-space bond failed over, so the engine builds the gratuitous ARPs and unsolicited
//!   NAs itself, for every address the host gave ([`Bond::set_host_addresses`],
//!   [`Bond::set_vlan_host_addresses`], tagged on VLANs); their count runs on ticks from the
//!   failover rather than on the monitor's phase (see `notify.rs`).
//! - **balance-alb receive.** Frames for any member's MAC are delivered with the bond's MAC
//!   as destination, including those for a failed member's MAC that the active member
//!   receives promiscuously until the client is updated; Linux's stack drops the latter as
//!   `PACKET_OTHERHOST` (see [`Plan::classify_rx`]).
//!
//! Different because a user-space bond is not in the kernel:
//!
//! - **resend_igmp** re-sends the IGMP/MLD reports the engine saw the host send, since the
//!   host kernel cannot be asked to (see `notify.rs`).
//! - **Multicast filters and promiscuity of the host side** (`bond_hw_addr_swap()`,
//!   `bond_set_rx_mode()`, `NETIF_F` features) are the I/O layer's; the engine only asks
//!   for the slow-protocols address in 802.3ad and for balance-alb's promiscuity.
//! - **Link-local frames on an inactive member** are returned as
//!   [`Rx::DeliverOnMember`]: Linux leaves them on the member device (`RX_HANDLER_PASS`);
//!   the I/O layer decides where that is. Frames Linux would pass only to listeners bound to
//!   the exact member (`RX_HANDLER_EXACT`) are dropped and counted.
//! - **Malformed slow-protocols frames** to `01:80:c2:00:00:02` in 802.3ad are consumed and
//!   counted by the `lacp` crate per reason (Linux passes frames it cannot parse up the
//!   stack, where nothing reads them).
//! - **A member's "permanent" MAC** is the MAC it has when it joins, as Linux saves it; the
//!   caller passes it in [`MemberConfig`].
//! - **`use_carrier`** is accepted and shown; the engine always uses the carrier the caller
//!   reports (a user-space bond has no MII ioctls).
//! - **At most 64 members** (indices 0 to 63), so that sets of members are one word.
//!
//! Different where Linux is inconsistent or its behaviour cannot be reproduced:
//!
//! - **Unknown speed or duplex** in 802.3ad, balance-tlb and balance-alb counts as no
//!   carrier for the MII monitor (Linux marks such a member down when it commits a link up,
//!   or failing at `NETDEV_CHANGE`, and lets the next run sort it out; a member that joins
//!   with carrier and an unknown speed even stays up there). The member is used again when
//!   both are known. Half duplex disables LACP on the port, as in Linux.
//! - **Broadcast mode** sends on every member with carrier and link up, as
//!   `bond_xmit_broadcast()` intends (recent kernels read an `all_slaves` array there that
//!   only the hash modes maintain).
//! - **`updelay`/`downdelay` as module parameters without `miimon`** are dropped: Linux
//!   stores those milliseconds as multipliers of a zero `miimon`, which only matters if
//!   `miimon` is set later.
//! - **`arp_ip_target` and `ns_ip6_target`** take, besides `+addr` and `-addr`, a comma
//!   separated list that replaces the targets (netlink's way; sysfs takes only `+`/`-`).
//! - **The status version line** is this project's (see [`VERSION_LINE`]); the 802.3ad
//!   details Linux shows only to `CAP_NET_ADMIN` are always shown (the status is for root).
//! - **Randomness** (`packets_per_slave=0`, the random MAC of `fail_over_mac=follow`) comes
//!   from [`BondConfig::seed`].
//!
//! Bad frames from the wire never cause an error: they are dropped and counted per reason
//! ([`Bond::counters`], [`Bond::status_json`], and the crates' own counters).

pub mod options;
pub mod plan;

mod bond;
mod configure;
mod enslave;
mod event;
mod frame;
mod json;
mod mac;
mod member;
mod modes;
mod notify;
mod status;

pub use bond::{Bond, BondConfig, BondCounters, Error, MemberCounters};
pub use event::{Event, Transmit, TransmitKind};
pub use frame::MAX_CONTROL_FRAME;
pub use link_monitor::LinkState;
pub use mac::MacAddr;
pub use member::{Duplex, LinkInfo, MemberConfig, MemberStatus};
pub use notify::{IGMP_RESEND_INTERVAL, MAX_GROUPS};
pub use options::{
    BondOptions, FailOverMac, LacpFallback, Mode, OptionError, OptionWarning, PrimaryReselect,
};
pub use plan::{
    MAX_MEMBERS, MemberCounterCells, MemberMask, Plan, Rx, RxDrop, Tx, TxDrop, Worker,
    WorkerCounters,
};
pub use status::VERSION_LINE;
