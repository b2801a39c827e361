//! balance-tlb and balance-alb: the `arp-alb` crate's [`Alb`] as `bond_main.c` drives
//! `bond_alb.c`.
//!
//! - The machine is created when the first member joins (it needs the bond's MAC, which
//!   the first member gives).
//! - Members join and leave it (`bond_alb_init_slave()`, `bond_alb_deinit_slave()`); it
//!   decides their MAC addresses ([`Event::SetMemberMac`]) and the active member's
//!   promiscuity after a failure ([`Event::SetPromiscuous`]).
//! - Committed link changes go to it (`bond_alb_handle_link_change()`), as does the active
//!   member (`bond_alb_handle_active_change()`).
//! - Every host frame goes through it ([`Alb::select_tx`], `bond_tlb_xmit()` /
//!   `bond_alb_xmit()`), under the caller's lock: the TLB table is updated per frame, as
//!   Linux updates it under `mode_lock`.
//! - In balance-alb every received ARP goes to it first (`rlb_arp_recv()`).
//! - Receive: only the active member is active; in balance-alb the other members still
//!   deliver unicast (each client was given its own member's MAC).

use core::time::Duration;

use arp_alb::{Alb, MemberLink, TxDecision, TxDrop as AlbDrop};

use crate::engine::bond::Bond;
use crate::engine::event::Event;
use crate::engine::options::Mode;
use crate::engine::plan::{Tx, TxDrop};

impl Bond {
    /// Creates the TLB/RLB machine once the bond has a MAC address.
    pub(crate) fn ensure_alb(&mut self) {
        let mode = self.mode();
        if !mode.is_lb() || self.alb.is_some() || !self.bond_mac.is_valid_unicast() {
            return;
        }
        let alb_mode = if mode == Mode::BalanceAlb {
            arp_alb::Mode::BalanceAlb
        } else {
            arp_alb::Mode::BalanceTlb
        };
        let mut config = arp_alb::Config::new(alb_mode, self.bond_mac.into());
        config.tlb_dynamic_lb = self.opts.tlb_dynamic_lb();
        config.lp_interval = self.opts.lp_interval();
        self.alb = Alb::new(config).ok();
        self.sync_addresses();
    }

    /// Forwards a committed link state to the machine.
    pub(crate) fn alb_link_change(&mut self, now: Duration, member: usize, link: MemberLink) {
        if let Some(a) = self.alb.as_mut() {
            let _ = a.set_link(now, member, link);
        }
    }

    /// `bond_alb_handle_active_change()`.
    pub(crate) fn alb_active_change(&mut self, now: Duration, new: Option<usize>) {
        if let Some(a) = self.alb.as_mut() {
            let _ = a.set_active(now, new);
        }
    }

    /// The machine's requests, as the bond's events. Returns whether there were any.
    pub(crate) fn alb_settle(&mut self, _now: Duration) -> bool {
        let Some(a) = self.alb.as_mut() else {
            return false;
        };
        let mut evs = Vec::new();
        while let Some(e) = a.poll_event() {
            evs.push(e);
        }
        let changed = !evs.is_empty();
        for e in evs {
            match e {
                arp_alb::Event::SetMemberMac { member, mac } => {
                    self.set_member_mac(member, mac.into());
                }
                arp_alb::Event::SetPromiscuous { member, enabled } => {
                    self.push_event(Event::SetPromiscuous { member, enabled });
                }
            }
        }
        changed
    }

    /// `bond_tlb_xmit()` / `bond_alb_xmit()`.
    pub(crate) fn alb_select_tx(&mut self, now: Duration, frame: &mut [u8]) -> Tx {
        let policy = self.opts.xmit_hash_policy();
        let Some(a) = self.alb.as_mut() else {
            return Tx::Drop(TxDrop::NoActiveMember);
        };
        let d = a.select_tx(now, frame, |f| xmit_hash::hash(policy, f));
        // A host ARP request may have scheduled client updates; nothing to report now.
        match d {
            // bond_do_alb_xmit() sends only on a member that bond_slave_can_tx(): the
            // machine knows the committed link state, the bond also the carrier (a loss
            // the MII monitor has not committed yet, from sample_link()). Unlike Linux,
            // the member's TLB entries stay until the monitor commits the link down.
            TxDecision::Send { member, .. } if !self.link_up(member) => {
                Tx::Drop(TxDrop::MemberCannotTx)
            }
            TxDecision::Send { member, .. } => Tx::Member(member),
            TxDecision::Drop(AlbDrop::Runt) => Tx::Drop(TxDrop::Runt),
            TxDecision::Drop(AlbDrop::NoActiveMember) => Tx::Drop(TxDrop::NoActiveMember),
            TxDecision::Drop(AlbDrop::MemberCannotTx) => Tx::Drop(TxDrop::MemberCannotTx),
        }
    }
}
