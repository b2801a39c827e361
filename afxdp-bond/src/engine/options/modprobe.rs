//! The `modprobe bonding ...` way in: module parameters read with the rules of
//! `bond_check_params()`, then the options Linux has no module parameter for.

use core::net::Ipv4Addr;
use core::str::FromStr;

use arp_alb::LpInterval;
use link_monitor::MonitorOptions;

use super::parse::{kstrtoint, kstrtouint};
use super::{
    BondOptions, FailOverMac, Mode, OptionDef, OptionError, OptionId, OptionWarning,
    PrimaryReselect, def, lookup, parse_table,
};

/// The module parameters as given (the last occurrence of a name wins, as when the
/// kernel parses them in order).
#[derive(Default)]
struct Params<'a> {
    max_bonds: Option<i32>,
    tx_queues: Option<i32>,
    num_peer_notif: Option<i32>,
    miimon: Option<i32>,
    updelay: Option<i32>,
    downdelay: Option<i32>,
    use_carrier: Option<i32>,
    mode: Option<&'a str>,
    primary: Option<&'a str>,
    primary_reselect: Option<&'a str>,
    lacp_rate: Option<&'a str>,
    ad_select: Option<&'a str>,
    min_links: Option<i32>,
    xmit_hash_policy: Option<&'a str>,
    arp_interval: Option<i32>,
    arp_ip_target: Vec<&'a str>,
    arp_validate: Option<&'a str>,
    arp_all_targets: Option<&'a str>,
    fail_over_mac: Option<&'a str>,
    all_slaves_active: Option<i32>,
    resend_igmp: Option<i32>,
    packets_per_slave: Option<i32>,
    lp_interval: Option<u32>,
}

/// Splits `name=value name2="value with spaces"` into pairs.
fn tokens(s: &str) -> Result<Vec<(&str, &str)>, OptionError> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = &rest[name_end..];
        let value;
        if let Some(r) = rest.strip_prefix('=') {
            if let Some(q) = r.strip_prefix('"') {
                let end = q.find('"').ok_or_else(|| OptionError::Refused {
                    option: lookup(name).map_or("options", |d| d.name),
                    message: format!("unterminated quote in {name}=\"{q}"),
                })?;
                value = &q[..end];
                rest = &q[end + 1..];
            } else {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                value = &r[..end];
                rest = &r[end..];
            }
        } else {
            value = "";
        }
        out.push((name, value));
        rest = rest.trim_start();
    }
    Ok(out)
}

fn int_param(option: &'static str, value: &str) -> Result<i32, OptionError> {
    kstrtoint(value).ok_or_else(|| OptionError::InvalidValue {
        option,
        value: value.to_string(),
        allowed: "an integer (decimal, 0x hexadecimal or 0 octal), as module parameters take it"
            .to_string(),
    })
}

/// Reads a `modprobe`-style string. See the module docs of `options`.
pub(super) fn parse(s: &str) -> Result<(BondOptions, Vec<OptionWarning>), OptionError> {
    let pairs = tokens(s)?;
    let mut p = Params::default();
    let mut later: Vec<(&str, &str)> = Vec::new();
    for &(name, value) in &pairs {
        match name {
            "max_bonds" => p.max_bonds = Some(int_param("max_bonds", value)?),
            "tx_queues" => p.tx_queues = Some(int_param("tx_queues", value)?),
            "num_grat_arp" => p.num_peer_notif = Some(int_param("num_grat_arp", value)?),
            "num_unsol_na" => p.num_peer_notif = Some(int_param("num_unsol_na", value)?),
            "miimon" => p.miimon = Some(int_param("miimon", value)?),
            "updelay" => p.updelay = Some(int_param("updelay", value)?),
            "downdelay" => p.downdelay = Some(int_param("downdelay", value)?),
            "use_carrier" => p.use_carrier = Some(int_param("use_carrier", value)?),
            "mode" => p.mode = Some(value),
            "primary" => p.primary = Some(value),
            "primary_reselect" => p.primary_reselect = Some(value),
            "lacp_rate" => p.lacp_rate = Some(value),
            "ad_select" => p.ad_select = Some(value),
            "min_links" => p.min_links = Some(int_param("min_links", value)?),
            "xmit_hash_policy" => p.xmit_hash_policy = Some(value),
            "arp_interval" => p.arp_interval = Some(int_param("arp_interval", value)?),
            "arp_ip_target" => {
                let list: Vec<&str> = value.split(',').collect();
                if list.len() > link_monitor::options::MAX_ARP_TARGETS {
                    return Err(OptionError::Refused {
                        option: "arp_ip_target",
                        message: format!(
                            "can only take {} arguments",
                            link_monitor::options::MAX_ARP_TARGETS
                        ),
                    });
                }
                p.arp_ip_target = list;
            }
            "arp_validate" => p.arp_validate = Some(value),
            "arp_all_targets" => p.arp_all_targets = Some(value),
            "fail_over_mac" => p.fail_over_mac = Some(value),
            "all_slaves_active" => {
                p.all_slaves_active = Some(int_param("all_slaves_active", value)?);
            }
            "resend_igmp" => p.resend_igmp = Some(int_param("resend_igmp", value)?),
            "packets_per_slave" => {
                p.packets_per_slave = Some(int_param("packets_per_slave", value)?);
            }
            "lp_interval" => {
                p.lp_interval =
                    Some(kstrtouint(value).ok_or_else(|| OptionError::InvalidValue {
                        option: "lp_interval",
                        value: value.to_string(),
                        allowed: "an unsigned integer, as module parameters take it".to_string(),
                    })?);
            }
            _ => {
                if lookup(name).is_none() {
                    return Err(OptionError::Unknown {
                        name: name.to_string(),
                    });
                }
                later.push((name, value));
            }
        }
    }
    let (mut options, mut warnings) = check_params(&p)?;
    for (name, value) in later {
        warnings.extend(options.set(name, value)?);
    }
    Ok((options, warnings))
}

fn warn(w: &mut Vec<OptionWarning>, m: impl Into<String>) {
    w.push(OptionWarning::new(m));
}

fn parse_str(d: &OptionDef, s: &str) -> Result<u64, OptionError> {
    parse_table(d, s)
}

/// `bond_check_params()`, step by step.
fn check_params(p: &Params<'_>) -> Result<(BondOptions, Vec<OptionWarning>), OptionError> {
    let mut w = Vec::new();
    let mut o = BondOptions::default();

    if let Some(m) = p.mode {
        o.mode = Mode::from_number(parse_str(def(OptionId::Mode), m)?).unwrap_or_default();
    }
    let mode = o.mode;

    if let Some(x) = p.xmit_hash_policy {
        if matches!(mode, Mode::BalanceRr | Mode::ActiveBackup | Mode::Broadcast) {
            warn(
                &mut w,
                format!(
                    "xmit_hash_policy param is irrelevant in mode {}",
                    mode.description()
                ),
            );
        } else {
            let n = parse_str(def(OptionId::XmitHashPolicy), x)?;
            o.xmit_hash_policy = xmit_hash::Policy::from_value(n).unwrap_or_default();
        }
    }

    if let Some(r) = p.lacp_rate {
        if mode != Mode::Ieee8023ad {
            warn(
                &mut w,
                format!(
                    "lacp_rate param is irrelevant in mode {}",
                    mode.description()
                ),
            );
        } else {
            o.apply(
                def(OptionId::LacpRate),
                super::Value::Number(parse_str(def(OptionId::LacpRate), r)?),
            )?;
        }
    }

    if let Some(a) = p.ad_select {
        o.apply(
            def(OptionId::AdSelect),
            super::Value::Number(parse_str(def(OptionId::AdSelect), a)?),
        )?;
        if mode != Mode::Ieee8023ad {
            warn(&mut w, "ad_select param only affects 802.3ad mode");
        }
    }

    if let Some(m) = p.max_bonds {
        if m < 0 {
            warn(
                &mut w,
                format!(
                    "Warning: max_bonds ({m}) not in range 0-{}, so it was reset to \
                     BOND_DEFAULT_MAX_BONDS (1)",
                    i32::MAX
                ),
            );
        }
    }

    let mut miimon = p.miimon.unwrap_or(0);
    if miimon < 0 {
        warn(
            &mut w,
            format!(
                "Warning: miimon module parameter ({miimon}), not in range 0-{}, so it was \
                 reset to 0",
                i32::MAX
            ),
        );
        miimon = 0;
    }
    let mut updelay = p.updelay.unwrap_or(0);
    if updelay < 0 {
        warn(
            &mut w,
            format!(
                "Warning: updelay module parameter ({updelay}), not in range 0-{}, so it was \
                 reset to 0",
                i32::MAX
            ),
        );
        updelay = 0;
    }
    let mut downdelay = p.downdelay.unwrap_or(0);
    if downdelay < 0 {
        warn(
            &mut w,
            format!(
                "Warning: downdelay module parameter ({downdelay}), not in range 0-{}, so it \
                 was reset to 0",
                i32::MAX
            ),
        );
        downdelay = 0;
    }

    let mut use_carrier = p.use_carrier.unwrap_or(1);
    if use_carrier != 0 && use_carrier != 1 {
        warn(
            &mut w,
            format!(
                "Warning: use_carrier module parameter ({use_carrier}), not of valid value \
                 (0/1), so it was set to 1"
            ),
        );
        use_carrier = 1;
    }
    o.use_carrier = use_carrier == 1;

    let mut num_peer_notif = p.num_peer_notif.unwrap_or(1);
    if !(0..=255).contains(&num_peer_notif) {
        warn(
            &mut w,
            format!(
                "Warning: num_grat_arp/num_unsol_na ({num_peer_notif}) not in range 0-255 so \
                 it was reset to 1"
            ),
        );
        num_peer_notif = 1;
    }
    o.num_peer_notif = num_peer_notif as u8;

    if !mode.uses_arp() && miimon == 0 {
        warn(
            &mut w,
            "Warning: miimon must be specified, otherwise bonding will not detect link \
             failure, speed and duplex which are essential for 802.3ad operation",
        );
        warn(&mut w, "Forcing miimon to 100msec");
        miimon = link_monitor::options::BOND_DEFAULT_MIIMON as i32;
    }

    let mut tx_queues = p.tx_queues.unwrap_or(16);
    if !(1..=255).contains(&tx_queues) {
        warn(
            &mut w,
            format!(
                "Warning: tx_queues ({tx_queues}) should be between 1 and 255, resetting to 16"
            ),
        );
        tx_queues = 16;
    }
    o.tx_queues = tx_queues as u16;

    let mut all_slaves_active = p.all_slaves_active.unwrap_or(0);
    if all_slaves_active != 0 && all_slaves_active != 1 {
        warn(
            &mut w,
            format!(
                "Warning: all_slaves_active module parameter ({all_slaves_active}), not of \
                 valid value (0/1), so it was set to 0"
            ),
        );
        all_slaves_active = 0;
    }
    o.all_slaves_active = all_slaves_active == 1;

    let mut resend_igmp = p.resend_igmp.unwrap_or(1);
    if !(0..=255).contains(&resend_igmp) {
        warn(
            &mut w,
            format!(
                "Warning: resend_igmp ({resend_igmp}) should be between 0 and 255, resetting \
                 to 1"
            ),
        );
        resend_igmp = 1;
    }
    o.resend_igmp = resend_igmp as u8;

    let mut pps = p.packets_per_slave.unwrap_or(1);
    // bond_opt_initval() takes the int as a u64: a negative number is huge, out of range.
    if !(0..=65535).contains(&pps) {
        warn(
            &mut w,
            format!(
                "Warning: packets_per_slave ({pps}) should be between 0 and 65535 resetting to 1"
            ),
        );
        pps = 1;
    }
    o.packets_per_slave = pps as u32;

    if mode == Mode::BalanceAlb {
        warn(
            &mut w,
            format!(
                "In ALB mode you might experience client disconnections upon reconnection of a \
                 link if the bonding module updelay parameter ({updelay} msec) is incompatible \
                 with the forwarding delay time of the switch"
            ),
        );
    }

    let mut arp_interval = p.arp_interval.unwrap_or(0);
    if miimon == 0 {
        if updelay != 0 || downdelay != 0 {
            warn(
                &mut w,
                format!(
                    "Warning: miimon module parameter not set and updelay ({updelay}) or \
                     downdelay ({downdelay}) module parameter is set; updelay and downdelay \
                     have no effect unless miimon is set"
                ),
            );
        }
        // Linux stores these milliseconds as if they were multipliers of a miimon of 0;
        // they only matter if miimon is set later, and the engine drops them instead.
        updelay = 0;
        downdelay = 0;
    } else {
        if arp_interval != 0 {
            warn(
                &mut w,
                format!(
                    "Warning: miimon ({miimon}) and arp_interval ({arp_interval}) can't be used \
                     simultaneously, disabling ARP monitoring"
                ),
            );
            arp_interval = 0;
        }
        if updelay % miimon != 0 {
            warn(
                &mut w,
                format!(
                    "Warning: updelay ({updelay}) is not a multiple of miimon ({miimon}), \
                     updelay rounded to {} ms",
                    (updelay / miimon) * miimon
                ),
            );
        }
        updelay = (updelay / miimon) * miimon;
        if downdelay % miimon != 0 {
            warn(
                &mut w,
                format!(
                    "Warning: downdelay ({downdelay}) is not a multiple of miimon ({miimon}), \
                     downdelay rounded to {} ms",
                    (downdelay / miimon) * miimon
                ),
            );
        }
        downdelay = (downdelay / miimon) * miimon;
    }

    if arp_interval < 0 {
        warn(
            &mut w,
            format!(
                "Warning: arp_interval module parameter ({arp_interval}), not in range 0-{}, so \
                 it was reset to 0",
                i32::MAX
            ),
        );
        arp_interval = 0;
    }

    let mut targets: Vec<Ipv4Addr> = Vec::new();
    for t in p.arp_ip_target.iter().filter(|t| !t.is_empty()) {
        match Ipv4Addr::from_str(t) {
            Ok(ip) if !ip.is_broadcast() && ip.octets()[0] != 0 => {
                if targets.contains(&ip) {
                    warn(
                        &mut w,
                        format!("Warning: duplicate address {ip} in arp_ip_target, skipping"),
                    );
                } else {
                    targets.push(ip);
                }
            }
            _ => {
                warn(
                    &mut w,
                    format!(
                        "Warning: bad arp_ip_target module parameter ({t}), ARP monitoring \
                         will not be performed"
                    ),
                );
                arp_interval = 0;
            }
        }
    }

    if arp_interval != 0 && targets.is_empty() {
        warn(
            &mut w,
            format!(
                "Warning: arp_interval module parameter ({arp_interval}) specified without \
                 providing an arp_ip_target parameter, arp_interval was reset to 0"
            ),
        );
        arp_interval = 0;
    }

    let mut arp_validate = link_monitor::ArpValidate::None;
    if let Some(v) = p.arp_validate {
        if arp_interval == 0 {
            return Err(OptionError::Refused {
                option: "arp_validate",
                message: "arp_validate requires arp_interval".to_string(),
            });
        }
        let n = parse_str(def(OptionId::ArpValidate), v)?;
        arp_validate = link_monitor::ArpValidate::from_value(n).unwrap_or_default();
    }

    let mut arp_all_targets = link_monitor::ArpAllTargets::Any;
    if let Some(a) = p.arp_all_targets {
        match parse_str(def(OptionId::ArpAllTargets), a) {
            Ok(1) => arp_all_targets = link_monitor::ArpAllTargets::All,
            Ok(_) => {}
            // Not fatal in Linux: an error is printed and the default kept.
            Err(_) => warn(
                &mut w,
                format!("Error: invalid arp_all_targets_value \"{a}\""),
            ),
        }
    }

    let mut primary = p.primary.filter(|s| !s.is_empty());
    if let Some(pr) = primary {
        if !mode.uses_primary() {
            warn(
                &mut w,
                format!(
                    "Warning: {pr} primary device specified but has no effect in {} mode",
                    mode.description()
                ),
            );
            primary = None;
        }
    }

    o.primary_reselect = PrimaryReselect::Always;
    if let (Some(_), Some(r)) = (primary, p.primary_reselect) {
        let n = parse_str(def(OptionId::PrimaryReselect), r)?;
        o.primary_reselect = PrimaryReselect::from_number(n).unwrap_or_default();
    }

    if let Some(f) = p.fail_over_mac {
        let n = parse_str(def(OptionId::FailOverMac), f)?;
        o.fail_over_mac = FailOverMac::from_number(n).unwrap_or_default();
        if mode != Mode::ActiveBackup {
            warn(
                &mut w,
                "Warning: fail_over_mac only affects active-backup mode",
            );
        }
    }

    let mut lp = p.lp_interval.unwrap_or(1);
    if lp == 0 {
        warn(
            &mut w,
            format!(
                "Warning: ip_interval must be between 1 and {}, so it was reset to 1",
                i32::MAX
            ),
        );
        lp = 1;
    }
    o.lp_interval = LpInterval::new(lp.min(LpInterval::MAX)).unwrap_or_default();

    if let Some(m) = p.min_links {
        // An int in Linux; a negative value behaves as 0 (no member count is below it).
        o.min_links = u32::try_from(m).unwrap_or(0);
    }

    // The monitor options, built with the values decided above (the setters' own notes are
    // not Linux's for this path and are dropped).
    let mut mon = MonitorOptions::default();
    mon.set_ns_ip6_target(&[])?;
    mon.set_arp_ip_target(&targets)?;
    mon.set_arp_missed_max(2)?;
    if miimon != 0 {
        mon.set_miimon(miimon as u32)?;
        mon.set_updelay(updelay as u32)?;
        mon.set_downdelay(downdelay as u32)?;
    } else if arp_interval != 0 {
        mon.set_arp_interval(arp_interval as u32)?;
    }
    mon.set_arp_validate(arp_validate);
    mon.set_arp_all_targets(arp_all_targets);
    o.monitor = mon;

    if let Some(pr) = primary {
        o.primary = pr.chars().take(super::IFNAMSIZ_MAX).collect();
    }
    Ok((o, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer() {
        assert_eq!(
            tokens(r#"mode=4 primary="eth0"  miimon=100"#).unwrap(),
            vec![("mode", "4"), ("primary", "eth0"), ("miimon", "100")]
        );
        assert_eq!(tokens("").unwrap(), vec![]);
        assert_eq!(tokens("use_carrier").unwrap(), vec![("use_carrier", "")]);
    }
}
