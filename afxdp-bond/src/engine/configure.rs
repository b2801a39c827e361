//! Setting one option on a live bond: `__bond_opt_set()` and each option's `set` function
//! of `bond_options.c`, with its side effects on the members and the machines.

use core::time::Duration;

use super::bond::Bond;
use super::options::{
    IFNAMSIZ_MAX, OptionError, OptionId, OptionWarning, Value, check_deps, first_line, first_word,
    lookup, parse_member_value, parse_value,
};

impl Bond {
    /// Sets one option by its Linux name from its Linux spelling, as writing
    /// `/sys/class/net/bond0/bonding/NAME` or `ip link set bond0 type bond NAME VALUE`
    /// does: the mode dependency, "no members" and "bond down" checks first, then the value
    /// (by name or number), then the option's effects. Returns Linux's notes and warnings.
    ///
    /// Per-member options are written `MEMBER:VALUE` (`queue_id=eth0:2`, `prio=eth1:10`,
    /// `actor_port_prio=eth0:100`). `arp_ip_target` takes `+addr`, `-addr` or a comma
    /// separated list (the list replaces the targets, as netlink does; sysfs takes only
    /// `+`/`-`).
    pub fn set_option(
        &mut self,
        now: Duration,
        name: &str,
        value: &str,
    ) -> Result<Vec<OptionWarning>, OptionError> {
        let d = lookup(name).ok_or_else(|| OptionError::Unknown {
            name: name.to_string(),
        })?;
        check_deps(d, self.mode(), self.has_members(), self.up)?;
        let v = parse_value(d, value)?;
        let raw = match v {
            Value::Raw(r) => r,
            Value::Number(_) => "",
        };
        let mut w = Vec::new();
        match d.id {
            OptionId::Prio => {
                // bond_option_prio_set()
                let (member, prio) = parse_member_value(d, raw, self.opts.tx_queues())?;
                let i = self
                    .member_by_name(&member)
                    .ok_or(OptionError::NoSuchMember {
                        option: d.name,
                        name: member.clone(),
                    })?;
                if let Some(m) = self.mm(i) {
                    m.prio = prio as i32;
                }
                let _ = self.monitor.set_member_prio(i, prio as i32);
                if self.primary.is_some() {
                    w.push(OptionWarning::new(format!(
                        "(slave {member}): prio updated, but will not affect failover \
                         re-selection as primary slave have been set"
                    )));
                } else {
                    self.select_active_slave(now);
                }
            }
            OptionId::QueueId => {
                // bond_option_queue_id_set(): every failure is -EPERM, with no message.
                let (member, q) = parse_member_value(d, raw, self.opts.tx_queues())?;
                let i = self
                    .member_by_name(&member)
                    .ok_or_else(|| OptionError::invalid(d, raw))?;
                let q = q as u16;
                let dup = q != 0
                    && self
                        .order
                        .iter()
                        .any(|&j| j != i && self.m(j).is_some_and(|m| m.queue_id == q));
                if dup {
                    return Err(OptionError::invalid(d, raw));
                }
                if let Some(m) = self.mm(i) {
                    m.queue_id = q;
                }
            }
            OptionId::ActorPortPrio => {
                let (member, prio) = parse_member_value(d, raw, self.opts.tx_queues())?;
                let i = self
                    .member_by_name(&member)
                    .ok_or(OptionError::NoSuchMember {
                        option: d.name,
                        name: member,
                    })?;
                if let Some(l) = self.lacp.as_mut() {
                    let _ = l.set_actor_port_priority(now, i, prio as u16);
                }
            }
            OptionId::ActiveSlave => self.active_slave_set(now, value)?,
            OptionId::Primary => self.primary_set(now, raw),
            _ => {
                w = self.opts.apply(d, v)?;
                self.after_option(now, d.id);
            }
        }
        self.settle(now);
        Ok(w)
    }

    /// The effects of an option that only changes the options.
    fn after_option(&mut self, now: Duration, id: OptionId) {
        use OptionId as I;
        match id {
            I::Mode => self.reset_mode_machines(now),
            I::Miimon
            | I::ArpInterval
            | I::Updelay
            | I::Downdelay
            | I::ArpIpTarget
            | I::NsIp6Target
            | I::ArpValidate
            | I::ArpAllTargets
            | I::ArpMissedMax => {
                self.monitor.set_options(now, self.opts.monitor().clone());
                self.sync_addresses();
            }
            I::LacpRate
            | I::LacpActive
            | I::AdSelect
            | I::AdActorSysPrio
            | I::AdActorSystem
            | I::AdUserPortKey
            | I::MinLinks
            | I::CoupledControl => {
                let config = self.opts.lacp_config(self.bond_mac);
                if let Some(l) = self.lacp.as_mut() {
                    let _ = l.set_config(now, config);
                }
            }
            I::PrimaryReselect => self.select_active_slave(now),
            I::AllSlavesActive => {
                // bond_option_all_slaves_active_set(): the flag of every member that is
                // not active follows.
                let on = self.opts.all_slaves_active();
                for k in 0..self.order.len() {
                    let i = self.order[k];
                    if let Some(m) = self.mm(i) {
                        if m.backup {
                            m.inactive = !on;
                        }
                    }
                }
            }
            I::LpInterval => {
                let lp = self.opts.lp_interval();
                if let Some(a) = self.alb.as_mut() {
                    a.set_lp_interval(now, lp);
                }
            }
            I::TlbDynamicLb => self.rebuild_alb(now),
            _ => {}
        }
    }

    /// A new TLB/RLB machine with the current members (its `tlb_dynamic_lb` is fixed at
    /// creation; Linux allows changing it only while the bond is down).
    fn rebuild_alb(&mut self, now: Duration) {
        if self.alb.is_none() {
            return;
        }
        self.alb = None;
        self.ensure_alb();
        let order = self.order.clone();
        for i in order {
            let Some(m) = self.m(i) else { continue };
            let (perm, speed, link) = (
                m.perm_mac,
                m.link_info.speed_mbps.unwrap_or(0),
                match m.link {
                    link_monitor::LinkState::Up => arp_alb::MemberLink::Up,
                    link_monitor::LinkState::Fail => arp_alb::MemberLink::Fail,
                    link_monitor::LinkState::Back => arp_alb::MemberLink::Back,
                    link_monitor::LinkState::Down => arp_alb::MemberLink::Down,
                },
            );
            if let Some(a) = self.alb.as_mut() {
                let _ = a.add_member(now, i, perm.into(), speed, link);
            }
        }
        let active = self.curr_active;
        self.alb_active_change(now, active);
    }

    /// `bond_option_active_slave_set()`.
    fn active_slave_set(&mut self, now: Duration, value: &str) -> Result<(), OptionError> {
        let name = first_word(value, IFNAMSIZ_MAX);
        if name.is_empty() || value.starts_with('\n') {
            self.change_active_slave(now, None);
            self.select_active_slave(now);
            return Ok(());
        }
        let i = self
            .member_by_name(name)
            .ok_or_else(|| OptionError::NoSuchMember {
                option: "active_slave",
                name: name.to_string(),
            })?;
        if Some(i) == self.curr_active {
            return Ok(());
        }
        if self.curr_active.is_some() && self.link_up(i) {
            self.change_active_slave(now, Some(i));
            Ok(())
        } else {
            Err(OptionError::Refused {
                option: "active_slave",
                message: format!(
                    "Could not set as active slave; either {name} is down or the link is down"
                ),
            })
        }
    }

    /// `bond_option_primary_set()`.
    fn primary_set(&mut self, now: Duration, raw: &str) {
        let name = first_line(raw);
        if name.is_empty() {
            self.primary = None;
            self.opts.primary.clear();
            let _ = self.monitor.set_primary(None);
            self.select_active_slave(now);
            return;
        }
        let name: String = name.chars().take(IFNAMSIZ_MAX).collect();
        if let Some(i) = self.member_by_name(&name) {
            self.primary = Some(i);
            self.opts.primary = name;
            self.force_primary = true;
            let _ = self.monitor.set_primary(Some(i));
            self.select_active_slave(now);
            return;
        }
        if self.primary.is_some() {
            self.primary = None;
            let _ = self.monitor.set_primary(None);
            self.select_active_slave(now);
        }
        // Recorded for a member of that name that joins later.
        self.opts.primary = name;
    }
}
