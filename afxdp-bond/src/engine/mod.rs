//! The bond, sans-IO: every Linux bonding mode composed from the protocol crates.
//!
//! (Work in progress: options first.)

pub mod options;

mod mac;

pub use mac::MacAddr;
pub use options::{
    BondOptions, FailOverMac, LacpFallback, Mode, OptionError, OptionWarning, PrimaryReselect,
};
