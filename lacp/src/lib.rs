//! IEEE 802.1AX link aggregation control (LACP) and the Marker protocol, sans-IO.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod options;
pub mod system;
pub mod wire;

pub use options::{AdSelect, Config, CoupledControl, LacpActive, LacpRate, OptionError};
pub use system::{
    AggregatorStatus, ChurnState, Duplex, Error, Event, Link, MuxState, PeriodicState,
    PortCounters, PortStatus, Rx, RxState, System, Transmit,
};
pub use wire::{MacAddr, PortInfo, PortState};
