//! IEEE 802.1AX link aggregation control (LACP) and the Marker protocol, sans-IO.
//!
//! One [`System`] is the LACP side of one bond: its ports (members), one aggregator per
//! port, the per-port machines and the system-wide selection logic. It is driven only by
//! frames, link events and time passed in; it never reads a clock, opens a socket or
//! allocates per frame. [`wire`] holds the LACPDU and Marker PDU formats; [`options`] the
//! bond options with their Linux names, spellings, defaults and validation.
//!
//! # Using it
//!
//! ```
//! use core::time::Duration;
//! use lacp::{Config, LacpRate, Link, MacAddr, System};
//!
//! let mut bond = System::new(Config {
//!     lacp_rate: LacpRate::Fast,
//!     bond_mac: MacAddr([0x02, 0, 0, 0, 0, 0xaa]),
//!     ..Config::default()
//! })?;
//! let now = Duration::ZERO;
//! let port_number = bond.add_port(now, 0, MacAddr([0x02, 0, 0, 0, 0, 1]))?;
//! assert_eq!(port_number, 1);
//! bond.handle_link(now, 0, Link::up(10_000))?;
//! while let Some(tx) = bond.poll_transmit(now) {
//!     // send tx.frame.as_bytes() on member tx.port
//!     # let _ = tx;
//! }
//! while let Some(event) = bond.poll_event() {
//!     // react: port collecting/distributing, active aggregator, carrier, churn...
//!     # let _ = event;
//! }
//! let next = bond.poll_timeout(); // call bond.handle_timeout(t) at or after it
//! assert_eq!(next, Some(Duration::from_secs(1))); // the next periodic LACPDU
//! # Ok::<(), lacp::Error>(())
//! ```
//!
//! # Poll order
//!
//! After every input (`handle_rx`, `handle_link`, `handle_timeout`, or a mutator such as
//! `add_port` or `set_option`): call [`System::poll_transmit`] until it returns `None`, then
//! [`System::poll_event`] until `None`, then [`System::poll_timeout`] for the next
//! deadline. Getters (`is_collecting`, `is_distributing`, `port`, `active_aggregator`,
//! `carrier`, ...) are current after every input. `now` must never go backwards.
//!
//! # Timer model
//!
//! No tick. Every 802.1AX timer (current_while, periodic_timer, wait_while, the two churn
//! timers) is an exact deadline on the caller's clock; so are the moment the transmit
//! limit lets a pending LACPDU go and the optional initial selection hold.
//! `poll_timeout` returns the earliest. Inputs run every machine to a fixed point at
//! `now`, so a PDU is due exactly at its deadline and a partner sees no jitter: periodic
//! LACPDUs go out exactly every 1 s or 30 s (the next deadline counts from the one that
//! fired, so a caller that wakes late does not make the period drift). A spurious
//! `handle_timeout` (before any deadline) changes nothing. Linux runs its machines on a
//! 100 ms work-queue tick, so its periods wander by up to a tick (the captures in
//! `testdata/` show 0.93-1.25 s between its "1 s" LACPDUs).
//!
//! # 802.1AX and Linux: what this crate does where they differ
//!
//! The machines are those of IEEE 802.1AX (Receive, Periodic Transmission, Mux with
//! coupled and independent control, Transmit, Actor and Partner Churn Detection, and the
//! Selection Logic). The selection of aggregators and of the active aggregator follows the
//! Linux bonding driver (`bond_3ad.c`), because a bond can use only one aggregator at a
//! time and operators know its `ad_select` policies. Point by point:
//!
//! - **Individual links.** 802.1AX: a link is individual when the actor's or the partner's
//!   Aggregation bit is false; an individual link gets an aggregator of its own. Linux
//!   marks an aggregator individual only when the port is not full duplex and ignores the
//!   partner's Aggregation bit. Here the 802.1AX rule applies (a half-duplex port is
//!   individual too, because LACP is disabled on it and the partner is then recorded as
//!   not aggregatable). The `ad_select` ordering (non-individual first, then answering
//!   partner, then the policy) is Linux's.
//! - **Transmit limit.** 802.1AX: at most 3 LACPDUs in any Fast_Periodic_Time (1 s); here
//!   exactly that, with a sliding window of the last three transmissions per port. Linux
//!   instead keeps a 300 ms gap between two LACPDUs, which also delays the second
//!   of two state changes that happen close together.
//! - **Transmit gating.** As 802.1AX says, nothing is sent while the Periodic machine is
//!   in NO_PERIODIC: two passive ports never exchange a single LACPDU. Linux lets the
//!   state changes of a passive port transmit.
//! - **Partner synchronization.** recordPDU follows 802.1AX: the partner counts as in sync
//!   only if the PDU matches our information and LACP actively maintains the link (the
//!   partner is active, or we are active and the partner knows it). Linux drops the
//!   activity condition, so a passive-passive pair can still look synchronized there.
//! - **Initial selection wait.** Linux holds every port out of collecting/distributing for
//!   8 s after the first member is added (`AD_AGGREGATOR_SELECTION_TIMER`). Not kept by
//!   default: it does not change which aggregator Linux picks (its selection runs as soon
//!   as a port is selected anyway), it only delays traffic. The standard's wait_while
//!   (2 s, all ports of an aggregator Ready) already lets the ports that come up together
//!   gather in one aggregator before any goes collecting, so time to distributing is
//!   about 2 s instead of about 8-9 s. [`Config::initial_selection_wait`] restores the
//!   Linux behaviour (`Duration::from_secs(8)`).
//! - **No partner at all.** Linux enables the ports of an active aggregator that has no
//!   partner, so a bond without an LACP peer still passes traffic on one aggregator.
//!   Kept ([`System::is_collecting`]/[`System::is_distributing`] include it, while
//!   `PortStatus::actor.state` shows the pure LACP bits), but only once the port's partner
//!   has been silent long enough to be DEFAULTED (3 s) or LACP is off on it: Linux also
//!   does it during the first moments after start-up, before the partner had a chance to
//!   answer. [`System::lacpdu_ever_received`] tells whether any partner ever spoke.
//! - **Partner defaults.** The partner administrative values are Linux's (system
//!   priority 65535, zero system, key 1, port 1, port priority 255), except that the
//!   LACP_Timeout bit follows our own `lacp_rate`: a DEFAULTED port of a fast bond keeps
//!   probing every second, so a link repaired without a carrier event rejoins within about
//!   3 s; Linux probes every 30 s there.
//! - **Leaving the active aggregator.** When the active aggregator changes, the ports of the
//!   old one go back to ATTACHED and clear Synchronization, so their partner stops using
//!   them. Linux only disables them locally and leaves their mux state as it was.
//! - **Reselection.** A port whose partner information changes becomes UNSELECTED, goes
//!   through DETACHED and waits wait_while again in its new aggregator, as 802.1AX says.
//!   Linux moves it to the new aggregator at its next tick, before its mux machine runs,
//!   so the mux never sees it UNSELECTED and keeps its state (a running wait, or even
//!   collecting/distributing).
//! - **Churn detection.** The 802.1AX machines: monitoring starts when a port is enabled
//!   or loses synchronization, churn is declared after 60 s out of sync and cleared when
//!   sync returns; each detection is counted. Linux restarts monitoring on receive-state
//!   events and stays "churned" until the next restart.
//! - **Loopback.** As Linux: a LACPDU carrying our own system MAC is counted
//!   (`loopback_rx`), reported as [`Event::Loopback`] and ignored; the looped ports end
//!   DEFAULTED and never aggregate with themselves.
//! - **Marker.** Marker Information PDUs are answered with a Response carrying the same
//!   fields, from the port's permanent MAC, as Linux does (while the port's link is up);
//!   unlike Linux, at most
//!   [`system::MARKER_RESPONSES_PER_SECOND`] (5) per port in any second, so a flood cannot
//!   turn the bond into an amplifier (the excess is counted in
//!   `marker_resp_rate_limited`). Like Linux, this crate never generates Marker
//!   Information PDUs.
//! - **Keys, speed and duplex.** As Linux: key = `ad_user_port_key << 6 | speed class << 1
//!   | full duplex`, the speed classes of `__get_link_speed` (an unknown or unlisted speed
//!   is class 0); a port that is not full duplex has LACP disabled (LACP_DISABLED, no
//!   LACPDUs); an unknown speed with full duplex keeps LACP on with speed class 0, as the
//!   kernel's `ad_update_actor_keys` does; a speed change on a full-duplex link restarts
//!   the port's machines (BEGIN), and every change of key unselects the port.
//! - **Malformed PDUs.** Linux checks only the length of a LACPDU. Here every TLV type
//!   and length of version 1 is checked, later versions are processed as version 1 with
//!   their extra TLVs walked and ignored, and each reason has its own counter
//!   ([`wire::MalformedCounters`]); the kernel's `lacpdu_illegal_rx` is their sum.
//! - **Numbering.** As Linux: port numbers from 1 in add order (the last port's number
//!   plus one), aggregator IDs from 1, restarting when the bond becomes empty; removing a
//!   port sends a last LACPDU with Aggregation cleared, and the other ports of the
//!   aggregator it owned move to a free aggregator without leaving their state.
//!
//! # Carrier
//!
//! [`System::carrier`] is Linux's `bond_3ad_set_carrier`: there is an active aggregator
//! and at least `min_links` of its ports have their link up.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
// The `arbitrary` derive emits paths into `std` (fuzzing runs with std anyway).
#[cfg(feature = "arbitrary")]
extern crate std;

pub mod options;
pub mod system;
pub mod wire;

pub use options::{AdSelect, Config, CoupledControl, LacpActive, LacpRate, OptionError};
pub use system::{
    AggregatorStatus, ChurnState, Duplex, Error, Event, Link, MuxState, PeriodicState,
    PortCounters, PortStatus, Rx, RxState, System, Transmit,
};
pub use wire::{MacAddr, PortInfo, PortState};
