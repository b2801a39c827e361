//! Options: every value by name and by number where Linux takes both, every refusal with
//! its exact message, the modprobe path with `bond_check_params()`'s forced values, and the
//! side effects of a mode change.

use afxdp_bond::engine::options::{self, OPTIONS, OptionId, Origin};
use afxdp_bond::engine::{BondOptions, FailOverMac, Mode, OptionError, PrimaryReselect};
use link_monitor::ArpValidate;

/// A mode in which `id` is accepted.
fn mode_for(d: &options::OptionDef) -> Mode {
    Mode::ALL
        .into_iter()
        .find(|m| !d.unsupported_in(*m))
        .unwrap()
}

fn opts_in(mode: Mode) -> BondOptions {
    let mut o = BondOptions::new();
    o.set("mode", mode.name()).unwrap();
    // Delays need miimon.
    if o.miimon() == 0 {
        o.set("miimon", "100").unwrap();
    }
    o
}

#[test]
fn every_table_value_by_name_and_by_number() {
    for d in OPTIONS.iter().filter(|d| !d.raw) {
        for e in d.values {
            let mut o = opts_in(mode_for(d));
            o.set(d.name, e.name)
                .unwrap_or_else(|err| panic!("{}={}: {err}", d.name, e.name));
            let mut o = opts_in(mode_for(d));
            o.set(d.name, &e.value.to_string())
                .unwrap_or_else(|err| panic!("{}={}: {err}", d.name, e.value));
            // With a trailing newline, as `echo X > /sys/...` writes it.
            let mut o = opts_in(mode_for(d));
            o.set(d.name, &format!("{}\n", e.name))
                .unwrap_or_else(|err| panic!("{}={:?}: {err}", d.name, e.name));
        }
    }
}

#[test]
fn values_land_in_the_options() {
    let mut o = BondOptions::new();
    o.set("mode", "802.3ad").unwrap();
    o.set("lacp_rate", "fast").unwrap();
    o.set("ad_select", "2").unwrap();
    o.set("xmit_hash_policy", "layer3+4").unwrap();
    o.set("min_links", "2").unwrap();
    o.set("ad_actor_sys_prio", "100").unwrap();
    o.set("ad_actor_system", "02:00:00:00:00:01").unwrap();
    o.set("ad_user_port_key", "maxval").unwrap();
    o.set("lacp_active", "off").unwrap();
    o.set("coupled_control", "0").unwrap();
    o.set("broadcast_neighbor", "on").unwrap();
    o.set("lacp_fallback", "active-backup").unwrap();
    assert_eq!(o.lacp_rate(), lacp::LacpRate::Fast);
    assert_eq!(o.ad_select(), lacp::AdSelect::Count);
    assert_eq!(o.xmit_hash_policy(), xmit_hash::Policy::Layer34);
    assert_eq!(o.min_links(), 2);
    assert_eq!(o.ad_actor_sys_prio(), 100);
    assert_eq!(o.ad_actor_system().to_string(), "02:00:00:00:00:01");
    assert_eq!(o.ad_user_port_key(), 1023);
    assert_eq!(o.lacp_active(), lacp::LacpActive::Off);
    assert_eq!(o.coupled_control(), lacp::CoupledControl::Off);
    assert!(o.broadcast_neighbor());
    assert_eq!(
        o.lacp_fallback(),
        afxdp_bond::engine::LacpFallback::ActiveBackup
    );
    // 802.3ad forced miimon to 100.
    assert_eq!(o.miimon(), 100);

    let mut o = BondOptions::new();
    o.set("mode", "active-backup").unwrap();
    o.set("miimon", "100").unwrap();
    o.set("updelay", "250").unwrap(); // rounded down to 200
    o.set("downdelay", "100").unwrap();
    o.set("peer_notif_delay", "300").unwrap();
    o.set("num_grat_arp", "3").unwrap();
    o.set("primary", "eth1").unwrap();
    o.set("primary_reselect", "better").unwrap();
    o.set("fail_over_mac", "follow").unwrap();
    o.set("resend_igmp", "5").unwrap();
    o.set("all_slaves_active", "1").unwrap();
    o.set("use_carrier", "off").unwrap();
    assert_eq!(o.monitor().updelay(), 200);
    assert_eq!(o.monitor().downdelay(), 100);
    assert_eq!(o.peer_notif_delay(), 300);
    assert_eq!(o.num_peer_notif(), 3);
    o.set("num_unsol_na", "7").unwrap();
    assert_eq!(
        o.num_peer_notif(),
        7,
        "num_unsol_na and num_grat_arp are one setting"
    );
    assert_eq!(o.primary(), "eth1");
    assert_eq!(o.primary_reselect(), PrimaryReselect::Better);
    assert_eq!(o.fail_over_mac(), FailOverMac::Follow);
    assert_eq!(o.resend_igmp(), 5);
    assert!(o.all_slaves_active());
    assert!(!o.use_carrier());
    // miimon change scales the delays (Linux keeps multipliers).
    o.set("miimon", "50").unwrap();
    assert_eq!(o.monitor().updelay(), 100);
    assert_eq!(o.peer_notif_delay(), 150);

    o.set("arp_interval", "200").unwrap();
    assert_eq!(o.miimon(), 0, "arp_interval turns miimon off");
    o.set("arp_ip_target", "+198.18.0.1").unwrap();
    o.set("arp_ip_target", "+198.18.0.2").unwrap();
    o.set("ns_ip6_target", "2001:db8::1").unwrap();
    o.set("arp_validate", "filter_backup").unwrap();
    o.set("arp_all_targets", "all").unwrap();
    o.set("arp_missed_max", "5").unwrap();
    assert_eq!(o.monitor().arp_ip_target().len(), 2);
    assert_eq!(o.monitor().ns_ip6_target().len(), 1);
    assert_eq!(o.monitor().arp_validate(), ArpValidate::FilterBackup);
    assert_eq!(o.monitor().arp_missed_max(), 5);
    o.set("miimon", "100").unwrap();
    assert_eq!(
        o.monitor().arp_interval(),
        0,
        "miimon turns ARP monitoring off"
    );
    assert_eq!(o.monitor().arp_validate(), ArpValidate::None);
}

fn err(o: &mut BondOptions, name: &str, value: &str) -> String {
    o.set(name, value).unwrap_err().to_string()
}

#[test]
fn refusals_with_their_messages() {
    let mut o = BondOptions::new();
    assert_eq!(
        err(&mut o, "lacp_rate", "fast"),
        "option lacp_rate: mode dependency failed, not supported in mode balance-rr(0)"
    );
    o.set("mode", "active-backup").unwrap();
    assert_eq!(
        err(&mut o, "packets_per_slave", "2"),
        "option packets_per_slave: mode dependency failed, not supported in mode \
         active-backup(1)"
    );
    assert_eq!(
        err(&mut o, "tlb_dynamic_lb", "0"),
        "option tlb_dynamic_lb: mode dependency failed, not supported in mode active-backup(1)"
    );
    assert_eq!(
        err(&mut o, "ad_actor_system", "02:00:00:00:00:01"),
        "option ad_actor_system: mode dependency failed, not supported in mode \
         active-backup(1)"
    );
    o.set("mode", "802.3ad").unwrap();
    for name in ["arp_interval", "arp_validate", "arp_missed_max"] {
        assert_eq!(
            err(&mut o, name, "1"),
            format!("option {name}: mode dependency failed, not supported in mode 802.3ad(4)")
        );
    }
    for name in ["primary", "active_slave"] {
        assert_eq!(
            err(&mut o, name, "eth0"),
            format!("option {name}: mode dependency failed, not supported in mode 802.3ad(4)")
        );
    }
    assert_eq!(
        err(&mut o, "prio", "eth0:1"),
        "option prio: mode dependency failed, not supported in mode 802.3ad(4)"
    );
    assert_eq!(
        err(&mut o, "lacp_rate", "medium"),
        "option lacp_rate: invalid value (medium); allowed: slow (0), fast (1)"
    );
    assert_eq!(
        err(&mut o, "lacp_rate", "default"),
        "option lacp_rate: invalid value (default); allowed: slow (0), fast (1)",
        "the lacp_rate table has no default entry"
    );
    assert_eq!(
        err(&mut o, "miimon", "-1"),
        "option miimon: invalid value (-1); allowed: 0 - 2147483647 (or off, maxval, default)"
    );
    assert_eq!(
        err(&mut o, "miimon", "2147483648"),
        "option miimon: invalid value (2147483648); allowed: 0 - 2147483647 (or off, maxval, \
         default)"
    );
    assert_eq!(
        err(&mut o, "ad_actor_sys_prio", "0"),
        "option ad_actor_sys_prio: invalid value (0); allowed: 1 - 65535 (or minval, maxval, \
         default)"
    );
    assert_eq!(
        err(&mut o, "ad_user_port_key", "1024"),
        "option ad_user_port_key: invalid value (1024); allowed: 0 - 1023 (or minval, maxval, \
         default)"
    );
    assert_eq!(
        err(&mut o, "ad_actor_system", "01:00:5e:00:00:01"),
        "option ad_actor_system: Invalid ad_actor_system MAC address."
    );
    assert_eq!(
        err(&mut o, "peer_notif_delay", "default"),
        "option peer_notif_delay: invalid value (default); allowed: 0 - 300000 (or off, maxval)"
    );
    assert_eq!(
        err(&mut o, "no_such_option", "1"),
        "unknown bonding option \"no_such_option\""
    );

    let mut o = BondOptions::new();
    o.set("mode", "active-backup").unwrap();
    assert_eq!(
        err(&mut o, "updelay", "100"),
        "option updelay: unable to set up delay (100) as MII monitoring is disabled"
    );
    assert_eq!(
        err(&mut o, "peer_notif_delay", "100"),
        "option peer_notif_delay: unable to set peer notification delay (100) as MII \
         monitoring is disabled"
    );
    assert_eq!(
        err(&mut o, "arp_ip_target", "+255.255.255.255"),
        "option arp_ip_target: invalid ARP target 255.255.255.255 specified for addition"
    );
    assert_eq!(
        err(&mut o, "queue_id", "eth0:17"),
        "option queue_id: invalid value (eth0:17); allowed: MEMBER:QUEUE_ID, QUEUE_ID from 0 \
         to tx_queues (16), unique among members unless 0"
    );
    assert_eq!(
        err(&mut o, "lacp_fallback", "on"),
        "option lacp_fallback: mode dependency failed, not supported in mode active-backup(1)"
    );
}

#[test]
fn parsing_follows_bond_opt_parse() {
    let mut o = opts_in(Mode::Ieee8023ad);
    // Leading blanks, trailing words and a newline are accepted as the kernel accepts them.
    o.set("lacp_rate", "  fast trailing\n").unwrap();
    assert_eq!(o.lacp_rate(), lacp::LacpRate::Fast);
    o.set("lacp_rate", " 0 ").unwrap();
    assert_eq!(o.lacp_rate(), lacp::LacpRate::Slow);
    // Numbers anywhere in a range; names of the range ends.
    o.set("min_links", "maxval").unwrap();
    assert_eq!(o.min_links(), 2147483647);
    o.set("min_links", "off").unwrap();
    assert_eq!(o.min_links(), 0);
    // Case matters, hex does not exist, signs are words.
    for bad in ["Fast", "0x1", "+1", "1a", ""] {
        assert!(o.set("lacp_rate", bad).is_err(), "{bad:?}");
    }
}

#[test]
fn mode_change_side_effects() {
    let mut o = BondOptions::new();
    o.set("mode", "active-backup").unwrap();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.0.1").unwrap();
    o.set("arp_validate", "all").unwrap();
    // A mode that cannot use ARP: ARP off, miimon 100, arp_validate reset.
    let w = o.set("mode", "balance-alb").unwrap();
    assert_eq!(o.monitor().arp_interval(), 0);
    assert_eq!(o.miimon(), 100);
    assert_eq!(o.monitor().arp_validate(), ArpValidate::None);
    let text: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        vec![
            "balance-alb mode is incompatible with arp monitoring, start mii monitoring",
            "Setting MII monitoring interval to 100"
        ]
    );
    // balance-alb forces tlb_dynamic_lb on.
    let mut o = BondOptions::new();
    o.set("mode", "balance-tlb").unwrap();
    o.set("tlb_dynamic_lb", "off").unwrap();
    o.set("mode", "balance-alb").unwrap();
    assert_eq!(o.tlb_dynamic_lb(), arp_alb::TlbDynamicLb::On);
    // A mode change resets arp_validate even between ARP-capable modes, and clears
    // broadcast_neighbor.
    let mut o = BondOptions::new();
    o.set("arp_validate", "active").unwrap();
    o.set("mode", "balance-xor").unwrap();
    assert_eq!(o.monitor().arp_validate(), ArpValidate::None);
    let mut o = BondOptions::new();
    o.set("mode", "802.3ad").unwrap();
    o.set("broadcast_neighbor", "on").unwrap();
    o.set("mode", "802.3ad").unwrap();
    assert!(!o.broadcast_neighbor());
    // miimon is only forced when it was 0.
    let mut o = BondOptions::new();
    o.set("miimon", "250").unwrap();
    o.set("mode", "4").unwrap();
    assert_eq!(o.miimon(), 250);
}

#[test]
fn per_member_options_are_remembered() {
    let mut o = opts_in(Mode::ActiveBackup);
    o.set("queue_id", "eth0:2").unwrap();
    o.set("prio", "eth1:-10").unwrap();
    o.set("queue_id", "eth0:3").unwrap();
    assert!(
        o.set("queue_id", "eth1:3").is_err(),
        "duplicate non-zero queue id"
    );
    let p = o.pending_member_options();
    assert_eq!(p.len(), 2);
    assert!(
        p.iter()
            .any(|p| p.member == "eth0" && p.option == OptionId::QueueId && p.value == 3)
    );
    assert!(
        p.iter()
            .any(|p| p.member == "eth1" && p.option == OptionId::Prio && p.value == -10)
    );
    o.set("active_slave", "eth1").unwrap();
    assert_eq!(o.pending_active_slave(), Some("eth1"));
}

#[test]
fn table_for_the_cli() {
    // Every Linux option of bond_options.c is there, with its description.
    let linux = [
        "mode",
        "packets_per_slave",
        "xmit_hash_policy",
        "arp_validate",
        "arp_all_targets",
        "fail_over_mac",
        "arp_interval",
        "arp_missed_max",
        "arp_ip_target",
        "ns_ip6_target",
        "downdelay",
        "updelay",
        "lacp_active",
        "lacp_rate",
        "min_links",
        "ad_select",
        "num_unsol_na",
        "miimon",
        "prio",
        "primary",
        "primary_reselect",
        "use_carrier",
        "active_slave",
        "queue_id",
        "all_slaves_active",
        "resend_igmp",
        "lp_interval",
        "tlb_dynamic_lb",
        "ad_actor_sys_prio",
        "ad_actor_system",
        "ad_user_port_key",
        "num_grat_arp",
        "peer_notif_delay",
        "coupled_control",
        "broadcast_neighbor",
        "actor_port_prio",
    ];
    for name in linux {
        let d = options::lookup(name).unwrap_or_else(|| panic!("{name}"));
        assert_ne!(d.origin, Origin::Project);
        assert!(!d.description.is_empty());
        assert!(!d.allowed().is_empty());
    }
    assert_eq!(
        options::lookup("lacp_fallback").unwrap().origin,
        Origin::Project
    );
}

#[test]
fn modprobe_defaults_and_forced_values() {
    let (o, w) = BondOptions::from_modprobe("mode=802.3ad lacp_rate=fast").unwrap();
    assert_eq!(o.mode(), Mode::Ieee8023ad);
    assert_eq!(o.lacp_rate(), lacp::LacpRate::Fast);
    assert_eq!(o.miimon(), 100);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        vec![
            "Warning: miimon must be specified, otherwise bonding will not detect link \
             failure, speed and duplex which are essential for 802.3ad operation",
            "Forcing miimon to 100msec"
        ]
    );

    // xmit_hash_policy and lacp_rate are ignored (with a note) where they do not apply.
    let (o, w) =
        BondOptions::from_modprobe("mode=active-backup xmit_hash_policy=layer3+4 lacp_rate=1")
            .unwrap();
    assert_eq!(o.xmit_hash_policy(), xmit_hash::Policy::Layer2);
    assert_eq!(o.lacp_rate(), lacp::LacpRate::Slow);
    assert_eq!(
        w[0].to_string(),
        "xmit_hash_policy param is irrelevant in mode fault-tolerance (active-backup)"
    );
    assert_eq!(
        w[1].to_string(),
        "lacp_rate param is irrelevant in mode fault-tolerance (active-backup)"
    );

    // Integer parameters take 0x and 0 prefixes; out-of-range values are reset.
    let (o, w) = BondOptions::from_modprobe(
        "mode=1 miimon=0x64 updelay=250 num_grat_arp=300 resend_igmp=-1 packets_per_slave=9",
    )
    .unwrap();
    assert_eq!(o.miimon(), 100);
    assert_eq!(o.monitor().updelay(), 200);
    assert_eq!(o.num_peer_notif(), 1);
    assert_eq!(o.resend_igmp(), 1);
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert!(
        w.contains(
            &"Warning: num_grat_arp/num_unsol_na (300) not in range 0-255 so it was reset to 1"
                .to_string()
        )
    );
    assert!(
        w.contains(
            &"Warning: updelay (250) is not a multiple of miimon (100), updelay rounded to 200 ms"
                .to_string()
        )
    );
    assert!(w.contains(
        &"Warning: resend_igmp (-1) should be between 0 and 255, resetting to 1".to_string()
    ));

    // miimon and arp_interval: ARP monitoring is disabled.
    let (o, w) =
        BondOptions::from_modprobe("miimon=100 arp_interval=200 arp_ip_target=198.18.0.1").unwrap();
    assert_eq!(o.monitor().arp_interval(), 0);
    assert_eq!(
        w[0].to_string(),
        "Warning: miimon (100) and arp_interval (200) can't be used simultaneously, \
         disabling ARP monitoring"
    );

    // arp_interval without a target is reset; with a bad one too.
    let (o, _) = BondOptions::from_modprobe("mode=1 arp_interval=100").unwrap();
    assert_eq!(o.monitor().arp_interval(), 0);
    let (o, w) =
        BondOptions::from_modprobe("mode=1 arp_interval=100 arp_ip_target=198.18.0.1,0.1.2.3")
            .unwrap();
    assert_eq!(o.monitor().arp_interval(), 0);
    assert_eq!(
        w[0].to_string(),
        "Warning: bad arp_ip_target module parameter (0.1.2.3), ARP monitoring will not be \
         performed"
    );
    let (o, _) = BondOptions::from_modprobe(
        "mode=1 arp_interval=100 arp_ip_target=198.18.0.1,198.18.0.2,198.18.0.1 \
         arp_validate=all arp_all_targets=all",
    )
    .unwrap();
    assert_eq!(o.monitor().arp_interval(), 100);
    assert_eq!(o.monitor().arp_ip_target().len(), 2);
    assert_eq!(o.monitor().arp_validate(), ArpValidate::All);

    // arp_validate needs arp_interval: fatal, as in Linux.
    assert_eq!(
        BondOptions::from_modprobe("mode=1 arp_validate=all")
            .unwrap_err()
            .to_string(),
        "option arp_validate: arp_validate requires arp_interval"
    );
    // primary is dropped outside the primary modes; primary_reselect needs primary.
    let (o, w) = BondOptions::from_modprobe("mode=balance-xor primary=eth0").unwrap();
    assert_eq!(o.primary(), "");
    assert_eq!(
        w[0].to_string(),
        "Warning: eth0 primary device specified but has no effect in load balancing (xor) mode"
    );
    let (o, _) = BondOptions::from_modprobe("mode=1 primary_reselect=failure").unwrap();
    assert_eq!(o.primary_reselect(), PrimaryReselect::Always);
    let (o, _) =
        BondOptions::from_modprobe("mode=1 primary=eth0 primary_reselect=failure").unwrap();
    assert_eq!(o.primary_reselect(), PrimaryReselect::Failure);
    assert_eq!(o.primary(), "eth0");

    // Invalid strings are fatal, invalid integers too.
    assert!(matches!(
        BondOptions::from_modprobe("mode=8").unwrap_err(),
        OptionError::InvalidValue { option: "mode", .. }
    ));
    assert!(matches!(
        BondOptions::from_modprobe("miimon=fast").unwrap_err(),
        OptionError::InvalidValue {
            option: "miimon",
            ..
        }
    ));
    assert!(matches!(
        BondOptions::from_modprobe("lp_interval=-1").unwrap_err(),
        OptionError::InvalidValue {
            option: "lp_interval",
            ..
        }
    ));
    let (o, w) = BondOptions::from_modprobe("lp_interval=0").unwrap();
    assert_eq!(o.lp_interval().seconds(), 1);
    assert_eq!(
        w[0].to_string(),
        "Warning: ip_interval must be between 1 and 2147483647, so it was reset to 1"
    );
    // arp_all_targets is not fatal in Linux: the default is kept.
    let (o, w) = BondOptions::from_modprobe("arp_all_targets=some").unwrap();
    assert_eq!(
        o.monitor().arp_all_targets(),
        link_monitor::ArpAllTargets::Any
    );
    assert_eq!(
        w[0].to_string(),
        "Error: invalid arp_all_targets_value \"some\""
    );
}

#[test]
fn modprobe_then_the_other_options_in_order() {
    let (o, _) = BondOptions::from_modprobe(
        "mode=4 lacp_active=off ad_actor_sys_prio=10 broadcast_neighbor=1 \
         actor_port_prio=eth0:7 ns_ip6_target=2001:db8::9",
    )
    .unwrap();
    assert_eq!(o.lacp_active(), lacp::LacpActive::Off);
    assert_eq!(o.ad_actor_sys_prio(), 10);
    assert!(o.broadcast_neighbor());
    assert_eq!(o.pending_member_options().len(), 1);
    // Options without a module parameter still check the mode.
    assert_eq!(
        BondOptions::from_modprobe("mode=1 lacp_active=off")
            .unwrap_err()
            .to_string(),
        "option lacp_active: mode dependency failed, not supported in mode active-backup(1)"
    );
    assert_eq!(
        BondOptions::from_modprobe("mode=1 bogus=1")
            .unwrap_err()
            .to_string(),
        "unknown bonding option \"bogus\""
    );
    // Quoting.
    let (o, _) = BondOptions::from_modprobe(r#"mode=1 primary="eth2""#).unwrap();
    assert_eq!(o.primary(), "eth2");
}

// ---------------------------------------------------------------------- on a live bond

use afxdp_bond::engine::{Bond, BondConfig, MacAddr, MemberConfig};
use core::time::Duration;

fn bond(options: &str, members: usize) -> Bond {
    let t = Duration::ZERO;
    let mut b = Bond::from_modprobe(t, options, BondConfig::default()).unwrap();
    for i in 0..members {
        b.add_member(
            t,
            i,
            MemberConfig::new(format!("eth{i}"), MacAddr([2, 0, 0, 0, 0, i as u8 + 1])),
        )
        .unwrap();
    }
    b
}

fn set(b: &mut Bond, name: &str, value: &str) -> Result<(), String> {
    b.set_option(Duration::ZERO, name, value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn live_refusals_in_linux_order() {
    let mut b = bond("mode=active-backup miimon=100", 2);
    // Members: mode and fail_over_mac refused before the value is even parsed.
    assert_eq!(
        set(&mut b, "mode", "no-such-mode").unwrap_err(),
        "option mode: unable to set because the bond device has slaves"
    );
    assert_eq!(
        set(&mut b, "fail_over_mac", "active").unwrap_err(),
        "option fail_over_mac: unable to set because the bond device has slaves"
    );
    // The mode dependency comes first of all.
    assert_eq!(
        set(&mut b, "tlb_dynamic_lb", "x").unwrap_err(),
        "option tlb_dynamic_lb: mode dependency failed, not supported in mode active-backup(1)"
    );
    // Up: the IFDOWN options.
    let mut b = bond("mode=802.3ad", 0);
    b.open(Duration::ZERO);
    for (name, value) in [
        ("mode", "1"),
        ("lacp_rate", "fast"),
        ("lacp_active", "off"),
        ("ad_select", "count"),
        ("ad_user_port_key", "5"),
        ("coupled_control", "off"),
    ] {
        assert_eq!(
            set(&mut b, name, value).unwrap_err(),
            format!("option {name}: unable to set because the bond device is up")
        );
    }
    // Options without the flag are fine while up.
    set(&mut b, "min_links", "2").unwrap();
    set(&mut b, "ad_actor_sys_prio", "7").unwrap();
    set(&mut b, "broadcast_neighbor", "1").unwrap();
    assert_eq!(b.lacp().unwrap().system_priority(), 7);
    b.close(Duration::ZERO);
    set(&mut b, "lacp_rate", "fast").unwrap();
    assert_eq!(b.lacp().unwrap().config().lacp_rate, lacp::LacpRate::Fast);
    set(&mut b, "mode", "balance-tlb").unwrap();
    assert_eq!(b.mode(), Mode::BalanceTlb);
    assert!(b.lacp().is_none());
}

#[test]
fn live_member_options() {
    let mut b = bond("mode=active-backup miimon=100", 3);
    b.open(Duration::ZERO);
    set(&mut b, "queue_id", "eth1:4").unwrap();
    assert_eq!(b.member(1).unwrap().queue_id, 4);
    assert_eq!(
        set(&mut b, "queue_id", "eth2:4").unwrap_err(),
        "option queue_id: invalid value (eth2:4); allowed: MEMBER:QUEUE_ID, QUEUE_ID from 0 to \
         tx_queues (16), unique among members unless 0"
    );
    assert!(set(&mut b, "queue_id", "eth9:1").is_err());
    set(&mut b, "queue_id", "eth2:0").unwrap();
    // prio reselects when there is no primary.
    assert_eq!(b.active_member(), Some(0));
    set(&mut b, "prio", "eth2:50").unwrap();
    assert_eq!(b.active_member(), Some(2));
    assert_eq!(
        set(&mut b, "prio", "eth7:1").unwrap_err(),
        "option prio: interface eth7 does not exist!"
    );
    // primary: a member of that name is forced active.
    set(&mut b, "primary", "eth1").unwrap();
    assert_eq!(b.primary_member(), Some(1));
    assert_eq!(b.active_member(), Some(1));
    // ... and prio now only warns.
    let w = b.set_option(Duration::ZERO, "prio", "eth0:99").unwrap();
    assert_eq!(
        w[0].to_string(),
        "(slave eth0): prio updated, but will not affect failover re-selection as primary \
         slave have been set"
    );
    assert_eq!(b.active_member(), Some(1));
    // A name that is no member: recorded, primary cleared.
    set(&mut b, "primary", "eth9").unwrap();
    assert_eq!(b.primary_member(), None);
    assert_eq!(b.options().primary(), "eth9");
    // Empty: none.
    set(&mut b, "primary", "").unwrap();
    assert_eq!(b.options().primary(), "");
}

#[test]
fn live_monitor_changes() {
    let mut b = bond("mode=active-backup miimon=100", 2);
    b.open(Duration::ZERO);
    assert!(b.monitor().options().mii_monitoring());
    set(&mut b, "arp_ip_target", "+198.18.1.1").unwrap();
    set(&mut b, "arp_interval", "200").unwrap();
    assert!(!b.monitor().options().mii_monitoring());
    assert!(b.monitor().wants_rx());
    // The ARP monitor now sees the frames of every member: the plan sends them to the Bond.
    let plan = b.plan();
    let mut w = b.new_worker();
    let mut f = vec![0u8; 60];
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(
        plan.classify_rx(&mut w, 1, &mut f),
        afxdp_bond::engine::Rx::ViaBond
    );
    set(&mut b, "miimon", "50").unwrap();
    assert!(!b.monitor().wants_rx());
    assert_eq!(b.options().monitor().arp_interval(), 0);
}
