//! Telling the network about a failover: gratuitous ARP and unsolicited neighbour
//! advertisements (`num_grat_arp`/`num_unsol_na`, `peer_notif_delay`), and the host's
//! multicast membership reports sent again (`resend_igmp`).
//!
//! # Peer notifications
//!
//! Linux sets `send_peer_notif = num_peer_notif * max(1, peer_notif_delay)` when the
//! active member changes in active-backup (and, with `broadcast_neighbor`, when an 802.3ad
//! port starts distributing), sends the first notification at once if
//! `bond_should_notify_peers()` agrees, then at every monitor run checks again and counts
//! down: a notification goes out whenever the count is a multiple of
//! `max(1, peer_notif_delay)` (the delay being a count of `miimon` intervals), so
//! `num_peer_notif` notifications go out, `peer_notif_delay` ms apart. The notification
//! itself (`NETDEV_NOTIFY_PEERS`) makes the kernel's IPv4 code send a gratuitous ARP for
//! each address of the device and its IPv6 code an unsolicited NA for each address.
//!
//! Here the same count runs on the engine's own ticks, one monitor interval (`miimon`, or
//! `arp_interval` with the ARP monitor) apart starting at the failover; the kernel's ticks
//! are the monitor's runs, whose phase is unrelated to the failover. Since this bond fails
//! over on the carrier event itself rather than at a run, counting from the failover keeps
//! the spacing Linux documents. The frames are built by the engine for every address the
//! host gave with [`Bond::set_host_addresses`]/[`Bond::set_vlan_host_addresses`], from the
//! bond's MAC, and leave the way a host frame would (the active member in active-backup).
//! Without any monitor Linux never counts down, so only the first notification goes out;
//! the same here.
//!
//! # resend_igmp
//!
//! After a failover Linux asks the host's IP stack to send its multicast memberships again
//! (`NETDEV_RESEND_IGMP`), once at once and then every 200 ms, `resend_igmp` times, in
//! balance-rr and the modes with an active member. A user-space bond cannot ask the host
//! kernel to do that, so the engine learns the host's memberships from the IGMP and MLD
//! reports the host sends through the bond (in those modes they go through
//! [`Bond::select_tx`]; the plan returns [`Tx::ViaBond`](super::Tx::ViaBond) for them),
//! keeps the last report that mentioned each group (up to 256 groups; a leave, an IGMPv2
//! leave, an MLDv1 done or a v3/v2 "include nothing" record, forgets it), and sends each
//! distinct stored report again on the same schedule. A group the host joined before the
//! bond started (and has not reported since) is not known until the next query makes the
//! host report it.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use super::bond::Bond;
use super::event::{Transmit, TransmitKind};
use super::frame::{self, MAX_CONTROL_FRAME};
use super::options::Mode;
use super::plan::Tx;

/// Most groups remembered for `resend_igmp`.
pub const MAX_GROUPS: usize = 256;
/// Linux re-sends membership reports every `HZ/5`.
pub const IGMP_RESEND_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
struct Report {
    group: IpAddr,
    frame: Vec<u8>,
}

/// The notification state of a bond.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notify {
    /// Linux `bond->send_peer_notif`.
    pub(crate) send_peer_notif: u32,
    next_tick: Option<Duration>,
    /// Linux `bond->igmp_retrans`.
    igmp_retrans: u8,
    next_igmp: Option<Duration>,
    reports: Vec<Report>,
}

impl Notify {
    pub(crate) fn stop(&mut self) {
        self.send_peer_notif = 0;
        self.next_tick = None;
        self.igmp_retrans = 0;
        self.next_igmp = None;
    }

    pub(crate) fn poll_timeout(&self) -> Option<Duration> {
        [self.next_tick, self.next_igmp].into_iter().flatten().min()
    }

    /// The groups the host reported, for status.
    pub(crate) fn groups(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.reports.iter().map(|r| r.group)
    }

    /// Learns from a host's IGMP or MLD message.
    pub(crate) fn learn_report(&mut self, f: &[u8]) {
        let Some((et, off)) = frame::l3(f) else {
            return;
        };
        let mut changes: Vec<(IpAddr, bool)> = Vec::new();
        if et == frame::ETH_P_IP {
            let Some(&vihl) = f.get(off) else { return };
            let igmp = off + usize::from(vihl & 0x0f) * 4;
            let group4 = |p: usize| -> Option<IpAddr> {
                let b: [u8; 4] = f.get(p..p + 4)?.try_into().ok()?;
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            };
            match f.get(igmp) {
                Some(0x12 | 0x16) => {
                    if let Some(g) = group4(igmp + 4) {
                        changes.push((g, true));
                    }
                }
                Some(0x17) => {
                    if let Some(g) = group4(igmp + 4) {
                        changes.push((g, false));
                    }
                }
                Some(0x22) => {
                    let n = be16(f, igmp + 6).unwrap_or(0);
                    let mut p = igmp + 8;
                    for _ in 0..n {
                        let (Some(&rtype), Some(&aux), Some(nsrc), Some(g)) =
                            (f.get(p), f.get(p + 1), be16(f, p + 2), group4(p + 4))
                        else {
                            break;
                        };
                        changes.push((g, !(matches!(rtype, 1 | 3) && nsrc == 0)));
                        p += 8 + usize::from(nsrc) * 4 + usize::from(aux) * 4;
                    }
                }
                _ => return,
            }
        } else if et == frame::ETH_P_IPV6 {
            let Some(icmp) = frame::mld_offset(f, off) else {
                return;
            };
            let group6 = |p: usize| -> Option<IpAddr> {
                let b: [u8; 16] = f.get(p..p + 16)?.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            };
            match f.get(icmp) {
                Some(131) => {
                    if let Some(g) = group6(icmp + 8) {
                        changes.push((g, true));
                    }
                }
                Some(132) => {
                    if let Some(g) = group6(icmp + 8) {
                        changes.push((g, false));
                    }
                }
                Some(143) => {
                    let n = be16(f, icmp + 6).unwrap_or(0);
                    let mut p = icmp + 8;
                    for _ in 0..n {
                        let (Some(&rtype), Some(&aux), Some(nsrc), Some(g)) =
                            (f.get(p), f.get(p + 1), be16(f, p + 2), group6(p + 4))
                        else {
                            break;
                        };
                        changes.push((g, !(matches!(rtype, 1 | 3) && nsrc == 0)));
                        p += 20 + usize::from(nsrc) * 16 + usize::from(aux) * 4;
                    }
                }
                _ => return,
            }
        }
        let len = f.len().min(MAX_CONTROL_FRAME);
        for (group, joined) in changes {
            let at = self.reports.iter().position(|r| r.group == group);
            match (at, joined) {
                (Some(i), true) => self.reports[i].frame = f[..len].to_vec(),
                (None, true) if self.reports.len() < MAX_GROUPS => self.reports.push(Report {
                    group,
                    frame: f[..len].to_vec(),
                }),
                (Some(i), false) => {
                    self.reports.remove(i);
                }
                _ => {}
            }
        }
    }
}

fn be16(f: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]))
}

impl Bond {
    /// The spacing of notification ticks: the monitor's interval.
    fn notify_interval(&self) -> Option<Duration> {
        let m = self.opts.monitor();
        let ms = if m.miimon() > 0 {
            m.miimon()
        } else {
            m.arp_interval()
        };
        (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
    }

    fn peer_notif_delay(&self) -> u32 {
        self.opts.peer_notif_delay_intervals().max(1)
    }

    /// The failover half of `bond_change_active_slave()`: set the count, notify at once
    /// if `bond_should_notify_peers()` agrees.
    pub(crate) fn start_peer_notif(&mut self, now: Duration) {
        self.reset_peer_notif(now);
        if self.should_notify_peers() {
            self.notify.send_peer_notif -= 1;
            self.send_peer_notifications(now);
        }
    }

    /// Sets the count and starts the ticks (`ad_cond_set_peer_notif()` stops here).
    pub(crate) fn reset_peer_notif(&mut self, now: Duration) {
        self.notify.send_peer_notif =
            u32::from(self.opts.num_peer_notif()).saturating_mul(self.peer_notif_delay());
        self.notify.next_tick = self
            .notify_interval()
            .filter(|_| self.notify.send_peer_notif > 0)
            .map(|i| now + i);
    }

    /// `bond_should_notify_peers()`.
    fn should_notify_peers(&self) -> bool {
        let s = self.notify.send_peer_notif;
        if s == 0 || s % self.peer_notif_delay() != 0 || !self.carrier {
            return false;
        }
        if self.mode() == Mode::Ieee8023ad && !self.fallback {
            self.plan.usable_len > 0
        } else {
            self.curr_active.is_some()
        }
    }

    /// Starts re-sending the host's membership reports (`bond->igmp_retrans`).
    pub(crate) fn start_igmp_resend(&mut self, now: Duration) {
        self.notify.igmp_retrans = self.opts.resend_igmp();
        self.notify.next_igmp = Some(now);
    }

    /// The ticks that are due.
    pub(crate) fn notify_timeout(&mut self, now: Duration) {
        if self.notify.next_tick.is_some_and(|t| t <= now) {
            let should = self.should_notify_peers();
            if self.opts.miimon() > 0 {
                // bond_mii_monitor(): checked, then counted down whether or not it sent.
                self.notify.send_peer_notif = self.notify.send_peer_notif.saturating_sub(1);
                if should {
                    self.send_peer_notifications(now);
                }
            } else if should {
                // bond_activebackup_arp_mon(): counted down when it sends.
                self.notify.send_peer_notif -= 1;
                self.send_peer_notifications(now);
            }
            let interval = self.notify_interval();
            self.notify.next_tick = match (interval, self.notify.send_peer_notif) {
                (Some(i), s) if s > 0 => {
                    // The next run counts from the one that was due, as delayed work does.
                    let next = self.notify.next_tick.unwrap_or(now) + i;
                    Some(if next <= now { now + i } else { next })
                }
                _ => None,
            };
        }
        if self.notify.next_igmp.is_some_and(|t| t <= now) {
            self.resend_reports(now);
            if self.notify.igmp_retrans > 1 {
                self.notify.igmp_retrans -= 1;
                self.notify.next_igmp = Some(now + IGMP_RESEND_INTERVAL);
            } else {
                self.notify.igmp_retrans = 0;
                self.notify.next_igmp = None;
            }
        }
    }

    /// One round of gratuitous ARPs and unsolicited NAs, for every host address.
    fn send_peer_notifications(&mut self, now: Duration) {
        let mac = self.bond_mac;
        let v4 = self.host.v4.clone();
        let v6 = self.host.v6.clone();
        let mut buf = [0u8; MAX_CONTROL_FRAME];
        for (vlan, ip) in v4 {
            if let Some(n) = frame::gratuitous_arp(&mut buf, mac, ip, vlan) {
                self.send_control(now, &mut buf[..n], TransmitKind::GratuitousArp);
            }
        }
        for (vlan, ip) in v6 {
            if let Some(n) = frame::unsolicited_na(&mut buf, mac, ip, vlan) {
                self.send_control(now, &mut buf[..n], TransmitKind::UnsolicitedNa);
            }
        }
    }

    /// One round of the stored membership reports (each distinct frame once).
    fn resend_reports(&mut self, now: Duration) {
        let mut frames: Vec<Vec<u8>> = Vec::new();
        for r in &self.notify.reports {
            if !frames.contains(&r.frame) {
                frames.push(r.frame.clone());
            }
        }
        let mut buf = [0u8; MAX_CONTROL_FRAME];
        for f in frames {
            let n = f.len().min(MAX_CONTROL_FRAME);
            buf[..n].copy_from_slice(&f[..n]);
            self.send_control(now, &mut buf[..n], TransmitKind::MembershipReport);
        }
    }

    /// Queues a frame of the bond's own where a host frame would go.
    fn send_control(&mut self, now: Duration, f: &mut [u8], kind: TransmitKind) {
        // The active member may have changed a moment ago.
        self.publish_plan();
        let tx = match self.plan.select(&mut self.worker, f, None, true) {
            Tx::ViaBond => self.alb_select_tx(now, f),
            t => t,
        };
        match tx {
            Tx::Member(m) => self.transmits.push_back(Transmit::new(m, kind, f)),
            Tx::Members(set) => {
                for m in set.iter() {
                    self.transmits.push_back(Transmit::new(m, kind, f));
                }
            }
            Tx::Drop(_) | Tx::ViaBond => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_igmp(body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 24];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x46; // 24-byte header (router alert)
        f[23] = 2;
        f.extend_from_slice(body);
        f
    }

    fn ipv6_mld(body: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 8];
        f[12..14].copy_from_slice(&[0x86, 0xdd]);
        f[14] = 0x60;
        f[20] = 0; // hop-by-hop
        f[54] = 58; // then ICMPv6
        f[55] = 0; // 8 bytes
        f.extend_from_slice(body);
        f
    }

    fn groups(n: &Notify) -> Vec<String> {
        let mut g: Vec<String> = n.groups().map(|g| g.to_string()).collect();
        g.sort();
        g
    }

    #[test]
    fn learns_igmp_v2_and_v3() {
        let mut n = Notify::default();
        n.learn_report(&ipv4_igmp(&[0x16, 0, 0, 0, 239, 1, 1, 1]));
        n.learn_report(&ipv4_igmp(&[0x12, 0, 0, 0, 239, 1, 1, 2]));
        assert_eq!(groups(&n), ["239.1.1.1", "239.1.1.2"]);
        n.learn_report(&ipv4_igmp(&[0x17, 0, 0, 0, 239, 1, 1, 1]));
        assert_eq!(groups(&n), ["239.1.1.2"]);
        // v3: EXCLUDE {} for 239.2.2.2 (join), TO_IN {} for 239.1.1.2 (leave), and a record
        // with one source and aux data for 239.3.3.3.
        let mut v3 = vec![0x22, 0, 0, 0, 0, 0, 0, 3];
        v3.extend_from_slice(&[2, 0, 0, 0, 239, 2, 2, 2]);
        v3.extend_from_slice(&[3, 0, 0, 0, 239, 1, 1, 2]);
        v3.extend_from_slice(&[1, 1, 0, 1, 239, 3, 3, 3, 198, 18, 0, 9, 0, 0, 0, 0]);
        n.learn_report(&ipv4_igmp(&v3));
        assert_eq!(groups(&n), ["239.2.2.2", "239.3.3.3"]);
        // Cut short: the records that are there count, nothing panics.
        let f = ipv4_igmp(&v3);
        for len in 0..f.len() {
            n.learn_report(&f[..len]);
        }
    }

    #[test]
    fn learns_mld_v1_and_v2() {
        let mut n = Notify::default();
        let g1: Ipv6Addr = "ff05::1:3".parse().unwrap();
        let mut v1 = vec![131, 0, 0, 0, 0, 0, 0, 0];
        v1.extend_from_slice(&g1.octets());
        n.learn_report(&ipv6_mld(&v1));
        assert_eq!(groups(&n), ["ff05::1:3"]);
        let g2: Ipv6Addr = "ff05::2".parse().unwrap();
        let mut v2 = vec![143, 0, 0, 0, 0, 0, 0, 2];
        v2.extend_from_slice(&[4, 0, 0, 0]);
        v2.extend_from_slice(&g2.octets());
        v2.extend_from_slice(&[3, 0, 0, 0]);
        v2.extend_from_slice(&g1.octets());
        n.learn_report(&ipv6_mld(&v2));
        assert_eq!(groups(&n), ["ff05::2"]);
        let mut done = vec![132, 0, 0, 0, 0, 0, 0, 0];
        done.extend_from_slice(&g2.octets());
        n.learn_report(&ipv6_mld(&done));
        assert!(groups(&n).is_empty());
    }

    #[test]
    fn remembers_at_most_max_groups() {
        let mut n = Notify::default();
        for i in 0..(MAX_GROUPS + 10) {
            let g = (i as u32).to_be_bytes();
            n.learn_report(&ipv4_igmp(&[0x16, 0, 0, 0, 239, g[1], g[2], g[3]]));
        }
        assert_eq!(n.groups().count(), MAX_GROUPS);
    }
}
