//! 802.3ad: the `lacp` crate's [`System`](lacp::System) as `bond_3ad.c` is driven by
//! `bond_main.c`, and this project's LACP fallback.
//!
//! - A member is a port; its LACP port number is its join order (`SLAVE_AD_INFO->id`).
//! - The port is enabled when the member's link is committed up and disabled when it is
//!   committed down (`bond_3ad_handle_link_change()`); speed and duplex changes update its
//!   key (`bond_3ad_adapter_speed_duplex_changed()`); a port that is not full duplex runs
//!   no LACP.
//! - A distributing port of the active aggregator is active (`__enable_port()`); a port
//!   that is not collecting is inactive for receive (`__disable_port()`); the usable array
//!   holds the distributing ports that can send (`bond_update_slave_arr()`).
//! - The bond's carrier is `bond_3ad_set_carrier()`: an active aggregator with at least
//!   `min_links` ports up.
//!
//! # The LACP fallback (`lacp_fallback=active-backup`, not in Linux)
//!
//! While no LACP partner has ports distributing with us (no active aggregator with a
//! partner, or none of its ports distributing), the bond runs as active-backup: the active
//! member (chosen as in active-backup) sends and receives, the others drop what they
//! receive (LACPDUs are still read on every member), a failover sends gratuitous ARPs and
//! unsolicited NAs, and the carrier is "any member up". As soon as a partner answers and a
//! port distributes, 802.3ad takes over; if the partner goes silent and every port expires,
//! the fallback engages again. This is Open vSwitch's `lacp-fallback-ab`: a server that
//! boots against a switch whose LAG is not configured yet (or a PXE/installer network)
//! still gets connectivity. Without it, a Linux 802.3ad bond with no partner sends only
//! after its ports time out (3 s fast, 90 s slow) and then on a single aggregator.

use core::time::Duration;

use crate::engine::bond::{Bond, lacp_link};
use crate::engine::event::Event;
use crate::engine::frame::SLOW_PROTOCOLS_MAC;
use crate::engine::options::{LacpFallback, Mode};

impl Bond {
    /// A member's port enabled or disabled as its link is committed up or down.
    pub(crate) fn lacp_link_change(&mut self, now: Duration, member: usize, up: bool) {
        let Some(info) = self.m(member).map(|m| m.link_info) else {
            return;
        };
        if let Some(m) = self.mm(member) {
            m.lacp_port_enabled = up;
        }
        if let Some(l) = self.lacp.as_mut() {
            let _ = l.handle_link(now, member, lacp_link(&info, up));
        }
    }

    /// Whether the port distributes (in the active aggregator).
    pub(crate) fn lacp_distributing(&self, member: usize) -> bool {
        self.lacp
            .as_ref()
            .is_some_and(|l| l.is_distributing(member))
    }

    /// Some port distributes in an active aggregator that has a partner.
    fn lacp_partner_present(&self) -> bool {
        let Some(l) = self.lacp.as_ref() else {
            return false;
        };
        l.active_aggregator()
            .is_some_and(|a| !a.partner_system.is_zero())
            && self.order.iter().any(|&i| l.is_distributing(i))
    }

    /// Processes the LACP system's events, the fallback, and the ports' roles. Returns
    /// whether anything changed.
    pub(crate) fn lacp_settle(&mut self, now: Duration) -> bool {
        let Some(l) = self.lacp.as_mut() else {
            return false;
        };
        let mut changed = false;
        let mut aggregator = None;
        let mut distributing = false;
        while let Some(e) = l.poll_event() {
            changed = true;
            match e {
                lacp::Event::ActiveAggregator { aggregator: a } => aggregator = Some(a),
                lacp::Event::PortDistributing {
                    distributing: true, ..
                } => distributing = true,
                _ => {}
            }
        }
        if let Some(id) = aggregator {
            if id != self.reported_aggregator {
                self.reported_aggregator = id;
                self.push_event(Event::ActiveAggregator { id });
            }
        }
        let engaged =
            self.opts.lacp_fallback() == LacpFallback::ActiveBackup && !self.lacp_partner_present();
        if engaged != self.fallback {
            self.fallback = engaged;
            changed = true;
            self.push_event(Event::LacpFallback { engaged });
            if engaged {
                // The ports that distributed are backups from now on: their flags change
                // before the active member is chosen and the peers are told, or the first
                // notification could leave on a port that no longer sends.
                self.lacp_roles(now);
                self.select_active_slave(now);
                // The traffic moves to the active member: tell the peers.
                if self.curr_active.is_some() && self.up {
                    self.start_peer_notif(now);
                }
            }
        }
        if self.fallback {
            let usable = self.curr_active.is_some_and(|a| self.link_up(a));
            if !usable {
                let before = self.curr_active;
                self.select_active_slave(now);
                changed |= self.curr_active != before;
            }
        }
        changed |= self.lacp_roles(now);
        // ad_cond_set_peer_notif(): with broadcast_neighbor, a port that starts
        // distributing makes the bond notify its peers (at the next monitor runs).
        if distributing && self.opts.broadcast_neighbor() && !self.fallback && self.up {
            self.reset_peer_notif(now);
        }
        changed
    }

    /// Sets each member's active and inactive flags from LACP (or from the fallback).
    fn lacp_roles(&mut self, now: Duration) -> bool {
        if self.mode() != Mode::Ieee8023ad {
            return false;
        }
        let asa = self.opts.all_slaves_active();
        let mut changed = false;
        for k in 0..self.order.len() {
            let i = self.order[k];
            let (backup, inactive) = if self.fallback {
                let active = Some(i) == self.curr_active;
                (!active, !active && !asa)
            } else {
                let l = self.lacp.as_ref();
                let dist = l.is_some_and(|l| l.is_distributing(i));
                let coll = l.is_some_and(|l| l.is_collecting(i));
                (!dist, !coll && !asa)
            };
            let Some(m) = self.mm(i) else { continue };
            if (m.backup, m.inactive) != (backup, inactive) {
                m.backup = backup;
                m.inactive = inactive;
                changed = true;
            }
        }
        let _ = now;
        changed
    }

    /// 802.3ad: asks the I/O layer to accept the slow-protocols address on a member (Linux
    /// adds `lacpdu_mcast_addr` to every port while the bond is up).
    pub(crate) fn join_slow_mcast(&mut self, member: usize) {
        if self.mode() != Mode::Ieee8023ad || !self.up {
            return;
        }
        let Some(m) = self.mm(member) else { return };
        if m.slow_mcast {
            return;
        }
        m.slow_mcast = true;
        self.push_event(Event::JoinMulticast {
            member,
            mac: SLOW_PROTOCOLS_MAC,
        });
    }

    /// Undoes [`join_slow_mcast`](Self::join_slow_mcast).
    pub(crate) fn leave_slow_mcast(&mut self, member: usize) {
        let Some(m) = self.mm(member) else { return };
        if !m.slow_mcast {
            return;
        }
        m.slow_mcast = false;
        self.push_event(Event::LeaveMulticast {
            member,
            mac: SLOW_PROTOCOLS_MAC,
        });
    }
}
