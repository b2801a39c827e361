//! Adaptive load balancing for the bonding modes balance-tlb (5) and balance-alb (6),
//! sans-IO, as the Linux bonding driver's `bond_alb.c` does it.
//!
//! - **TLB** (both modes): a 256-entry transmit table. In balance-tlb the key is the low
//!   8 bits of the bond's `xmit_hash_policy` hash (the caller computes it); in balance-alb
//!   it is the XOR of the destination IPv4 (or IPv6) address's bytes. An empty entry goes
//!   to the member that can transmit with the largest gap between its speed and its load;
//!   bytes are counted per entry, and every 10 s all entries are released with their
//!   load remembered, so flows are redistributed by load. With `tlb_dynamic_lb=0` the
//!   member is `hash % usable members` instead. Frames that are not balanced (broadcast,
//!   multicast in balance-tlb, non-IP, IPv6 neighbour discovery, IGMP, ...) go out on the
//!   active member. A frame sent on another member gets that member's source address.
//! - **RLB** (balance-alb): a 256-slot client table indexed by the XOR of the client's
//!   IPv4 address bytes (a collision evicts the older client, which is first moved to
//!   the active member and told so). The host's ARP replies are rewritten so each client
//!   learns the address of its own member, and leave on that member; the host's ARP
//!   requests record the client and, because they told every host the bond's address,
//!   schedule updates (2 ARP replies per client) 2 s later; received ARP replies teach a
//!   client's MAC. When a member fails, joins or changes address, clients are reassigned
//!   and updated (retried 3 times, 2 s apart after a failure); a failed member's address
//!   is taught to the active member, which listens promiscuously for 10 s. Every member
//!   has its own address and the active one carries the bond's; addresses swap on
//!   failover.
//! - **Learning frames** every `lp_interval` (default 1 s) on every member, untagged and on
//!   each VLAN of the bond, so the switch keeps each member's address on its port.
//! - **IPv6 extension** ([`Config::rlb_ipv6`], off by default; Linux has none): the same
//!   receive balancing for IPv6 clients, by rewriting the link-layer address option of the
//!   host's neighbour solicitations and advertisements (with a correct ICMPv6 checksum),
//!   with its own 256-slot client table and unsolicited advertisements as updates.
//!
//! Nothing here touches a device: address and promiscuity changes are [`Event`]s, control
//! frames are [`Transmit`]s, and time is an argument.
//!
//! # Using it
//!
//! ```
//! use arp_alb::{Alb, Config, MacAddr, MemberLink, Mode, TxDecision};
//! use core::time::Duration;
//!
//! let bond_mac = MacAddr([0x52, 0x54, 0, 0, 0, 1]);
//! let mut alb = Alb::new(Config::new(Mode::BalanceAlb, bond_mac)).unwrap();
//! let t0 = Duration::ZERO;
//! alb.add_member(t0, 0, bond_mac, 10_000, MemberLink::Up).unwrap();
//! alb.add_member(t0, 1, MacAddr([0x52, 0x54, 0, 0, 0, 2]), 10_000, MemberLink::Up).unwrap();
//! alb.set_active(t0, Some(0)).unwrap(); // the engine's active-member selection
//! while let Some(ev) = alb.poll_event() { /* program MACs, promiscuity */ let _ = ev; }
//! while let Some(tx) = alb.poll_transmit(t0) { /* send tx.frame() on tx.member */ let _ = tx; }
//!
//! // A frame from the host: pick the member, rewriting the frame in place.
//! let mut frame = [0u8; 60];
//! frame[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
//! frame[6..12].copy_from_slice(&bond_mac.0);
//! frame[12..14].copy_from_slice(&[0x08, 0x00]);
//! frame[14] = 0x45;
//! frame[30..34].copy_from_slice(&[198, 18, 0, 20]);
//! match alb.select_tx(t0, &mut frame, |_| 0) {
//!     TxDecision::Send { member, .. } => assert!(member < 2),
//!     TxDecision::Drop(reason) => panic!("{reason:?}"),
//! }
//! // Then at alb.poll_timeout(): alb.handle_timeout(now), and poll again.
//! ```
//!
//! Poll order after every input or mutator: [`Alb::poll_event`] until `None` (apply the
//! address changes before sending), [`Alb::poll_transmit`] until `None`, then
//! [`Alb::poll_timeout`]. Received frames go to [`Alb::handle_rx`] (every frame on every
//! member; it only looks at ARP, and ND with the extension).
//!
//! # Timing: ticks and deadlines
//!
//! Linux runs `bond_alb_monitor` every 100 ms and counts ticks; this crate keeps exact
//! deadlines. The behaviour is the same; the moments differ by less than a tick:
//!
//! | what | Linux | here |
//! |---|---|---|
//! | learning frames | when `lp_counter` reaches `lp_interval × 10` ticks; the counter restarts at 0 while the bond has no slave | `lp_interval` after the first member joins, then every `lp_interval` after the previous ones |
//! | TLB rebalance | every 100 ticks; a new or recovered slave sets the counter so it happens on the next tick (0–100 ms later) | every 10 s; a new or recovered member makes it due at once (the caller's next [`Alb::handle_timeout`]) |
//! | RLB rebalance (new or recovered member) | flag read on the next tick | due at once |
//! | RLB update round | on the next tick where `rx_ntt` is set and `rlb_update_delay_counter` is 0; the counter (20 after a round or a host ARP request) only counts down on ticks where `rx_ntt` is set, so a round follows the previous one (or a request) after 21 ticks, 2.1 s | due when `rx_ntt` is raised plus the remaining delay: 0 before the first round or request, then 2 s; rounds 2.0 s apart |
//! | retries | `RLB_UPDATE_RETRY` = 3 more rounds after a failure, address change or member removal | same: 4 rounds, 2 s apart |
//! | end of promiscuity | 100 ticks after the last time a disabled address was taught | exactly 10 s after |
//!
//! # Deviations from Linux, and why
//!
//! - TLB arithmetic is 64/128-bit: Linux computes `speed << 20` and `load << 3` in 32 bits,
//!   which wraps for members of 4096 Mb/s and more (a 25 Gb/s member looks like 424 Mb/s)
//!   and keeps `tx_bytes` in 32 bits (wraps at 4 GiB per 10 s). Below those values the
//!   choices are identical.
//! - Learning frames and client updates are not produced for a member without carrier
//!   (Linux queues them to the device, which drops them), and nothing is sent on a member
//!   after it was removed.
//! - A received ARP (or ND message) sent from one of the bond's own addresses is ignored
//!   and counted: Linux would purge every client of that server address when a switch
//!   floods one of the bond's own replies back to another member.
//! - The host's ARP is only rewritten if it is Ethernet/IPv4 (Linux reads any ARP as
//!   such); the check that the sender IP is not a bridge's (Linux `ip_dev_find`) is left
//!   to the caller, which knows its stack. One VLAN tag in the frame is looked through
//!   (Linux sees the tag offloaded); an update keeps the client's TPID where Linux always
//!   tags 802.1Q.
//! - VLANs are given by the caller ([`Alb::set_vlans`]); macvlan devices above the bond
//!   (Linux sends them learning frames when not `strict_match`) are not modelled.
//! - The IPv6 extension is not in Linux.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
// The `Arbitrary` derive (fuzzing only) names `std`; the crate itself uses none of it.
#[cfg(feature = "arbitrary")]
extern crate std;

mod alb;
mod members;
pub mod options;
mod rlb;
mod tlb;
pub mod wire;

pub use alb::{
    Alb, ClientStatus, Counters, Error, Event, FRAME_CAPACITY, MAX_MEMBER_INDEX,
    MAX_PENDING_EVENTS, MAX_PENDING_TRANSMITS, MAX_VLANS, MemberStatus, RLB_ARP_BURST_SIZE,
    RLB_PROMISC_TIMEOUT, RLB_UPDATE_DELAY, RLB_UPDATE_RETRY, TLB_REBALANCE_INTERVAL,
    TlbEntryStatus, Transmit, TransmitKind, TxDecision, TxDrop, Vlan,
};
pub use members::MemberLink;
pub use options::{Config, LpInterval, Mode, OptionError, TlbDynamicLb};
pub use rlb::RLB_HASH_TABLE_SIZE;
pub use tlb::{BOND_TLB_REBALANCE_INTERVAL, TLB_HASH_TABLE_SIZE};
pub use wire::MacAddr;
