//! Link monitors for bonding members, sans-IO.
//!
//! This crate will hold the MII carrier monitor (`miimon`, `updelay`, `downdelay`), the ARP
//! monitor (`arp_interval`, `arp_ip_target`, `arp_validate`, ...) and the IPv6 neighbour
//! solicitation monitor (`ns_ip6_target`), with the Linux bonding driver's semantics.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod options;
pub mod wire;

pub use options::{ArpAllTargets, ArpValidate, MonitorOptions, OptionError, OptionWarning};
pub use wire::{VlanPath, VlanTag};
