//! Option names, spellings, defaults, validation and messages, against `bond_options.c`.

use std::net::{Ipv4Addr, Ipv6Addr};

use link_monitor::options::{Allowed, MAX_MS, delay_multiplier};
use link_monitor::{ArpAllTargets, ArpValidate, MonitorOptions, OptionError, OptionWarning};

#[test]
fn defaults_are_linux_defaults() {
    let o = MonitorOptions::default();
    assert_eq!(o.miimon(), 0);
    assert_eq!(o.updelay(), 0);
    assert_eq!(o.downdelay(), 0);
    assert_eq!(o.arp_interval(), 0);
    assert!(o.arp_ip_target().is_empty());
    assert!(o.ns_ip6_target().is_empty());
    assert_eq!(o.arp_validate(), ArpValidate::None);
    assert_eq!(o.arp_all_targets(), ArpAllTargets::Any);
    assert_eq!(o.arp_missed_max(), 2);
    assert!(!o.mii_monitoring());
    assert!(!o.arp_monitoring());
    assert_eq!(o.warnings(), [OptionWarning::NoLinkMonitoring]);
}

#[test]
fn arp_validate_by_name_and_number() {
    let table = [
        ("none", 0, ArpValidate::None, false, false, false),
        ("active", 1, ArpValidate::Active, true, false, false),
        ("backup", 2, ArpValidate::Backup, false, true, false),
        ("all", 3, ArpValidate::All, true, true, false),
        ("filter", 4, ArpValidate::Filter, false, false, true),
        (
            "filter_active",
            5,
            ArpValidate::FilterActive,
            true,
            false,
            true,
        ),
        (
            "filter_backup",
            6,
            ArpValidate::FilterBackup,
            false,
            true,
            true,
        ),
    ];
    for (name, number, value, on_active, on_backup, filters) in table {
        assert_eq!(name.parse::<ArpValidate>(), Ok(value), "{name}");
        assert_eq!(
            number.to_string().parse::<ArpValidate>(),
            Ok(value),
            "{number}"
        );
        assert_eq!(
            format!("{name}\n").parse::<ArpValidate>(),
            Ok(value),
            "sysfs newline"
        );
        assert_eq!(value.to_string(), name);
        assert_eq!(value.value(), number);
        assert_eq!(
            value.validates(false),
            on_active,
            "{name} on an active member"
        );
        assert_eq!(
            value.validates(true),
            on_backup,
            "{name} on a backup member"
        );
        assert_eq!(value.filters(), filters, "{name} filters");
        let mut o = MonitorOptions::default();
        assert_eq!(o.set("arp_validate", name), Ok(vec![]));
        assert_eq!(o.arp_validate(), value);
    }
    assert_eq!("default".parse::<ArpValidate>(), Ok(ArpValidate::None));
    for bad in ["7", "bogus", "-1", "", "ALL", "1x"] {
        let e = bad.parse::<ArpValidate>().unwrap_err();
        assert_eq!(
            e,
            OptionError::InvalidValue {
                option: "arp_validate",
                value: bad.to_string(),
                allowed: Allowed::ArpValidate
            }
        );
    }
    assert_eq!(
        "7".parse::<ArpValidate>().unwrap_err().to_string(),
        "option arp_validate: invalid value (7); allowed values none (0), active (1), backup (2), \
         all (3), filter (4), filter_active (5), filter_backup (6)"
    );
}

#[test]
fn arp_all_targets_by_name_and_number() {
    for (s, v) in [
        ("any", ArpAllTargets::Any),
        ("0", ArpAllTargets::Any),
        ("default", ArpAllTargets::Any),
        ("all", ArpAllTargets::All),
        ("1", ArpAllTargets::All),
    ] {
        assert_eq!(s.parse::<ArpAllTargets>(), Ok(v), "{s}");
    }
    assert_eq!(ArpAllTargets::All.to_string(), "all");
    assert_eq!(
        "2".parse::<ArpAllTargets>().unwrap_err().to_string(),
        "option arp_all_targets: invalid value (2); allowed values any (0), all (1)"
    );
}

#[test]
fn millisecond_options_accept_numbers_and_words() {
    for name in ["miimon", "arp_interval"] {
        for (text, want) in [
            ("100", 100),
            ("0", 0),
            ("off", 0),
            ("default", 0),
            ("maxval", MAX_MS),
            (" 250 ", 250),
        ] {
            let mut o = MonitorOptions::default();
            o.set(name, text).unwrap();
            let got = if name == "miimon" {
                o.miimon()
            } else {
                o.arp_interval()
            };
            assert_eq!(got, want, "{name}={text:?}");
        }
        for bad in ["2147483648", "-1", "abc", "", "10ms"] {
            let mut o = MonitorOptions::default();
            let e = o.set(name, bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "option {name}: invalid value ({bad}); allowed values 0 - 2147483647 (or \
                     off, maxval, default)"
                )
            );
        }
    }
}

#[test]
fn delays_need_miimon_and_are_rounded_down() {
    let mut o = MonitorOptions::default();
    let e = o.set("updelay", "200").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option updelay: unable to set up delay (200) as MII monitoring is disabled"
    );
    let e = o.set("downdelay", "200").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option downdelay: unable to set down delay (200) as MII monitoring is disabled"
    );

    o.set("miimon", "100").unwrap();
    assert_eq!(o.set("updelay", "200"), Ok(vec![]));
    assert_eq!(o.updelay(), 200);
    assert_eq!(o.updelay_intervals(), 2);
    let w = o.set("updelay", "250").unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        "up delay (250) is not a multiple of miimon (100), value rounded to 200 ms"
    );
    assert_eq!(o.updelay(), 200);
    let w = o.set("downdelay", "99").unwrap();
    assert_eq!(
        w[0].to_string(),
        "down delay (99) is not a multiple of miimon (100), value rounded to 0 ms"
    );
    assert_eq!(o.downdelay(), 0);
    o.set("downdelay", "300").unwrap();

    // Linux keeps the multiplier: a new miimon scales the delays, with a note each.
    let w = o.set("miimon", "50").unwrap();
    assert_eq!(o.updelay(), 100);
    assert_eq!(o.downdelay(), 150);
    assert_eq!(
        w.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "Note: Updating updelay (to 100) since it is a multiple of the miimon value",
            "Note: Updating downdelay (to 150) since it is a multiple of the miimon value"
        ]
    );

    // The helper the engine uses for peer_notif_delay.
    assert_eq!(
        delay_multiplier("peer_notif_delay", "peer notification delay", 450, 100)
            .unwrap()
            .0,
        4
    );
}

#[test]
fn mii_and_arp_are_exclusive_one_option_at_a_time() {
    let mut o = MonitorOptions::default();
    o.set("miimon", "100").unwrap();
    let w = o.set("arp_interval", "200").unwrap();
    assert_eq!(o.miimon(), 0);
    assert_eq!(o.arp_interval(), 200);
    assert_eq!(
        w,
        [
            OptionWarning::MiimonDisabledByArp,
            OptionWarning::ArpWithoutTargets
        ]
    );
    assert!(o.arp_monitoring() && !o.mii_monitoring());

    o.set("arp_validate", "all").unwrap();
    let w = o.set("miimon", "100").unwrap();
    assert_eq!(w, [OptionWarning::ArpDisabledByMiimon]);
    assert_eq!(o.arp_interval(), 0);
    assert_eq!(
        o.arp_validate(),
        ArpValidate::None,
        "Linux clears arp_validate with it"
    );
    assert!(o.mii_monitoring() && !o.arp_monitoring());
    assert_eq!(
        OptionWarning::ArpDisabledByMiimon.to_string(),
        "MII monitoring cannot be used with ARP monitoring - disabling ARP monitoring..."
    );
}

#[test]
fn netlink_request_rules() {
    let mut o = MonitorOptions::default();
    let e = o
        .apply_netlink([("arp_interval", "100"), ("miimon", "100")])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_interval: invalid value (100): ARP monitoring cannot be used with MII \
         monitoring (miimon 100)"
    );
    let e = o
        .apply_netlink([("miimon", "100"), ("arp_validate", "all")])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_validate: invalid value (all): ARP validating cannot be used with MII \
         monitoring (miimon 100)"
    );
    assert_eq!(
        o,
        MonitorOptions::default(),
        "a refused request changes nothing"
    );

    // miimon is applied before updelay whatever the order given.
    o.apply_netlink([("updelay", "200"), ("downdelay", "100"), ("miimon", "100")])
        .unwrap();
    assert_eq!((o.miimon(), o.updelay(), o.downdelay()), (100, 200, 100));

    // A later request with only arp_interval switches monitors, as Linux does.
    let w = o
        .apply_netlink([
            ("arp_interval", "100"),
            ("arp_ip_target", "198.18.0.1,198.18.0.2"),
            ("arp_validate", "3"),
            ("arp_all_targets", "all"),
            ("arp_missed_max", "3"),
            ("ns_ip6_target", "2001:2::1"),
        ])
        .unwrap();
    assert_eq!(
        w,
        [
            OptionWarning::MiimonDisabledByArp,
            OptionWarning::ArpWithoutTargets
        ]
    );
    assert_eq!(o.miimon(), 0);
    assert_eq!(
        o.arp_ip_target(),
        [Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2)]
    );
    assert_eq!(
        o.ns_ip6_target(),
        ["2001:2::1".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(o.arp_validate(), ArpValidate::All);
    assert_eq!(o.arp_all_targets(), ArpAllTargets::All);
    assert_eq!(o.arp_missed_max(), 3);

    let e = o.apply_netlink([("mode", "1")]).unwrap_err();
    assert!(matches!(e, OptionError::UnknownOption { .. }));
}

#[test]
fn arp_targets() {
    let mut o = MonitorOptions::default();
    for bad in ["0.1.2.3", "255.255.255.255", "0.0.0.0"] {
        let e = o.set("arp_ip_target", &format!("+{bad}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("option arp_ip_target: invalid ARP target {bad} specified for addition")
        );
    }
    let e = o.set("arp_ip_target", "+198.18.0.300").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("option arp_ip_target: invalid value (+198.18.0.300)")
    );
    for i in 1..=16u8 {
        o.set("arp_ip_target", &format!("+198.18.0.{i}")).unwrap();
    }
    let e = o.set("arp_ip_target", "+198.18.0.17").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_ip_target: ARP target table is full! (at most 16 targets; 198.18.0.17 not added)"
    );
    let e = o.set("arp_ip_target", "+198.18.0.3").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_ip_target: ARP target 198.18.0.3 is already present"
    );
    o.set("arp_ip_target", "-198.18.0.3").unwrap();
    assert_eq!(o.arp_ip_target().len(), 15);
    assert_eq!(
        o.arp_ip_target()[2],
        Ipv4Addr::new(198, 18, 0, 4),
        "later targets move up"
    );
    let e = o.set("arp_ip_target", "-198.18.0.3").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_ip_target: unable to remove nonexistent ARP target 198.18.0.3"
    );

    // A list replaces all targets, all or nothing.
    let e = o.set("arp_ip_target", "198.18.1.1,198.18.1.1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option arp_ip_target: ARP target 198.18.1.1 is already present"
    );
    assert_eq!(o.arp_ip_target().len(), 15);
    o.set("arp_ip_target", "198.18.1.1, 198.18.1.2").unwrap();
    assert_eq!(o.arp_ip_target().len(), 2);

    o.set("arp_interval", "100").unwrap();
    assert_eq!(o.set("arp_ip_target", "-198.18.1.1"), Ok(vec![]));
    assert_eq!(
        o.set("arp_ip_target", "-198.18.1.2"),
        Ok(vec![OptionWarning::RemovingLastArpTarget])
    );
    assert_eq!(
        OptionWarning::RemovingLastArpTarget.to_string(),
        "Removing last arp target with arp_interval on"
    );
}

#[test]
fn ns_targets() {
    let mut o = MonitorOptions::default();
    for bad in ["::", "::1", "ff02::1"] {
        let e = o.set("ns_ip6_target", &format!("+{bad}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("option ns_ip6_target: invalid NS target {bad} specified for addition")
        );
    }
    for i in 1..=16u16 {
        o.add_ns_ip6_target(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, i))
            .unwrap();
    }
    let e = o.set("ns_ip6_target", "+2001:2::11").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option ns_ip6_target: NS target table is full! (at most 16 targets; 2001:2::11 not added)"
    );
    let e = o.set("ns_ip6_target", "+2001:2::1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "option ns_ip6_target: NS target 2001:2::1 is already present"
    );
    o.set("ns_ip6_target", "2001:2::a,2001:2::b").unwrap();
    assert_eq!(o.ns_ip6_target().len(), 2);
    let e = o.set("ns_ip6_target", "2001:2::zz").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("option ns_ip6_target: invalid value (2001:2::zz)")
    );
}

#[test]
fn arp_missed_max_range() {
    let mut o = MonitorOptions::default();
    for (text, want) in [
        ("1", 1),
        ("255", 255),
        ("minval", 1),
        ("maxval", 255),
        ("default", 2),
        ("7", 7),
    ] {
        o.set("arp_missed_max", text).unwrap();
        assert_eq!(o.arp_missed_max(), want, "{text}");
    }
    for bad in ["0", "256", "-1", "x"] {
        let e = o.set("arp_missed_max", bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "option arp_missed_max: invalid value ({bad}); allowed values 1 - 255 (or minval, maxval, default)"
            )
        );
    }
}

#[test]
fn mode_rules_for_the_engine() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_ip_target", "198.18.0.1").unwrap();
    o.set("arp_validate", "all").unwrap();
    // 802.3ad, balance-tlb, balance-alb: no ARP monitor, miimon forced to 100.
    let w = o.apply_mode(false);
    assert_eq!(
        w,
        [
            OptionWarning::ArpDisabledByMode,
            OptionWarning::MiimonForced
        ]
    );
    assert_eq!(
        (o.arp_interval(), o.miimon(), o.arp_validate()),
        (0, 100, ArpValidate::None)
    );
    // A mode that can use ARP keeps the monitor but not arp_validate.
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    o.set("arp_validate", "backup").unwrap();
    assert_eq!(o.apply_mode(true), []);
    assert_eq!(
        (o.arp_interval(), o.arp_validate()),
        (100, ArpValidate::None)
    );
}

#[test]
fn advisories() {
    let mut o = MonitorOptions::default();
    o.set("arp_interval", "100").unwrap();
    assert_eq!(
        o.warnings(),
        [
            OptionWarning::ArpWithoutTargets,
            OptionWarning::ArpUnvalidated
        ]
    );
    o.set("ns_ip6_target", "2001:2::1").unwrap();
    o.set("arp_validate", "all").unwrap();
    assert_eq!(o.warnings(), []);
    let mut o = MonitorOptions::default();
    o.set("miimon", "100").unwrap();
    assert_eq!(o.warnings(), []);
}

#[test]
fn unknown_option() {
    let mut o = MonitorOptions::default();
    let e = o.set("lacp_rate", "fast").unwrap_err();
    assert!(e.to_string().starts_with("unknown option lacp_rate"));
}
