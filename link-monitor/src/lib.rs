//! Link monitors for bonding members, sans-IO: the MII monitor (`miimon`, `updelay`,
//! `downdelay`), the ARP monitor (`arp_interval`, `arp_ip_target`, `arp_validate`,
//! `arp_all_targets`, `arp_missed_max`) and its IPv6 half, the NS monitor (`ns_ip6_target`),
//! with the semantics of the Linux bonding driver (`drivers/net/bonding/bond_main.c`).
//!
//! - [`MonitorOptions`]: the options with Linux's names, spellings, defaults, validation and
//!   messages.
//! - [`LinkMonitor`]: one per bond; members in, link states, selection requests and probe
//!   frames out.
//! - [`wire`]: ARP and IPv6 neighbour discovery frames, parsed and built with zerocopy.
//!
//! # Time
//!
//! Every input takes `now`, a [`core::time::Duration`] since an origin the caller picks; the
//! crate never reads a clock. Linux counts in jiffies and in whole monitor intervals; this crate
//! uses exact durations but decides the same thing on the same sequence of events:
//!
//! - The monitors run every `miimon`/`arp_interval` ms from the time the monitor starts, and
//!   each run schedules the next one interval after it, like Linux's delayed work.
//! - `updelay`/`downdelay` are counted in monitor runs, as Linux counts them: a member whose
//!   carrier goes at a run goes down `downdelay / miimon` runs later; a member added with
//!   carrier and `updelay` needs one more run than one coming back at a run, as in Linux.
//! - `bond_time_in_interval(last, k)` is `last - d <= now <= last + k*d + d/2` with `d` the
//!   exact `arp_interval`. Linux computes it in jiffies: `d` rounds up to whole jiffies
//!   (`msecs_to_jiffies`; with `HZ=250`, 10 ms becomes 12 ms, and its runs are that far apart)
//!   and `d/2` rounds down to a jiffy. Counted in intervals the outcome is the same; it can
//!   differ only for a frame that arrives within a jiffy of a window's edge.
//! - A Linux run that cannot take the RTNL lock retries one jiffy later; here a run always
//!   completes at its time.
//! - A new member's last receive/transmit time is one interval and one nanosecond before it
//!   was added (Linux: one interval and one jiffy).
//!
//! # Deliberate differences from Linux
//!
//! - Carrier events: [`LinkMonitor::handle_carrier`] acts at once instead of at the next
//!   `miimon` run (up to one interval faster when there is no delay to wait out);
//!   [`LinkMonitor::sample_carrier`] gives exactly Linux's polling.
//! - Selection is the engine's: where Linux calls `bond_select_active_slave()` inside a monitor
//!   run, the monitor queues [`Event::SelectActive`]; in active-backup the ARP probe of that
//!   run waits until the engine has answered ([`LinkMonitor::poll_timeout`] returns the same
//!   `now`), so the probe goes where Linux's would.
//! - Received neighbour solicitations/advertisements are checked (ICMPv6 checksum, code 0,
//!   hop limit 255, unicast target, sane options) before they can validate a member; Linux's
//!   receive hook reads only the next header and the ICMPv6 type. Bad frames are counted per
//!   reason ([`Counters`]).
//! - No routing table: the caller says how each target's probes leave ([`ProbeRoute`]) and
//!   which addresses the bond has.
//!
//! # Linux behaviour kept on purpose
//!
//! - The last transmit time is the time of the last probe sent on the member: current Linux
//!   keeps `slave->last_tx`, set by its own ARP/NS sends (older kernels read the driver's
//!   `dev_trans_start()`), so there is no "frame sent" input.
//! - ARP target `i` and NS target `i` share one per-target receive time, and
//!   `arp_all_targets=all` looks at slot 0 and one slot per further ARP target, as Linux's
//!   `target_last_arp_rx[]` does.
//! - With `arp_validate=none` any received frame keeps a member up, so a member that only
//!   sees other hosts' broadcasts stays up; validation (`all`, `backup`, ...) catches it.
//!   [`MonitorOptions::warnings`] says so.
//! - Backups are validated on the active member's own requests that the switch floods to
//!   them (source and target swapped), trusted only once the active member has had a valid
//!   reply since it became active. The load-balancing ARP monitor marks down members as
//!   backups, so with validation on backups a load-balancing bond whose members are all down
//!   stays down, and a member that sees an up member's floods but cannot reach the target
//!   flaps, as in Linux.
//! - Received frames are matched the way Linux's receive hook sees them: one VLAN tag
//!   stripped, unicast frames to another MAC ignored by validation, the operation checked
//!   only for replies to the probed member.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
// The `arbitrary` derive names `std`; fuzzing runs with std anyway.
#[cfg(any(test, feature = "arbitrary"))]
extern crate std;

mod monitor;
pub mod options;
mod time;
pub mod wire;

pub use monitor::{
    Counters, Event, LinkMonitor, LinkState, MonitorError, MonitorStyle, Probe, ProbeRoute,
    SlaveState, Transmit,
};
pub use options::{ArpAllTargets, ArpValidate, MonitorOptions, OptionError, OptionWarning};
pub use wire::{VlanPath, VlanTag};
