//! IEEE 802.1AX link aggregation control (LACP) and the Marker protocol, sans-IO.
//!
//! This crate will hold the LACPDU and Marker PDU wire formats, the per-port state machines
//! (receive, periodic transmission, mux, transmit, churn detection) and the system-level
//! selection logic, driven only by frames, link events and time passed in by the caller.
#![no_std]
#![forbid(unsafe_code)]
