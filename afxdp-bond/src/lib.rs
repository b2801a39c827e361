//! A user-space NIC bond over AF_XDP.
//!
//! The engine ([`engine`], sans-IO) composes the protocol crates into the seven Linux
//! bonding modes; the I/O layer (`xdp`) runs frames over AF_XDP sockets sharing one UMEM,
//! with a TAP device as the host side.

pub mod control;
#[forbid(unsafe_code)]
pub mod engine;
pub mod lab;
pub mod netlab;
pub mod runtime;
pub mod xdp;
