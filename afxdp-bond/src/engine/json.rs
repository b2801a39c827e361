//! The JSON status: what `/proc/net/bonding` shows, plus what it lacks: per-member frame
//! counters, per-reason drop counters, control frames sent, and the LACP, monitor and ALB
//! counters.

use serde_json::{Map, Value, json};

use super::bond::Bond;
use super::event::TransmitKind;
use super::member::Duplex;
use super::plan::{RxDrop, TxDrop};
use super::status::VERSION_LINE;

macro_rules! fields {
    ($c:expr, $($f:ident),* $(,)?) => {{
        let mut m = Map::new();
        $( m.insert(stringify!($f).to_string(), json!($c.$f)); )*
        Value::Object(m)
    }};
}

impl Bond {
    /// The status as JSON (see the module docs of `json`).
    pub fn status_json(&self) -> Value {
        let o = &self.opts;
        let counters = self.counters();
        let members: Vec<Value> = self
            .order
            .iter()
            .filter_map(|&i| {
                let m = self.m(i)?;
                let c = counters
                    .members
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, c)| *c)
                    .unwrap_or_default();
                let mut v = json!({
                    "index": i,
                    "name": m.name,
                    "mii_status": m.link.as_str(),
                    "carrier": m.link_info.carrier,
                    "speed_mbps": m.link_info.speed_mbps,
                    "duplex": match m.link_info.duplex {
                        Duplex::Full => "full",
                        Duplex::Half => "half",
                        Duplex::Unknown => "unknown",
                    },
                    "permanent_mac": m.perm_mac.to_string(),
                    "mac": m.mac.to_string(),
                    "active": !m.backup,
                    "inactive": m.inactive,
                    "queue_id": m.queue_id,
                    "prio": m.prio,
                    "link_failure_count": self.monitor.link_failure_count(i).unwrap_or(0),
                    "tx_frames": c.tx_frames,
                    "tx_bytes": c.tx_bytes,
                    "rx_frames": c.rx_frames,
                    "rx_bytes": c.rx_bytes,
                });
                if let Some(l) = &self.lacp {
                    if let (Some(p), Some(pc)) = (l.port(i), l.counters(i)) {
                        v["lacp"] = json!({
                            "port_number": p.port_number,
                            "aggregator_id": p.aggregator_id,
                            "selected": p.selected,
                            "individual": p.individual,
                            "collecting": p.collecting,
                            "distributing": p.distributing,
                            "rx_state": format!("{:?}", p.rx_state),
                            "mux_state": format!("{:?}", p.mux_state),
                            "periodic_state": format!("{:?}", p.periodic_state),
                            "actor_state": p.actor.state.bits(),
                            "partner_state": p.partner.state.bits(),
                            "partner_system": p.partner.system.to_string(),
                            "partner_key": p.partner.key,
                            "partner_port": p.partner.port,
                            "actor_churn": p.actor_churn_state.to_string(),
                            "partner_churn": p.partner_churn_state.to_string(),
                            "counters": fields!(pc, lacpdu_rx, lacpdu_tx, lacpdu_unknown_rx,
                                lacpdu_illegal_rx, marker_rx, marker_tx, marker_resp_rx,
                                marker_resp_tx, marker_unknown_rx, marker_resp_rate_limited,
                                loopback_rx),
                            "malformed": fields!(pc.malformed, truncated, bad_version,
                                actor_tlv_type, actor_tlv_length, partner_tlv_type,
                                partner_tlv_length, collector_tlv_type, collector_tlv_length,
                                terminator, tlv_overrun, marker_tlv_length),
                        });
                    }
                }
                if let Some(a) = &self.alb {
                    if let Some(s) = a.member(i) {
                        v["alb"] = json!({
                            "mac": s.mac.to_string(),
                            "tlb_load": s.tlb_load,
                            "tlb_entries": s.tlb_entries,
                            "rlb_clients": s.rlb_clients,
                        });
                    }
                }
                Some(v)
            })
            .collect();
        let mut drops_tx = Map::new();
        for (k, r) in TxDrop::ALL.iter().enumerate() {
            drops_tx.insert(r.name().to_string(), json!(counters.tx_drop[k]));
        }
        let mut drops_rx = Map::new();
        for (k, r) in RxDrop::ALL.iter().enumerate() {
            drops_rx.insert(r.name().to_string(), json!(counters.rx_drop[k]));
        }
        let mut control = Map::new();
        for (k, t) in TransmitKind::ALL.iter().enumerate() {
            control.insert(t.name().to_string(), json!(counters.control_tx[k]));
        }
        let mc = self.monitor.counters();
        let options = json!({
            "xmit_hash_policy": o.xmit_hash_policy().name(),
            "miimon": o.miimon(),
            "updelay": o.monitor().updelay(),
            "downdelay": o.monitor().downdelay(),
            "peer_notif_delay": o.peer_notif_delay(),
            "arp_interval": o.monitor().arp_interval(),
            "arp_ip_target": o.monitor().arp_ip_target().iter().map(ToString::to_string)
                .collect::<Vec<_>>(),
            "ns_ip6_target": o.monitor().ns_ip6_target().iter().map(ToString::to_string)
                .collect::<Vec<_>>(),
            "arp_validate": o.monitor().arp_validate().name(),
            "arp_all_targets": o.monitor().arp_all_targets().name(),
            "arp_missed_max": o.monitor().arp_missed_max(),
            "num_peer_notif": o.num_peer_notif(),
            "fail_over_mac": o.fail_over_mac().name(),
            "primary": o.primary(),
            "primary_reselect": o.primary_reselect().name(),
            "use_carrier": o.use_carrier(),
            "all_slaves_active": o.all_slaves_active(),
            "resend_igmp": o.resend_igmp(),
            "packets_per_slave": o.packets_per_slave(),
            "lp_interval": o.lp_interval().seconds(),
            "tlb_dynamic_lb": o.tlb_dynamic_lb().to_string(),
            "lacp_active": o.lacp_active().as_str(),
            "lacp_rate": o.lacp_rate().as_str(),
            "ad_select": o.ad_select().as_str(),
            "min_links": o.min_links(),
            "ad_actor_sys_prio": o.ad_actor_sys_prio(),
            "ad_actor_system": o.ad_actor_system().to_string(),
            "ad_user_port_key": o.ad_user_port_key(),
            "coupled_control": o.coupled_control().as_str(),
            "broadcast_neighbor": o.broadcast_neighbor(),
            "lacp_fallback": o.lacp_fallback().name(),
        });
        let mut v = json!({
            "version": VERSION_LINE,
            "name": self.name,
            "mode": o.mode().name(),
            "mode_number": o.mode().number(),
            "up": self.up,
            "carrier": self.carrier,
            "mac": self.bond_mac.to_string(),
            "mtu": self.mtu,
            "active_member": self.curr_active.and_then(|i| self.m(i)).map(|m| m.name.clone()),
            "primary": self.primary.and_then(|i| self.m(i)).map(|m| m.name.clone()),
            "lacp_fallback_engaged": self.fallback,
            "plan_generation": self.plan.generation(),
            "options": options,
            "members": members,
            "drops": { "tx": drops_tx, "rx": drops_rx },
            "control_tx": control,
            "membership_reports_seen": counters.membership_reports_seen,
            "multicast_groups": self.notify.groups().map(|g| g.to_string()).collect::<Vec<_>>(),
            "events_dropped": counters.events_dropped,
        });
        v["monitor"] = fields!(
            mc,
            rx_frames,
            rx_unvalidated,
            rx_filtered,
            rx_not_arp_or_ipv6,
            rx_other_host,
            eth_truncated,
            vlan_truncated,
            arp_truncated,
            arp_bad_hardware_type,
            arp_bad_protocol_type,
            arp_bad_hardware_len,
            arp_bad_protocol_len,
            arp_validated,
            arp_not_validated,
            arp_untrusted,
            ipv6_truncated,
            ipv6_bad_version,
            ipv6_bad_payload_len,
            ipv6_not_nd,
            nd_truncated,
            nd_bad_checksum,
            nd_bad_code,
            nd_bad_hop_limit,
            nd_multicast_target,
            nd_bad_option,
            nd_validated,
            nd_not_validated,
            nd_untrusted,
            tx_arp,
            tx_ns,
            tx_other_device,
            tx_stale,
            speed_duplex_unknown
        );
        if let Some(l) = &self.lacp {
            let aggs: Vec<Value> = l
                .aggregators()
                .map(|a| {
                    json!({
                        "id": a.id,
                        "active": a.is_active,
                        "ports_up": a.num_ports,
                        "ports": a.num_attached,
                        "actor_key": a.actor_key,
                        "partner_key": a.partner_key,
                        "partner_system": a.partner_system.to_string(),
                        "partner_system_priority": a.partner_system_priority,
                        "individual": a.is_individual,
                        "bandwidth_mbps": a.bandwidth_mbps,
                    })
                })
                .collect();
            v["lacp"] = json!({
                "system_priority": l.system_priority(),
                "system_mac": l.system_mac().to_string(),
                "carrier": l.carrier(),
                "lacpdu_ever_received": l.lacpdu_ever_received(),
                "aggregators": aggs,
                "events_dropped": l.events_dropped(),
            });
        }
        if let Some(a) = &self.alb {
            let c = a.counters();
            v["alb"] = json!({
                "promiscuous_member": a.promiscuous_member(),
                "unbalanced_load": a.unbalanced_load(),
                "clients": a.clients().count(),
                "counters": fields!(c, tx_balanced, tx_to_active, tx_rlb, tx_drop_runt,
                    tx_drop_no_active, tx_drop_member_cannot_tx, host_arp_truncated,
                    host_arp_unsupported, host_arp_foreign_sender, host_arp_other_opcode,
                    host_arp_replies, host_arp_requests, rx_runt, rx_arp_truncated,
                    rx_arp_bad_hardware_type, rx_arp_bad_protocol_type,
                    rx_arp_bad_hardware_len, rx_arp_bad_protocol_len, rx_arp_own_sender,
                    rx_arp_requests, rx_arp_replies, rx_arp_other_opcode,
                    rlb_client_mac_learnt, rlb_clients_purged, rlb_clients_evicted,
                    rlb_update_rounds, tx_control_skipped, tx_control_overflow,
                    event_overflow),
            });
        }
        v
    }
}
