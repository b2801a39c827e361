//! The member table as the ALB code sees it: Linux's slave list (in enslave order), each
//! slave's permanent and current MAC, speed, link state and TLB load.

use crate::wire::MacAddr;
use alloc::vec::Vec;

/// A member's link state, in the Linux `BOND_LINK_*` words. Only `Up` may transmit
/// (Linux `bond_slave_can_tx`); the TLB and RLB tables move a member's flows and clients
/// away when it enters `Down` and rebalance when it enters `Up`, as
/// `bond_alb_handle_link_change` does. `Fail` (down, waiting for `downdelay`) and `Back`
/// (up, waiting for `updelay`) change nothing but the ability to transmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MemberLink {
    /// `BOND_LINK_UP`: usable.
    Up,
    /// `BOND_LINK_FAIL`: carrier lost, `downdelay` running; not used for new traffic.
    Fail,
    /// `BOND_LINK_DOWN`.
    Down,
    /// `BOND_LINK_BACK`: carrier back, `updelay` running; not used yet.
    Back,
}

impl MemberLink {
    /// Linux `bond_slave_can_tx` (for a member that is administratively up).
    pub const fn can_tx(self) -> bool {
        matches!(self, Self::Up)
    }

    /// Carrier is present (Up or Back): learning frames are sent on such a member.
    pub const fn has_carrier(self) -> bool {
        matches!(self, Self::Up | Self::Back)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) perm_mac: MacAddr,
    /// Linux `slave->dev->dev_addr`: the source address the member sends with (and, in
    /// balance-alb, its hardware address).
    pub(crate) mac: MacAddr,
    pub(crate) speed: u32,
    pub(crate) link: MemberLink,
    /// Linux `SLAVE_TLB_INFO(slave).load`, bytes per second.
    pub(crate) tlb_load: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Members {
    slots: Vec<Option<Member>>,
    /// Member indices in enslave order: the order Linux walks its slave list in.
    order: Vec<usize>,
    pub(crate) active: Option<usize>,
    pub(crate) bond_mac: MacAddr,
}

impl Members {
    pub(crate) fn new(bond_mac: MacAddr) -> Self {
        Self {
            slots: Vec::new(),
            order: Vec::new(),
            active: None,
            bond_mac,
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Member> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Member> {
        self.slots.get_mut(i).and_then(Option::as_mut)
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.get(i).is_some()
    }

    pub(crate) fn can_tx(&self, i: usize) -> bool {
        self.get(i).is_some_and(|m| m.link.can_tx())
    }

    pub(crate) fn mac(&self, i: usize) -> Option<MacAddr> {
        self.get(i).map(|m| m.mac)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Members in enslave order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Member)> + '_ {
        self.order
            .iter()
            .filter_map(move |&i| self.get(i).map(|m| (i, m)))
    }

    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// Linux `bond_slave_has_mac`: the first member (in order) whose current address is
    /// `mac`.
    pub(crate) fn has_mac(&self, mac: MacAddr) -> Option<usize> {
        self.iter().find(|(_, m)| m.mac == mac).map(|(i, _)| i)
    }

    /// Attaches a member at the end of the list.
    pub(crate) fn attach(&mut self, i: usize, m: Member) {
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some(m);
            self.order.push(i);
        }
    }

    /// Detaches a member, returning it.
    pub(crate) fn detach(&mut self, i: usize) -> Option<Member> {
        let m = self.slots.get_mut(i).and_then(Option::take)?;
        self.order.retain(|&j| j != i);
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        Some(m)
    }

    /// The `n`-th member that can transmit, in order: Linux's `usable_slaves` array for
    /// `tlb_dynamic_lb=0`, indexed by `hash % count`.
    pub(crate) fn usable_by_hash(&self, hash: u32) -> Option<usize> {
        let count = self.iter().filter(|(_, m)| m.link.can_tx()).count();
        if count == 0 {
            return None;
        }
        let n = (hash as usize) % count;
        self.iter()
            .filter(|(_, m)| m.link.can_tx())
            .nth(n)
            .map(|(i, _)| i)
    }
}
