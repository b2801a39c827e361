//! Options: Linux names, spellings by name or number, defaults and validation.

use std::time::Duration;

use lacp::options::{parse_actor_port_prio, parse_actor_system};
use lacp::{AdSelect, Config, CoupledControl, LacpActive, LacpRate, MacAddr, System};

#[test]
fn defaults_are_the_linux_defaults() {
    let c = Config::default();
    assert_eq!(c.lacp_rate, LacpRate::Slow);
    assert_eq!(c.lacp_active, LacpActive::On);
    assert_eq!(c.ad_select, AdSelect::Stable);
    assert_eq!(c.ad_actor_sys_prio, 65535);
    assert!(c.ad_actor_system.is_zero());
    assert_eq!(c.ad_user_port_key, 0);
    assert_eq!(c.min_links, 0);
    assert_eq!(c.coupled_control, CoupledControl::On);
    assert_eq!(parse_actor_port_prio("default").unwrap(), 255);
}

#[test]
fn values_by_name_or_number() {
    let mut c = Config::default();
    for (opt, val) in [
        ("lacp_rate", "fast"),
        ("lacp_rate", "1"),
        ("lacp_active", "off"),
        ("lacp_active", "0"),
        ("ad_select", "count"),
        ("ad_select", "2"),
        ("coupled_control", "off"),
        ("ad_actor_sys_prio", "100"),
        ("ad_actor_sys_prio", "maxval"),
        ("ad_user_port_key", "1023"),
        ("min_links", "off"),
        ("min_links", "2147483647"),
        ("ad_actor_system", "02:11:22:33:44:55"),
    ] {
        c.set(opt, val)
            .unwrap_or_else(|e| panic!("{opt}={val}: {e}"));
    }
    assert_eq!(c.lacp_rate, LacpRate::Fast);
    assert_eq!(c.lacp_active, LacpActive::Off);
    assert_eq!(c.ad_select, AdSelect::Count);
    assert_eq!(c.coupled_control, CoupledControl::Off);
    assert_eq!(c.ad_actor_sys_prio, 65535);
    assert_eq!(c.ad_user_port_key, 1023);
    assert_eq!(c.min_links, i32::MAX as u32);
    assert_eq!(
        c.ad_actor_system,
        MacAddr([2, 0x11, 0x22, 0x33, 0x44, 0x55])
    );
    assert_eq!(c.system_mac(), c.ad_actor_system);
    assert_eq!(
        "bandwidth".parse::<AdSelect>().unwrap().to_string(),
        "bandwidth"
    );
    assert_eq!("1".parse::<AdSelect>().unwrap(), AdSelect::Bandwidth);
    assert_eq!(LacpRate::Fast.to_string(), "fast");
}

#[test]
fn invalid_values_name_option_value_and_allowed() {
    let mut c = Config::default();
    for (opt, val, allowed) in [
        ("lacp_rate", "medium", "slow or 0, fast or 1"),
        ("lacp_rate", "2", "slow or 0, fast or 1"),
        (
            "ad_select",
            "fastest",
            "stable or 0, bandwidth or 1, count or 2",
        ),
        ("ad_actor_sys_prio", "0", "an integer from 1 to 65535"),
        ("ad_actor_sys_prio", "65536", "an integer from 1 to 65535"),
        ("ad_user_port_key", "1024", "an integer from 0 to 1023"),
        ("min_links", "-1", "off or an integer from 0 to 2147483647"),
        (
            "min_links",
            "2147483648",
            "off or an integer from 0 to 2147483647",
        ),
        (
            "ad_actor_system",
            "01:00:5e:00:00:01",
            "a unicast MAC address xx:xx:xx:xx:xx:xx",
        ),
        (
            "ad_actor_system",
            "02:00:00:00:00",
            "a unicast MAC address xx:xx:xx:xx:xx:xx",
        ),
    ] {
        let e = c.set(opt, val).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("invalid value for {opt}: {val:?} (allowed: {allowed})")
        );
    }
    assert!(
        c.set("lacp_speed", "1")
            .unwrap_err()
            .to_string()
            .contains("lacp_speed")
    );
    assert_eq!(c, Config::default(), "a rejected value changes nothing");
    assert!(parse_actor_system("ff:ff:ff:ff:ff:ff").is_err());
    assert!(parse_actor_port_prio("65536").is_err());
    let bad = Config {
        ad_actor_sys_prio: 0,
        ..Config::default()
    };
    assert!(System::new(bad).is_err());
}

#[test]
fn options_apply_to_running_ports() {
    let mut s = System::new(Config::default()).unwrap();
    s.add_port(Duration::ZERO, 0, MacAddr([2, 0, 0, 0, 0, 1]))
        .unwrap();
    s.set_option(Duration::ZERO, "lacp_rate", "fast").unwrap();
    let st = s.port(0).unwrap();
    assert!(st.actor.state.contains(lacp::PortState::LACP_TIMEOUT));
    s.set_option(Duration::ZERO, "ad_user_port_key", "5")
        .unwrap();
    assert_eq!(s.port(0).unwrap().actor.key >> 6, 5);
    s.set_option(Duration::ZERO, "ad_actor_sys_prio", "7")
        .unwrap();
    assert_eq!(s.port(0).unwrap().actor.system_priority, 7);
    s.set_actor_port_priority(Duration::ZERO, 0, 9).unwrap();
    assert_eq!(s.port(0).unwrap().actor.port_priority, 9);
    assert!(s.set_option(Duration::ZERO, "ad_select", "x").is_err());
    assert!(s.set_actor_port_priority(Duration::ZERO, 1, 9).is_err());
}
