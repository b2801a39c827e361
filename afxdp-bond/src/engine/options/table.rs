//! The option table: one entry per option, as `bond_opts[]` in `bond_options.c`, plus the
//! per-member options and this project's own options. The CLI builds its `--flags` from
//! [`OPTIONS`].

use super::Mode;
use super::parse::{DEFAULT, MAX, MIN, ValueDef, v};

/// Which option an entry is.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionId {
    Mode,
    PacketsPerSlave,
    XmitHashPolicy,
    ArpValidate,
    ArpAllTargets,
    FailOverMac,
    ArpInterval,
    ArpMissedMax,
    ArpIpTarget,
    NsIp6Target,
    Downdelay,
    Updelay,
    LacpActive,
    LacpRate,
    MinLinks,
    AdSelect,
    NumUnsolNa,
    Miimon,
    Prio,
    Primary,
    PrimaryReselect,
    UseCarrier,
    ActiveSlave,
    QueueId,
    AllSlavesActive,
    ResendIgmp,
    LpInterval,
    TlbDynamicLb,
    AdActorSysPrio,
    AdActorSystem,
    AdUserPortKey,
    NumGratArp,
    PeerNotifDelay,
    CoupledControl,
    BroadcastNeighbor,
    ActorPortPrio,
    LacpFallback,
}

/// Where an option comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A bond option of the Linux driver (`bond_options.c`).
    Linux,
    /// A per-member option of the Linux driver (a slave option: `queue_id`, `prio`,
    /// `actor_port_prio`), written `MEMBER:VALUE`.
    LinuxMember,
    /// This project's own option; Linux has none of that name.
    Project,
}

/// One option: name, description, the Linux flags and mode restrictions, and its value
/// table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDef {
    /// Which option.
    pub id: OptionId,
    /// The name (`lacp_rate`), as sysfs, netlink (`ip link`) and modprobe spell it.
    pub name: &'static str,
    /// One line for `--help`.
    pub description: &'static str,
    /// `BOND_OPTFLAG_NOSLAVES`: only while the bond has no members.
    pub no_members: bool,
    /// `BOND_OPTFLAG_IFDOWN`: only while the bond is down.
    pub if_down: bool,
    /// `BOND_OPTFLAG_RAWVAL`: the value is not looked up in a table.
    pub raw: bool,
    /// Modes in which the option is refused (bit `n` = mode number `n`).
    pub unsupported_modes: u8,
    /// The value table (empty for raw options).
    pub values: &'static [ValueDef],
    /// The syntax of a raw value, for `--help` and error messages.
    pub syntax: &'static str,
    /// Linux, Linux per-member, or this project's own.
    pub origin: Origin,
    /// Linux also accepts it as a `bonding` module parameter (`bond_check_params()`).
    pub module_param: bool,
}

impl OptionDef {
    /// Whether the option is refused in `mode` (`unsuppmodes`).
    pub fn unsupported_in(&self, mode: Mode) -> bool {
        self.unsupported_modes & (1 << mode.number()) != 0
    }

    /// What the option accepts, in words.
    pub fn allowed(&self) -> String {
        if self.raw {
            self.syntax.to_string()
        } else {
            super::parse::describe_table(self.values)
        }
    }
}

const ALL_MODES: u8 = 0x7f;
const fn bit(mode: Mode) -> u8 {
    1 << mode as u8
}
const fn all_except(bits: u8) -> u8 {
    ALL_MODES & !bits
}
const NO_ARP_MODES: u8 = bit(Mode::Ieee8023ad) | bit(Mode::BalanceTlb) | bit(Mode::BalanceAlb);
const ONLY_8023AD: u8 = all_except(bit(Mode::Ieee8023ad));
const ONLY_PRIMARY_MODES: u8 =
    all_except(bit(Mode::ActiveBackup) | bit(Mode::BalanceTlb) | bit(Mode::BalanceAlb));

/// `bond_mode_tbl`.
pub const MODE_TBL: &[ValueDef] = &[
    v("balance-rr", 0, DEFAULT),
    v("active-backup", 1, 0),
    v("balance-xor", 2, 0),
    v("broadcast", 3, 0),
    v("802.3ad", 4, 0),
    v("balance-tlb", 5, 0),
    v("balance-alb", 6, 0),
];
/// `bond_pps_tbl`.
pub const PPS_TBL: &[ValueDef] = &[v("default", 1, DEFAULT), v("maxval", 65535, MAX)];
/// `bond_xmit_hashtype_tbl`.
pub const XMIT_HASHTYPE_TBL: &[ValueDef] = &[
    v("layer2", 0, DEFAULT),
    v("layer3+4", 1, 0),
    v("layer2+3", 2, 0),
    v("encap2+3", 3, 0),
    v("encap3+4", 4, 0),
    v("vlan+srcmac", 5, 0),
];
/// `bond_arp_validate_tbl`.
pub const ARP_VALIDATE_TBL: &[ValueDef] = &[
    v("none", 0, DEFAULT),
    v("active", 1, 0),
    v("backup", 2, 0),
    v("all", 3, 0),
    v("filter", 4, 0),
    v("filter_active", 5, 0),
    v("filter_backup", 6, 0),
];
/// `bond_arp_all_targets_tbl`.
pub const ARP_ALL_TARGETS_TBL: &[ValueDef] = &[v("any", 0, DEFAULT), v("all", 1, 0)];
/// `bond_fail_over_mac_tbl`.
pub const FAIL_OVER_MAC_TBL: &[ValueDef] =
    &[v("none", 0, DEFAULT), v("active", 1, 0), v("follow", 2, 0)];
/// `bond_intmax_tbl`.
pub const INTMAX_TBL: &[ValueDef] = &[v("off", 0, DEFAULT), v("maxval", 2147483647, MAX)];
/// `bond_lacp_active`.
pub const LACP_ACTIVE_TBL: &[ValueDef] = &[v("off", 0, 0), v("on", 1, DEFAULT)];
/// `bond_lacp_rate_tbl` (no default entry: `default` is refused, as in Linux).
pub const LACP_RATE_TBL: &[ValueDef] = &[v("slow", 0, 0), v("fast", 1, 0)];
/// `bond_ad_select_tbl`.
pub const AD_SELECT_TBL: &[ValueDef] = &[
    v("stable", 0, DEFAULT),
    v("bandwidth", 1, 0),
    v("count", 2, 0),
];
/// `bond_num_peer_notif_tbl`.
pub const NUM_PEER_NOTIF_TBL: &[ValueDef] = &[
    v("off", 0, 0),
    v("maxval", 255, MAX),
    v("default", 1, DEFAULT),
];
/// `bond_peer_notif_delay_tbl` (no default entry).
pub const PEER_NOTIF_DELAY_TBL: &[ValueDef] = &[v("off", 0, 0), v("maxval", 300000, MAX)];
/// `bond_primary_reselect_tbl`.
pub const PRIMARY_RESELECT_TBL: &[ValueDef] = &[
    v("always", 0, DEFAULT),
    v("better", 1, 0),
    v("failure", 2, 0),
];
/// `bond_use_carrier_tbl`.
pub const USE_CARRIER_TBL: &[ValueDef] = &[v("off", 0, 0), v("on", 1, DEFAULT)];
/// `bond_all_slaves_active_tbl`.
pub const ALL_SLAVES_ACTIVE_TBL: &[ValueDef] = &[v("off", 0, DEFAULT), v("on", 1, 0)];
/// `bond_resend_igmp_tbl`.
pub const RESEND_IGMP_TBL: &[ValueDef] = &[
    v("off", 0, 0),
    v("maxval", 255, MAX),
    v("default", 1, DEFAULT),
];
/// `bond_lp_interval_tbl`.
pub const LP_INTERVAL_TBL: &[ValueDef] =
    &[v("minval", 1, MIN | DEFAULT), v("maxval", 2147483647, MAX)];
/// `bond_tlb_dynamic_lb_tbl`.
pub const TLB_DYNAMIC_LB_TBL: &[ValueDef] = &[v("off", 0, 0), v("on", 1, DEFAULT)];
/// `bond_ad_actor_sys_prio_tbl`.
pub const AD_ACTOR_SYS_PRIO_TBL: &[ValueDef] =
    &[v("minval", 1, MIN), v("maxval", 65535, MAX | DEFAULT)];
/// `bond_ad_user_port_key_tbl`.
pub const AD_USER_PORT_KEY_TBL: &[ValueDef] =
    &[v("minval", 0, MIN | DEFAULT), v("maxval", 1023, MAX)];
/// `bond_missed_max_tbl`.
pub const MISSED_MAX_TBL: &[ValueDef] = &[
    v("minval", 1, MIN),
    v("maxval", 255, MAX),
    v("default", 2, DEFAULT),
];
/// `bond_coupled_control_tbl`.
pub const COUPLED_CONTROL_TBL: &[ValueDef] = &[v("on", 1, DEFAULT), v("off", 0, 0)];
/// `bond_broadcast_neigh_tbl`.
pub const BROADCAST_NEIGH_TBL: &[ValueDef] = &[v("off", 0, DEFAULT), v("on", 1, 0)];
/// This project's `lacp_fallback`.
pub const LACP_FALLBACK_TBL: &[ValueDef] = &[v("off", 0, DEFAULT), v("active-backup", 1, 0)];

struct Def {
    id: OptionId,
    name: &'static str,
    description: &'static str,
}

const fn table(d: Def, values: &'static [ValueDef]) -> OptionDef {
    OptionDef {
        id: d.id,
        name: d.name,
        description: d.description,
        no_members: false,
        if_down: false,
        raw: false,
        unsupported_modes: 0,
        values,
        syntax: "",
        origin: Origin::Linux,
        module_param: false,
    }
}

const fn raw(d: Def, syntax: &'static str) -> OptionDef {
    OptionDef {
        raw: true,
        syntax,
        ..table(d, &[])
    }
}

const fn noslaves(o: OptionDef) -> OptionDef {
    OptionDef {
        no_members: true,
        ..o
    }
}
const fn ifdown(o: OptionDef) -> OptionDef {
    OptionDef { if_down: true, ..o }
}
const fn unsupp(o: OptionDef, modes: u8) -> OptionDef {
    OptionDef {
        unsupported_modes: modes,
        ..o
    }
}
const fn module(o: OptionDef) -> OptionDef {
    OptionDef {
        module_param: true,
        ..o
    }
}
const fn member(o: OptionDef) -> OptionDef {
    OptionDef {
        origin: Origin::LinuxMember,
        ..o
    }
}
const fn project(o: OptionDef) -> OptionDef {
    OptionDef {
        origin: Origin::Project,
        ..o
    }
}

const fn d(id: OptionId, name: &'static str, description: &'static str) -> Def {
    Def {
        id,
        name,
        description,
    }
}

use OptionId as I;

/// Every option, in the order of the kernel's `bond_opts[]` table, then the per-member
/// `actor_port_prio` (a slave option of recent kernels) and this project's own options.
pub const OPTIONS: &[OptionDef] = &[
    module(noslaves(ifdown(table(
        d(I::Mode, "mode", "bond device mode"),
        MODE_TBL,
    )))),
    module(unsupp(
        table(
            d(
                I::PacketsPerSlave,
                "packets_per_slave",
                "Packets to send per slave in RR mode",
            ),
            PPS_TBL,
        ),
        all_except(bit(Mode::BalanceRr)),
    )),
    module(table(
        d(
            I::XmitHashPolicy,
            "xmit_hash_policy",
            "balance-xor, 802.3ad, and tlb hashing method",
        ),
        XMIT_HASHTYPE_TBL,
    )),
    module(unsupp(
        table(
            d(
                I::ArpValidate,
                "arp_validate",
                "validate src/dst of ARP probes",
            ),
            ARP_VALIDATE_TBL,
        ),
        NO_ARP_MODES,
    )),
    module(table(
        d(
            I::ArpAllTargets,
            "arp_all_targets",
            "fail on any/all arp targets timeout",
        ),
        ARP_ALL_TARGETS_TBL,
    )),
    module(noslaves(table(
        d(
            I::FailOverMac,
            "fail_over_mac",
            "For active-backup, do not set all slaves to the same MAC",
        ),
        FAIL_OVER_MAC_TBL,
    ))),
    module(unsupp(
        table(
            d(
                I::ArpInterval,
                "arp_interval",
                "arp interval in milliseconds",
            ),
            INTMAX_TBL,
        ),
        NO_ARP_MODES,
    )),
    unsupp(
        table(
            d(
                I::ArpMissedMax,
                "arp_missed_max",
                "Maximum number of missed ARP interval",
            ),
            MISSED_MAX_TBL,
        ),
        NO_ARP_MODES,
    ),
    module(raw(
        d(
            I::ArpIpTarget,
            "arp_ip_target",
            "arp targets in n.n.n.n form",
        ),
        "up to 16 IPv4 addresses: n.n.n.n[,n.n.n.n...] to replace the list, +n.n.n.n to add one, \
         -n.n.n.n to remove one",
    )),
    raw(
        d(
            I::NsIp6Target,
            "ns_ip6_target",
            "NS targets in ffff:ffff::ffff:ffff form",
        ),
        "up to 16 IPv6 addresses: a::b[,c::d...] to replace the list, +a::b to add one, -a::b \
         to remove one",
    ),
    module(table(
        d(
            I::Downdelay,
            "downdelay",
            "Delay before considering link down, in milliseconds",
        ),
        INTMAX_TBL,
    )),
    module(table(
        d(
            I::Updelay,
            "updelay",
            "Delay before considering link up, in milliseconds",
        ),
        INTMAX_TBL,
    )),
    ifdown(unsupp(
        table(
            d(
                I::LacpActive,
                "lacp_active",
                "Send LACPDU frames with configured lacp rate or acts as speak when spoken to",
            ),
            LACP_ACTIVE_TBL,
        ),
        ONLY_8023AD,
    )),
    module(ifdown(unsupp(
        table(
            d(
                I::LacpRate,
                "lacp_rate",
                "LACPDU tx rate to request from 802.3ad partner",
            ),
            LACP_RATE_TBL,
        ),
        ONLY_8023AD,
    ))),
    module(table(
        d(
            I::MinLinks,
            "min_links",
            "Minimum number of available links before turning on carrier",
        ),
        INTMAX_TBL,
    )),
    module(ifdown(table(
        d(
            I::AdSelect,
            "ad_select",
            "803.ad aggregation selection logic",
        ),
        AD_SELECT_TBL,
    ))),
    module(table(
        d(
            I::NumUnsolNa,
            "num_unsol_na",
            "Number of peer notifications to send on failover event",
        ),
        NUM_PEER_NOTIF_TBL,
    )),
    module(table(
        d(I::Miimon, "miimon", "Link check interval in milliseconds"),
        INTMAX_TBL,
    )),
    member(unsupp(
        raw(
            d(I::Prio, "prio", "Link priority for failover re-selection"),
            "MEMBER:PRIO, a signed 32-bit integer (higher is preferred)",
        ),
        ONLY_PRIMARY_MODES,
    )),
    module(unsupp(
        raw(
            d(I::Primary, "primary", "Primary network device to use"),
            "a member name (up to 15 bytes), or empty for none",
        ),
        ONLY_PRIMARY_MODES,
    )),
    module(table(
        d(
            I::PrimaryReselect,
            "primary_reselect",
            "Reselect primary slave once it comes up",
        ),
        PRIMARY_RESELECT_TBL,
    )),
    module(table(
        d(
            I::UseCarrier,
            "use_carrier",
            "Use netif_carrier_ok (vs MII ioctls) in miimon",
        ),
        USE_CARRIER_TBL,
    )),
    unsupp(
        raw(
            d(I::ActiveSlave, "active_slave", "Currently active slave"),
            "a member name whose link is up, or empty to let the bond choose",
        ),
        ONLY_PRIMARY_MODES,
    ),
    member(raw(
        d(I::QueueId, "queue_id", "Set queue id of a slave"),
        "MEMBER:QUEUE_ID, QUEUE_ID from 0 to tx_queues (16), unique among members unless 0",
    )),
    module(table(
        d(
            I::AllSlavesActive,
            "all_slaves_active",
            "Keep all frames received on an interface by setting active flag for all slaves",
        ),
        ALL_SLAVES_ACTIVE_TBL,
    )),
    module(table(
        d(
            I::ResendIgmp,
            "resend_igmp",
            "Number of IGMP membership reports to send on link failure",
        ),
        RESEND_IGMP_TBL,
    )),
    module(table(
        d(
            I::LpInterval,
            "lp_interval",
            "The number of seconds between instances where the bonding driver sends learning \
             packets to each slave's peer switch",
        ),
        LP_INTERVAL_TBL,
    )),
    ifdown(unsupp(
        table(
            d(
                I::TlbDynamicLb,
                "tlb_dynamic_lb",
                "Enable dynamic flow shuffling",
            ),
            TLB_DYNAMIC_LB_TBL,
        ),
        all_except(bit(Mode::BalanceTlb) | bit(Mode::BalanceAlb)),
    )),
    unsupp(
        table(
            d(
                I::AdActorSysPrio,
                "ad_actor_sys_prio",
                "802.3ad system priority of the bond",
            ),
            AD_ACTOR_SYS_PRIO_TBL,
        ),
        ONLY_8023AD,
    ),
    unsupp(
        raw(
            d(
                I::AdActorSystem,
                "ad_actor_system",
                "802.3ad system MAC address of the bond",
            ),
            "a unicast MAC address xx:xx:xx:xx:xx:xx",
        ),
        ONLY_8023AD,
    ),
    ifdown(unsupp(
        table(
            d(
                I::AdUserPortKey,
                "ad_user_port_key",
                "802.3ad upper 10 bits of the port key",
            ),
            AD_USER_PORT_KEY_TBL,
        ),
        ONLY_8023AD,
    )),
    module(table(
        d(
            I::NumGratArp,
            "num_grat_arp",
            "Number of peer notifications to send on failover event",
        ),
        NUM_PEER_NOTIF_TBL,
    )),
    table(
        d(
            I::PeerNotifDelay,
            "peer_notif_delay",
            "Delay between each peer notification on failover event, in milliseconds",
        ),
        PEER_NOTIF_DELAY_TBL,
    ),
    ifdown(unsupp(
        table(
            d(
                I::CoupledControl,
                "coupled_control",
                "Opt into using coupled control MUX for LACP states",
            ),
            COUPLED_CONTROL_TBL,
        ),
        ONLY_8023AD,
    )),
    unsupp(
        table(
            d(
                I::BroadcastNeighbor,
                "broadcast_neighbor",
                "Broadcast neighbor packets to all active slaves",
            ),
            BROADCAST_NEIGH_TBL,
        ),
        ONLY_8023AD,
    ),
    member(unsupp(
        raw(
            d(
                I::ActorPortPrio,
                "actor_port_prio",
                "802.3ad port priority of a member",
            ),
            "MEMBER:PRIO, PRIO from 0 to 65535 (default 255)",
        ),
        ONLY_8023AD,
    )),
    project(unsupp(
        table(
            d(
                I::LacpFallback,
                "lacp_fallback",
                "Not a Linux option: while no LACP partner answers, run as active-backup \
                 (like Open vSwitch lacp-fallback-ab)",
            ),
            LACP_FALLBACK_TBL,
        ),
        ONLY_8023AD,
    )),
];

/// The option called `name`.
pub fn lookup(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// The entry of option `id`.
pub fn def(id: OptionId) -> &'static OptionDef {
    // Every id has exactly one entry (checked by a test).
    OPTIONS.iter().find(|o| o.id == id).unwrap_or(&OPTIONS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_id_and_name() {
        for (i, a) in OPTIONS.iter().enumerate() {
            for b in &OPTIONS[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.name, b.name);
            }
            assert_eq!(def(a.id).name, a.name);
            assert_eq!(a.raw, a.values.is_empty(), "{}", a.name);
        }
        assert_eq!(OPTIONS.len(), 37);
    }
}
