//! The Linux bonding driver's transmit hash policies (`xmit_hash_policy`), bit-for-bit.
//!
//! This crate will turn an Ethernet frame into flow keys, the flow keys into the 32-bit hash
//! the kernel's `__bond_xmit_hash` computes for the same frame (layer2, layer2+3, layer3+4,
//! encap2+3, encap3+4, vlan+srcmac), and the hash into a member index. It is `no_std` and has
//! no `unsafe` code.
#![no_std]
#![forbid(unsafe_code)]
