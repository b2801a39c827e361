//! The Linux bonding driver's transmit hash policies (`xmit_hash_policy`), bit-for-bit.
//!
//! [`hash`] returns, for an Ethernet frame, the 32-bit value the kernel's `__bond_xmit_hash`
//! computes for the same frame on a little-endian host; [`member_index`] turns it into the
//! member the kernel's `balance-xor` and `802.3ad` modes pick; [`hash_batch`] hashes a burst
//! in one call; [`flow_keys`] shows what a policy extracted. The crate is `no_std`, has no
//! `unsafe` code, and allocates nothing per frame.
//!
//! ```
//! use xmit_hash::{Policy, hash, member_index};
//!
//! let policy: Policy = "layer3+4".parse()?;
//! # let frame = [0u8; 64];
//! let member = member_index(hash(policy, &frame), 2);
//! # assert!(member.is_some());
//! # Ok::<(), xmit_hash::ParsePolicyError>(())
//! ```
//!
//! # The policies
//!
//! All arithmetic is on `u32`. `eth` is `dst[5] ^ src[5] ^ ethertype` (`bond_eth_hash`);
//! `addrs` is `src ^ dst` where an IPv4 address is its four bytes read as a little-endian
//! word (the kernel reads the `__be32` as stored) and an IPv6 address is the XOR of its four
//! words read the same way (`ipv6_addr_hash`); `ports` is the four bytes at the port offset
//! read as a little-endian word; `fold(h)` is `h ^= h >> 16; h ^= h >> 8`.
//!
//! | policy | hash |
//! |---|---|
//! | `layer2` (0) | `eth` |
//! | `layer2+3` (2) | `fold(eth ^ addrs)`; `eth` if the frame is not IPv4/IPv6 |
//! | `layer3+4` (1) | `fold(l4 ^ addrs) >> 1`, where `l4` is the ICMP word if it has an id, else `ports`; `eth` if not IPv4/IPv6 |
//! | `encap2+3` (3) | `fold(eth ^ addrs)` over the innermost addresses the flow dissector reaches; `eth` if it fails |
//! | `encap3+4` (4) | `fold(l4 ^ addrs) >> 1` over the innermost addresses and ports; `eth` if it fails |
//! | `vlan+srcmac` (5) | `tci ^ src[0..3] ^ src[3..6]` (each MAC half as a 24-bit number) |
//!
//! Kernels before 5.18 (commit 49aefd131739, "bonding: do not discard lowest hash bit for
//! non layer3+4 hashing", also taken into some stable series) shifted the `layer2+3` and
//! `encap2+3` results right by one as well; this crate follows the current kernel.
//!
//! # What the kernel sees of a frame
//!
//! The hash works on the frame as linear data starting at the Ethernet header, with the
//! protocol taken from its ethertype and the network header right after it (offset 14): what
//! `bond_xmit_hash_xdp` does, and what `bond_xmit_hash` sees for a frame the stack sends
//! through a bond, where `skb->protocol` and `skb_network_offset` agree with the header.
//! Every bounds check the kernel makes against the data length (`pskb_may_pull`,
//! `__skb_header_pointer`) is made here against the frame length, so a frame cut short
//! behaves as a short packet does in the kernel: the part that is missing is not read, and the
//! policy falls back as the kernel does (no ports, or the `layer2` value). Data shorter than
//! an Ethernet header hashes to 0 under every policy. Bytes after the headers the policy reads
//! (payload, Ethernet padding) never change the hash.
//!
//! ## VLAN tags
//!
//! A frame whose outermost ethertype is 802.1Q (`0x8100`) or 802.1ad (`0x88a8`) is hashed as
//! the kernel hashes the same frame when that tag is offloaded, which is what happens when a
//! VLAN device sits on a bond: the VLAN device hands the bond an untagged frame plus the tag
//! as metadata, and the tag is inserted by the member NIC (or in software) after the hash.
//! So:
//!
//! - the outer tag (TPID and TCI) is taken out of the hashed data, and the ethertype after it
//!   becomes the frame's ethertype (it is the `ethertype` in `eth`);
//! - the outer tag's full 16-bit TCI (priority, DEI and VLAN id) is the `tci` of
//!   `vlan+srcmac`; an untagged frame has `tci` 0;
//! - an inner tag (a QinQ frame's customer tag) stays in the data: `layer2+3` and
//!   `layer3+4` then see ethertype `0x8100` and fall back to the `layer2` value (which
//!   includes `0x8100`), while the `encap` policies step over it.
//!
//! The tag is taken out only when all four of its bytes are there; if the data left is then
//! shorter than an Ethernet header, the hash is 0.
//!
//! The kernel also hands the bond frames whose tag is inline in the data (written by a raw
//! packet socket, for instance); it then hashes them with ethertype `0x8100`, so `layer2+3`
//! and `layer3+4` fall back to `layer2`. This crate cannot tell such a frame from one whose
//! tag the kernel would have offloaded, and always applies the rule above: the common case
//! for a bond carrying VLANs.
//!
//! ## ICMP
//!
//! For ICMP and ICMPv6 the kernel builds a key of type, code and identifier; the identifier
//! is set, in host order, for echo and timestamp requests and replies (type numbers of both
//! ICMP versions are accepted for either protocol, as the kernel does), and a zero
//! identifier is stored as 1. `layer3+4` and `encap3+4` hash that key instead of the ports
//! when it holds an identifier. `layer2+3` and `layer3+4` (not the `encap` policies) hash an
//! ICMP error (ICMP types 3, 4, 5, 11, 12; ICMPv6 types 1 to 4) on the IP header and ports it
//! carries, so the error follows the flow that caused it; if that embedded header is cut
//! short, the whole frame falls back to the `layer2` value.
//!
//! ## Fragments, options, extension headers
//!
//! `layer2+3` and `layer3+4` read one IPv4 or IPv6 header: IPv4 options are skipped by the
//! header length (taken as it is, even below 5), any IPv4 fragment (first or not) has no
//! ports, and IPv6 extension headers are not walked, so an IPv6 packet with a hop-by-hop,
//! routing, destination options or fragment header has no ports. The `encap` policies walk
//! IPv6 hop-by-hop, routing and destination options headers, and stop with no ports at any
//! IPv4 or IPv6 fragment.
//!
//! ## What the `encap` policies cover
//!
//! `encap2+3` and `encap3+4` run the kernel's flow dissector (`__skb_flow_dissect`) with the
//! bonding driver's key set (`flow_keys_bonding`). This crate implements that dissector's
//! behaviour for every protocol it handles with that key set:
//!
//! - VLAN tags in the data (802.1Q and 802.1ad, any number, inside the offloaded outer one);
//! - IPv4 (options, fragments, `ihl < 5` is a failure) and IPv6, with the hop-by-hop, routing
//!   and destination options walk and the fragment header;
//! - IP-in-IP: IPv4 and IPv6 in IPv4 and in IPv6 (protocols 4 and 41), to any depth;
//! - GRE version 0 with checksum, key and sequence number, carrying IPv4, IPv6, Ethernet
//!   (transparent bridging, whose inner ethertype is dissected next) or any other ethertype
//!   the dissector knows; GRE version 1 (PPTP) carrying IPv4 or IPv6 over PPP; GRE with the
//!   routing bit or a version above 1 stops at the outer header;
//! - MPLS (the label stack is not read: the dissector stops with the addresses it has, none
//!   for MPLS over Ethernet), PPPoE sessions carrying IPv4, IPv6 or MPLS, batman-adv unicast,
//!   HSR and PRP tags, TIPC (its node key is the source word);
//! - ARP, RARP, CFM, PTP over Ethernet, FCoE: the dissector succeeds with no addresses, so
//!   `encap3+4` hashes such a frame to 0 and `encap2+3` to `fold(eth)`;
//! - TCP, UDP, UDP-Lite, SCTP, DCCP ports, the ESP SPI and the AH SPI (at offset 4), and the
//!   ICMP key, from the innermost transport header; any other ethertype, or a header the
//!   dissector needs and finds cut short, is a failure, and the frame gets the `layer2` value;
//! - the limit of 15 nested headers, after which the dissector keeps what it has.
//!
//! Not covered: a BPF flow dissector attached to the network namespace (the kernel runs it
//! instead of the built-in one), DSA switch tags (they need the device), and the random key the
//! kernel draws for TIPC link keepalive messages (not reproducible: this crate uses the source
//! node word for them too). The crate follows the x86-64 kernel, where `NET_IP_ALIGN` is 0.
//!
//! One difference lies outside the frame: for `encap3+4`, the kernel's `bond_xmit_hash`
//! returns `skb->hash` unchanged when the packet already carries a layer-4 hash
//! (`skb->l4_hash`, typically set by the socket that sent it or by the receiving NIC's RSS).
//! A frame on the wire carries no such hash, so this crate always computes the dissector
//! hash; traffic a Linux bond forwards or sends from local TCP sockets can therefore be
//! placed differently by the kernel under `encap3+4`. The other policies never use
//! `skb->hash`.
//!
//! # Member selection
//!
//! Linux picks the member of a `balance-xor` or `802.3ad` bond as `hash % count` over the
//! array of usable members ([`member_index`]); `balance-tlb` and `balance-alb` with
//! `tlb_dynamic_lb=0` do the same. `balance-tlb` with `tlb_dynamic_lb=1` (its default) instead
//! uses the low 8 bits of the hash (`hash & 0xff`) as the key of its load-balancing table, and
//! `balance-alb` with dynamic balancing hashes the destination IP address with its own
//! function.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod flow;
mod frame;
mod hash;
mod policy;
mod wire;

pub use flow::{FlowAddrs, FlowKeys, IcmpKey};
pub use hash::{flow_keys, hash, hash_batch, member_index};
pub use policy::{ParsePolicyError, Policy};
