//! The active member: `bond_select_active_slave()`, `bond_find_best_slave()`,
//! `bond_choose_primary_or_current()`, `bond_change_active_slave()`,
//! `bond_do_fail_over_mac()` and the slave flag helpers of `bonding.h`.
//!
//! Every mode keeps an active member (`curr_active_slave`): active-backup and
//! balance-tlb/alb send through it; balance-rr sends IGMP on it; the LACP fallback uses it;
//! the other modes only show it. The active-backup transmit itself is in the plan
//! (`bond_xmit_activebackup()`: the active member or nothing).

use core::time::Duration;

use link_monitor::{LinkState, SlaveState};

use crate::engine::bond::Bond;
use crate::engine::event::Event;
use crate::engine::member::Duplex;
use crate::engine::options::{FailOverMac, Mode, PrimaryReselect};

impl Bond {
    /// `bond_set_slave_inactive_flags()`: a backup (except in balance-tlb/alb, where the
    /// flag means nothing), and inactive for receive unless `all_slaves_active`.
    pub(crate) fn set_slave_inactive_flags(&mut self, now: Duration, i: usize) {
        let lb = self.mode().is_lb();
        let asa = self.opts.all_slaves_active();
        let Some(m) = self.mm(i) else { return };
        if !lb {
            m.backup = true;
        }
        if !asa {
            m.inactive = true;
        }
        if !lb {
            let _ = self.monitor.set_member_state(now, i, SlaveState::Backup);
        }
    }

    /// `bond_set_slave_active_flags()`: active, and active for receive.
    pub(crate) fn set_slave_active_flags(&mut self, now: Duration, i: usize) {
        let Some(m) = self.mm(i) else { return };
        m.backup = false;
        m.inactive = false;
        let _ = self.monitor.set_member_state(now, i, SlaveState::Active);
    }

    /// `bond_select_active_slave()`: makes the best member the active one if it is not.
    pub(crate) fn select_active_slave(&mut self, now: Duration) {
        let best = self.find_best_slave();
        if best != self.curr_active {
            self.change_active_slave(now, best);
        }
    }

    /// `bond_find_best_slave()`: the primary or the current member if they qualify, else
    /// the first member that is up, else the member going back that is closest to up.
    fn find_best_slave(&mut self) -> Option<usize> {
        if let Some(s) = self.choose_primary_or_current() {
            return Some(s);
        }
        let mut mintime = i64::from(self.opts.monitor().updelay_intervals());
        let mut best = None;
        for &i in &self.order {
            let Some(m) = self.m(i) else { continue };
            if m.link == LinkState::Up {
                return Some(i);
            }
            if m.link == LinkState::Back && m.link_info.carrier {
                let delay = self.monitor.delay_intervals(i).unwrap_or(i64::MAX);
                if delay < mintime {
                    mintime = delay;
                    best = Some(i);
                }
            }
        }
        best
    }

    /// `bond_choose_primary_or_current()`.
    fn choose_primary_or_current(&mut self) -> Option<usize> {
        let link = |b: &Self, i: usize| b.m(i).map(|m| m.link);
        let curr = self.curr_active;
        let curr_up = curr.is_some_and(|c| link(self, c) == Some(LinkState::Up));
        let prim = match self.primary {
            Some(p) if link(self, p) == Some(LinkState::Up) => p,
            _ => {
                // No usable primary: the highest prio member that is up (the first of them
                // in the list), if it is not the current one.
                let mut hprio: Option<usize> = None;
                for &i in &self.order {
                    let Some(m) = self.m(i) else { continue };
                    if m.link != LinkState::Up {
                        continue;
                    }
                    match hprio.and_then(|h| self.m(h)) {
                        Some(h) if m.prio <= h.prio => {}
                        _ => hprio = Some(i),
                    }
                }
                match hprio {
                    Some(h) if Some(h) != curr => return self.reselect(h, curr, curr_up),
                    _ => return if curr_up { curr } else { None },
                }
            }
        };
        if self.force_primary {
            self.force_primary = false;
            return Some(prim);
        }
        self.reselect(prim, curr, curr_up)
    }

    /// The `link_reselect:` part of `bond_choose_primary_or_current()`: both the candidate
    /// and the current member are up; `primary_reselect` decides.
    fn reselect(&self, prim: usize, curr: Option<usize>, curr_up: bool) -> Option<usize> {
        let Some(c) = curr.filter(|_| curr_up) else {
            return Some(prim);
        };
        match self.opts.primary_reselect() {
            PrimaryReselect::Always => Some(prim),
            PrimaryReselect::Better => {
                // Linux compares the raw fields: SPEED_UNKNOWN is (u32)-1, the largest;
                // DUPLEX_HALF 0 < DUPLEX_FULL 1 < DUPLEX_UNKNOWN 0xff.
                let speed = |i: usize| {
                    self.m(i)
                        .and_then(|m| m.link_info.speed_mbps)
                        .unwrap_or(u32::MAX)
                };
                let duplex = |i: usize| match self.m(i).map(|m| m.link_info.duplex) {
                    Some(Duplex::Half) => 0u8,
                    Some(Duplex::Full) => 1,
                    _ => 0xff,
                };
                if speed(prim) < speed(c) {
                    return Some(c);
                }
                if speed(prim) == speed(c) && duplex(prim) <= duplex(c) {
                    return Some(c);
                }
                Some(prim)
            }
            PrimaryReselect::Failure => Some(c),
        }
    }

    /// `bond_change_active_slave()`.
    pub(crate) fn change_active_slave(&mut self, now: Duration, new: Option<usize>) {
        let old = self.curr_active;
        if old == new {
            return;
        }
        let mode = self.mode();
        // The monitor stamps the new active member's last_link_up and, if it was going
        // back, makes it up at once (its Link event is committed by settle()).
        let _ = self.monitor.set_active_member(now, new);
        if mode.is_lb() {
            self.curr_active = new;
            self.alb_active_change(now, new);
            if let Some(o) = old {
                self.set_slave_inactive_flags(now, o);
            }
            if let Some(n) = new {
                self.set_slave_active_flags(now, n);
            }
        } else {
            self.curr_active = new;
        }
        let ab_like = mode == Mode::ActiveBackup || (mode == Mode::Ieee8023ad && self.fallback);
        if ab_like {
            if let Some(o) = old {
                self.set_slave_inactive_flags(now, o);
            }
            if let Some(n) = new {
                self.set_slave_active_flags(now, n);
                if mode == Mode::ActiveBackup && self.opts.fail_over_mac() != FailOverMac::None {
                    self.do_fail_over_mac(n, old);
                }
            }
        }
        self.push_event(Event::ActiveMember {
            previous: old,
            current: new,
        });
        if ab_like && new.is_some() && self.up {
            self.start_peer_notif(now);
        }
        // Resend IGMP joins on the new active member.
        if self.up
            && self.opts.resend_igmp() > 0
            && ((mode.uses_primary() && new.is_some()) || mode == Mode::BalanceRr)
        {
            self.start_igmp_resend(now);
        }
    }

    /// `bond_do_fail_over_mac()`.
    fn do_fail_over_mac(&mut self, new: usize, old: Option<usize>) {
        match self.opts.fail_over_mac() {
            FailOverMac::None => {}
            FailOverMac::Active => {
                // The bond takes the new active member's address.
                let Some(mac) = self.m(new).map(|m| m.mac) else {
                    return;
                };
                if mac != self.bond_mac {
                    self.bond_mac = mac;
                    self.push_event(Event::SetBondMac { mac });
                }
            }
            FailOverMac::Follow => {
                // The new active member takes the bond's address; the old one (or the
                // member that has the bond's address) takes the new one's.
                let old = old.or_else(|| {
                    self.order
                        .iter()
                        .copied()
                        .find(|&i| i != new && self.m(i).is_some_and(|m| m.mac == self.bond_mac))
                });
                let Some(new_mac) = self.m(new).map(|m| m.mac) else {
                    return;
                };
                match old.and_then(|o| self.m(o).map(|m| (o, m.mac))) {
                    Some((o, old_mac)) => {
                        self.set_member_mac(new, old_mac);
                        self.set_member_mac(o, new_mac);
                    }
                    None => {
                        let mac = self.bond_mac;
                        self.set_member_mac(new, mac);
                    }
                }
            }
        }
    }
}

impl crate::engine::plan::Plan {
    /// `bond_xmit_activebackup()`: the active member, or nothing.
    pub(crate) fn activebackup(&self) -> crate::engine::plan::Tx {
        use crate::engine::plan::{Tx, TxDrop};
        match self.active {
            Some(a) => Tx::Member(usize::from(a)),
            None => Tx::Drop(TxDrop::NoActiveMember),
        }
    }
}
