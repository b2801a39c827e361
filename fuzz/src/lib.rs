//! The fuzz harnesses of the bonding crates, one module per target.
//!
//! Each `fuzz_targets/<name>.rs` is a one-line libFuzzer entry point that calls `run` of the
//! module of the same name; the harnesses live here so that `tests/corpus.rs` can replay the
//! committed corpus through them with a plain `cargo test`, and write the seed inputs of the
//! op-sequence targets from the op sequences themselves ([`input::Encode`]).
//!
//! Parsers (bytes in): [`xmit_hash`], [`lacp_wire`], [`lacp_frame`], [`arp_wire`],
//! [`ndisc_wire`]. State machines (`arbitrary` op sequences in): [`lacp_pair`],
//! [`link_monitor`], [`alb`], and the whole bond of `afxdp-bond`, [`engine`].

extern crate alloc;

pub mod alb;
pub mod arp_wire;
pub mod engine;
pub mod frames;
pub mod input;
pub mod lacp_check;
pub mod lacp_frame;
pub mod lacp_pair;
pub mod lacp_wire;
pub mod link_monitor;
pub mod ndisc_wire;
pub mod xmit_hash;

mod foreign;
