//! `/proc/net/bonding/bondX`: the text `bond_procfs.c` prints, field for field, for the
//! same state.
//!
//! The first line cannot be Linux's (`Ethernet Channel Bonding Driver: v<kernel release>`):
//! this is not the kernel driver. It is [`VERSION_LINE`], which keeps Linux's words (tools
//! that look for "Ethernet Channel Bonding Driver" still find them) and says what this is
//! and its version. Everything after it follows `bond_info_show_master()` and
//! `bond_info_show_slave()`, including the parts Linux shows only to `CAP_NET_ADMIN` (the
//! 802.3ad system and per-port LACP details): the status is served to root only.

use core::fmt::Write;

use link_monitor::LinkState;

use super::bond::Bond;
use super::member::Duplex;
use super::options::{FailOverMac, Mode};

/// The first line of the status text.
pub const VERSION_LINE: &str = concat!(
    "Ethernet Channel Bonding Driver (afxdp-bond, user space): v",
    env!("CARGO_PKG_VERSION")
);

impl Bond {
    /// The text of `/proc/net/bonding/<name>` for this bond's state.
    pub fn status(&self) -> String {
        let mut s = String::with_capacity(1024);
        let _ = self.write_status(&mut s);
        s
    }

    fn write_status(&self, s: &mut String) -> core::fmt::Result {
        // bond_info_seq_show(): "%s\n" of bond_version, which ends in "\n" itself.
        writeln!(s, "{VERSION_LINE}\n")?;
        self.write_master(s)?;
        for &i in &self.order {
            self.write_slave(s, i)?;
        }
        Ok(())
    }

    /// `bond_info_show_master()`.
    fn write_master(&self, s: &mut String) -> core::fmt::Result {
        let o = &self.opts;
        let mode = o.mode();
        write!(s, "Bonding Mode: {}", mode.description())?;
        if mode == Mode::ActiveBackup && o.fail_over_mac() != FailOverMac::None {
            write!(s, " (fail_over_mac {})", o.fail_over_mac().name())?;
        }
        s.push('\n');
        // bond_mode_uses_xmit_hash(): balance-xor, 802.3ad, balance-tlb/alb without
        // dynamic load balancing.
        let uses_xmit_hash = matches!(mode, Mode::BalanceXor | Mode::Ieee8023ad)
            || (mode.is_lb() && o.tlb_dynamic_lb() == arp_alb::TlbDynamicLb::Off);
        if uses_xmit_hash {
            let p = o.xmit_hash_policy();
            writeln!(s, "Transmit Hash Policy: {} ({})", p.name(), p.value())?;
        }
        if mode.uses_primary() {
            write!(s, "Primary Slave: {}", self.member_name(self.primary))?;
            if self.primary.is_some() {
                write!(s, " (primary_reselect {})", o.primary_reselect().name())?;
            }
            write!(
                s,
                "\nCurrently Active Slave: {}\n",
                self.member_name(self.curr_active)
            )?;
        }
        writeln!(
            s,
            "MII Status: {}",
            if self.carrier { "up" } else { "down" }
        )?;
        let m = o.monitor();
        writeln!(s, "MII Polling Interval (ms): {}", m.miimon())?;
        writeln!(s, "Up Delay (ms): {}", m.updelay())?;
        writeln!(s, "Down Delay (ms): {}", m.downdelay())?;
        writeln!(s, "Peer Notification Delay (ms): {}", o.peer_notif_delay())?;
        if m.arp_interval() > 0 {
            writeln!(s, "ARP Polling Interval (ms): {}", m.arp_interval())?;
            writeln!(s, "ARP Missed Max: {}", m.arp_missed_max())?;
            s.push_str("ARP IP target/s (n.n.n.n form):");
            for (i, t) in m.arp_ip_target().iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write!(s, " {t}")?;
            }
            s.push('\n');
            s.push_str("NS IPv6 target/s (xx::xx form):");
            for (i, t) in m.ns_ip6_target().iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write!(s, " {t}")?;
            }
            s.push('\n');
        }
        if mode == Mode::Ieee8023ad {
            s.push_str("\n802.3ad info\n");
            writeln!(
                s,
                "LACP active: {}",
                if o.lacp_active() == lacp::LacpActive::On {
                    "on"
                } else {
                    "off"
                }
            )?;
            writeln!(
                s,
                "LACP rate: {}",
                if o.lacp_rate() == lacp::LacpRate::Fast {
                    "fast"
                } else {
                    "slow"
                }
            )?;
            writeln!(s, "Min links: {}", o.min_links())?;
            writeln!(
                s,
                "Aggregator selection policy (ad_select): {}",
                o.ad_select().as_str()
            )?;
            if let Some(l) = &self.lacp {
                writeln!(s, "System priority: {}", l.system_priority())?;
                writeln!(s, "System MAC address: {}", l.system_mac())?;
                match l.active_aggregator() {
                    None => writeln!(s, "bond {} has no active aggregator", self.name)?,
                    Some(a) => {
                        s.push_str("Active Aggregator Info:\n");
                        writeln!(s, "\tAggregator ID: {}", a.id)?;
                        writeln!(s, "\tNumber of ports: {}", a.num_ports)?;
                        writeln!(s, "\tActor Key: {}", a.actor_key)?;
                        writeln!(s, "\tPartner Key: {}", a.partner_key)?;
                        writeln!(s, "\tPartner Mac Address: {}", a.partner_system)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn member_name(&self, i: Option<usize>) -> &str {
        i.and_then(|i| self.m(i))
            .map_or("None", |m| m.name.as_str())
    }

    /// `bond_info_show_slave()`.
    fn write_slave(&self, s: &mut String, i: usize) -> core::fmt::Result {
        let Some(m) = self.m(i) else { return Ok(()) };
        write!(s, "\nSlave Interface: {}\n", m.name)?;
        writeln!(s, "MII Status: {}", link_status(m.link))?;
        match m.link_info.speed_mbps {
            Some(v) if v != 0 => writeln!(s, "Speed: {v} Mbps")?,
            _ => writeln!(s, "Speed: Unknown")?,
        }
        match m.link_info.duplex {
            Duplex::Full => writeln!(s, "Duplex: full")?,
            Duplex::Half => writeln!(s, "Duplex: half")?,
            Duplex::Unknown => writeln!(s, "Duplex: Unknown")?,
        }
        writeln!(
            s,
            "Link Failure Count: {}",
            self.monitor.link_failure_count(i).unwrap_or(0)
        )?;
        writeln!(s, "Permanent HW addr: {}", m.perm_mac)?;
        writeln!(s, "Slave queue ID: {}", m.queue_id)?;
        if self.mode() == Mode::Ieee8023ad {
            let port = self.lacp.as_ref().and_then(|l| l.port(i));
            match port {
                Some(p) if p.aggregator_id.is_some() => {
                    writeln!(s, "Aggregator ID: {}", p.aggregator_id.unwrap_or(0))?;
                    writeln!(s, "Actor Churn State: {}", p.actor_churn_state)?;
                    writeln!(s, "Partner Churn State: {}", p.partner_churn_state)?;
                    writeln!(s, "Actor Churned Count: {}", p.actor_churn_count)?;
                    writeln!(s, "Partner Churned Count: {}", p.partner_churn_count)?;
                    s.push_str("details actor lacp pdu:\n");
                    writeln!(s, "    system priority: {}", p.actor.system_priority)?;
                    writeln!(s, "    system mac address: {}", p.actor.system)?;
                    writeln!(s, "    port key: {}", p.actor.key)?;
                    writeln!(s, "    port priority: {}", p.actor.port_priority)?;
                    writeln!(s, "    port number: {}", p.actor.port)?;
                    writeln!(s, "    port state: {}", p.actor.state.bits())?;
                    s.push_str("details partner lacp pdu:\n");
                    writeln!(s, "    system priority: {}", p.partner.system_priority)?;
                    writeln!(s, "    system mac address: {}", p.partner.system)?;
                    writeln!(s, "    oper key: {}", p.partner.key)?;
                    writeln!(s, "    port priority: {}", p.partner.port_priority)?;
                    writeln!(s, "    port number: {}", p.partner.port)?;
                    writeln!(s, "    port state: {}", p.partner.state.bits())?;
                }
                _ => s.push_str("Aggregator ID: N/A\n"),
            }
        }
        Ok(())
    }
}

/// `bond_slave_link_status()`.
pub(crate) fn link_status(l: LinkState) -> &'static str {
    l.as_str()
}
