//! Members joining and leaving: `bond_enslave()` and `__bond_release_one()`.

use core::time::Duration;

use link_monitor::LinkState;

use super::bond::{Bond, Error, effective_carrier};
use super::event::Event;
use super::member::{Member, MemberConfig};
use super::options::{FailOverMac, Mode, OptionId, dev_valid_name};
use super::plan::MAX_MEMBERS;

impl Bond {
    /// Adds a member at index `index` (`bond_enslave()`).
    ///
    /// - The first member's MAC becomes the bond's unless one was configured
    ///   ([`Event::SetBondMac`]).
    /// - The member is given the bond's MTU, and in balance-rr, active-backup (without
    ///   `fail_over_mac`), balance-xor, broadcast and 802.3ad the bond's MAC
    ///   ([`Event::SetMemberMac`]); with `fail_over_mac=follow` a member that has the bond's
    ///   MAC gets a random one; balance-tlb/alb give each member its own address.
    /// - Its first link state comes from its carrier: up (or going back with `updelay`)
    ///   with carrier, down without; with no monitor at all, up.
    /// - In active-backup, balance-tlb and balance-alb it becomes the active member if it is
    ///   the best one (`primary`, `prio`); in 802.3ad it becomes an LACP port.
    /// - Per-member options given earlier by name (`queue_id`, `prio`, `actor_port_prio`)
    ///   apply now.
    pub fn add_member(
        &mut self,
        now: Duration,
        index: usize,
        config: MemberConfig,
    ) -> Result<(), Error> {
        if index >= MAX_MEMBERS {
            return Err(Error::MemberIndexTooLarge(index));
        }
        if self.m(index).is_some() {
            return Err(Error::MemberExists(index));
        }
        if !dev_valid_name(&config.name) {
            return Err(Error::InvalidName(config.name));
        }
        if self.member_by_name(&config.name).is_some() {
            return Err(Error::DuplicateName(config.name));
        }
        if !config.mac.is_valid_unicast() {
            return Err(Error::InvalidMac(config.mac));
        }
        let mode = self.mode();
        if !self.has_members() && self.bond_mac_random {
            // bond_set_dev_addr(): the bond takes the first member's address.
            self.bond_mac = config.mac;
            self.bond_mac_random = false;
            self.push_event(Event::SetBondMac { mac: config.mac });
            if let Some(l) = self.lacp.as_mut() {
                l.set_bond_mac(now, config.mac.into());
            }
        }
        // balance-tlb/alb: the machine may refuse the member (no free address); check first.
        self.ensure_alb();
        if self.alb.is_some() {
            let link = arp_alb::MemberLink::Down;
            let speed = config.link.speed_mbps.unwrap_or(0);
            if let Some(a) = self.alb.as_mut() {
                match a.add_member(now, index, config.mac.into(), speed, link) {
                    Ok(()) => {}
                    Err(arp_alb::Error::NoFreeMac(i)) => return Err(Error::NoFreeMac(i)),
                    Err(_) => return Err(Error::MemberIndexTooLarge(index)),
                }
            }
        }
        if config.mtu != self.mtu {
            self.push_event(Event::SetMemberMtu {
                member: index,
                mtu: self.mtu,
            });
        }
        let fom = self.opts.fail_over_mac();
        let mac = if mode.is_lb() {
            config.mac
        } else if fom == FailOverMac::None || mode != Mode::ActiveBackup {
            self.bond_mac
        } else if fom == FailOverMac::Follow && config.mac == self.bond_mac {
            self.random_mac()
        } else {
            config.mac
        };
        if self.members.len() <= index {
            self.members.resize_with(index + 1, || None);
        }
        self.members[index] = Some(Member {
            name: config.name.clone(),
            perm_mac: config.mac,
            mac: config.mac,
            original_mtu: config.mtu,
            link_info: config.link,
            link: LinkState::Down,
            backup: false,
            inactive: false,
            queue_id: 0,
            prio: 0,
            lacp_port_enabled: false,
            slow_mcast: false,
        });
        self.order.push(index);
        if mac != config.mac {
            if let Some(m) = self.mm(index) {
                m.mac = config.mac;
            }
            self.set_member_mac(index, mac);
        }
        // The first link state.
        let carrier = effective_carrier(&config.link, mode.needs_speed_duplex());
        let _ = self.monitor.add_member(now, index, mac.0, carrier);
        let link = self.monitor.link_state(index).unwrap_or(LinkState::Down);
        if let Some(m) = self.mm(index) {
            m.link = link;
        }
        self.push_event(Event::MemberLink {
            member: index,
            state: link,
        });
        if mode.uses_primary()
            && !self.opts.primary().is_empty()
            && self.opts.primary() == config.name
        {
            self.primary = Some(index);
            self.force_primary = true;
            let _ = self.monitor.set_primary(Some(index));
        }
        match mode {
            Mode::ActiveBackup => self.set_slave_inactive_flags(now, index),
            Mode::Ieee8023ad => {
                self.set_slave_inactive_flags(now, index);
                if let Some(l) = self.lacp.as_mut() {
                    let _ = l.add_port(now, index, config.mac.into());
                }
                if link == LinkState::Up {
                    self.lacp_link_change(now, index, true);
                }
                self.join_slow_mcast(index);
            }
            Mode::BalanceTlb | Mode::BalanceAlb => {
                if let Some(m) = self.mm(index) {
                    m.backup = false;
                }
                self.set_slave_inactive_flags(now, index);
                let alb_link = match link {
                    LinkState::Up => arp_alb::MemberLink::Up,
                    LinkState::Fail => arp_alb::MemberLink::Fail,
                    LinkState::Back => arp_alb::MemberLink::Back,
                    LinkState::Down => arp_alb::MemberLink::Down,
                };
                self.alb_link_change(now, index, alb_link);
            }
            Mode::BalanceRr | Mode::BalanceXor | Mode::Broadcast => {
                // Always active in the trunk modes; the first member up becomes the
                // current one without a failover.
                if let Some(m) = self.mm(index) {
                    m.backup = false;
                }
                if self.curr_active.is_none() && link == LinkState::Up {
                    self.curr_active = Some(index);
                    let _ = self.monitor.set_active_member(now, Some(index));
                    self.push_event(Event::ActiveMember {
                        previous: None,
                        current: Some(index),
                    });
                }
            }
        }
        self.apply_pending_member_options(now, index, &config.name);
        self.settle(now);
        if mode.uses_primary() {
            self.select_active_slave(now);
            self.settle(now);
        }
        Ok(())
    }

    /// Per-member options given by name before the member existed.
    fn apply_pending_member_options(&mut self, now: Duration, index: usize, name: &str) {
        let pending: Vec<_> = self
            .opts
            .pending
            .iter()
            .filter(|p| p.member == name)
            .cloned()
            .collect();
        for p in pending {
            match p.option {
                OptionId::QueueId => {
                    let q = p.value as u16;
                    let dup = q != 0
                        && self
                            .order
                            .iter()
                            .any(|&i| i != index && self.m(i).is_some_and(|m| m.queue_id == q));
                    if dup {
                        self.warnings.push(super::OptionWarning::new(format!(
                            "queue_id {q} of {name} is already used by another member; not set"
                        )));
                    } else if let Some(m) = self.mm(index) {
                        m.queue_id = q;
                    }
                }
                OptionId::Prio => {
                    if let Some(m) = self.mm(index) {
                        m.prio = p.value as i32;
                    }
                    let _ = self.monitor.set_member_prio(index, p.value as i32);
                }
                OptionId::ActorPortPrio => {
                    if let Some(l) = self.lacp.as_mut() {
                        let _ = l.set_actor_port_priority(now, index, p.value as u16);
                    }
                }
                _ => {}
            }
        }
    }

    /// Removes a member (`__bond_release_one()`): a farewell LACPDU in 802.3ad, a new
    /// active member if it was the active one, its permanent MAC and original MTU given
    /// back ([`Event::SetMemberMac`], [`Event::SetMemberMtu`]), then
    /// [`Event::MemberReleased`].
    pub fn remove_member(&mut self, now: Duration, index: usize) -> Result<(), Error> {
        if self.m(index).is_none() {
            return Err(Error::NoSuchMember(index));
        }
        let mode = self.mode();
        self.set_slave_inactive_flags(now, index);
        let mut last_frame = None;
        if let Some(l) = self.lacp.as_mut() {
            let _ = l.remove_port(now, index);
            // The farewell LACPDU goes out before the member is released.
            let mut others = Vec::new();
            while let Some(t) = l.poll_transmit(now) {
                if t.port == index {
                    last_frame = Some(Box::new(super::event::Transmit::new(
                        index,
                        super::event::TransmitKind::Lacpdu,
                        t.frame.as_bytes(),
                    )));
                } else {
                    let kind = if t.frame.as_bytes().get(14) == Some(&1) {
                        super::event::TransmitKind::Lacpdu
                    } else {
                        super::event::TransmitKind::MarkerResponse
                    };
                    others.push(super::event::Transmit::new(
                        t.port,
                        kind,
                        t.frame.as_bytes(),
                    ));
                }
            }
            self.transmits.extend(others);
        }
        if self.primary == Some(index) {
            self.primary = None;
            let _ = self.monitor.set_primary(None);
        }
        let was_active = self.curr_active == Some(index);
        if was_active {
            self.change_active_slave(now, None);
        }
        if let Some(a) = self.alb.as_mut() {
            let _ = a.remove_member(now, index);
        }
        // Out of the list before anything is chosen again (Linux unlinks the slave before
        // bond_select_active_slave()): the LACP fallback must not pick it as active.
        self.order.retain(|&i| i != index);
        self.settle(now);
        self.leave_slow_mcast(index);
        let _ = self.monitor.remove_member(now, index);
        let Some(m) = self.members.get_mut(index).and_then(Option::take) else {
            return Err(Error::NoSuchMember(index));
        };
        self.transmits.retain(|t| t.member != index);
        if was_active {
            self.select_active_slave(now);
        }
        if !self.has_members() {
            // eth_hw_addr_random(): the next first member gives its address again.
            self.bond_mac_random = true;
            self.alb = None;
        }
        let restore_mac = !mode.is_lb()
            && (self.opts.fail_over_mac() != FailOverMac::Active || mode != Mode::ActiveBackup);
        if restore_mac && m.mac != m.perm_mac {
            self.push_event(Event::SetMemberMac {
                member: index,
                mac: m.perm_mac,
            });
        }
        if m.original_mtu != self.mtu {
            self.push_event(Event::SetMemberMtu {
                member: index,
                mtu: m.original_mtu,
            });
        }
        self.push_event(Event::MemberReleased {
            member: index,
            last_frame,
        });
        self.settle(now);
        Ok(())
    }
}
