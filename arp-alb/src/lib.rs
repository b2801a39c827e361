//! Adaptive load balancing for bonding modes balance-tlb and balance-alb, sans-IO.
//!
//! This crate will hold the ARP wire format, the TLB transmit table and the RLB receive
//! balancing by ARP rewrite, as the Linux bonding driver's `bond_alb.c` behaves.
#![no_std]
#![forbid(unsafe_code)]
