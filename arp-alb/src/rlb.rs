//! The RLB client table (Linux `rx_hashtbl`): 256 slots indexed by the XOR of the
//! client address's bytes; a new client whose index is taken evicts the old one. Generic
//! over the address length so the IPv6 extension uses the same table for 16-byte
//! addresses.

use crate::members::Members;
use crate::wire::{MacAddr, VlanTag, simple_hash};
use alloc::boxed::Box;

/// Linux `RLB_HASH_TABLE_SIZE`.
pub const RLB_HASH_TABLE_SIZE: usize = 256;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Client<const N: usize> {
    pub(crate) assigned: bool,
    /// Linux `ip_src`: the bond's address the client talks to.
    pub(crate) server_ip: [u8; N],
    /// Linux `ip_dst`: the client's address.
    pub(crate) client_ip: [u8; N],
    /// Linux `mac_src`: the sender address of the host's ARP.
    pub(crate) server_mac: MacAddr,
    /// Linux `mac_dst`: the client's address (broadcast or zero until learnt).
    pub(crate) client_mac: MacAddr,
    pub(crate) member: Option<usize>,
    pub(crate) ntt: bool,
    pub(crate) vlan: Option<VlanTag>,
    /// IPv6 only: the R flag the host's last advertisement to this client carried.
    pub(crate) router: bool,
    used_next: Option<u8>,
    used_prev: Option<u8>,
}

impl<const N: usize> Client<N> {
    const EMPTY: Self = Self {
        assigned: false,
        server_ip: [0; N],
        client_ip: [0; N],
        server_mac: MacAddr::ZERO,
        client_mac: MacAddr::ZERO,
        member: None,
        ntt: false,
        vlan: None,
        router: false,
        used_next: None,
        used_prev: None,
    };

    /// What `rlb_update_client` sends to, or `None` where it sends nothing (no member, or
    /// no valid unicast client address).
    pub(crate) fn update_target(&self) -> Option<UpdateTarget<N>> {
        let member = self.member?;
        if !self.client_mac.is_valid_unicast() {
            return None;
        }
        Some(UpdateTarget {
            member,
            server_ip: self.server_ip,
            client_ip: self.client_ip,
            client_mac: self.client_mac,
            vlan: self.vlan,
            router: self.router,
        })
    }
}

/// One client update to send (two frames each, `RLB_ARP_BURST_SIZE`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateTarget<const N: usize> {
    pub(crate) member: usize,
    pub(crate) server_ip: [u8; N],
    pub(crate) client_ip: [u8; N],
    pub(crate) client_mac: MacAddr,
    pub(crate) vlan: Option<VlanTag>,
    pub(crate) router: bool,
}

/// The host's outgoing ARP (or ND message) as `rlb_choose_channel` reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChooseArgs<const N: usize> {
    pub(crate) server_ip: [u8; N],
    pub(crate) client_ip: [u8; N],
    pub(crate) server_mac: MacAddr,
    pub(crate) client_mac: MacAddr,
    /// Do not overwrite a known client address of an existing entry (Linux: the ARP's
    /// target hardware address is broadcast).
    pub(crate) keep_known_client_mac: bool,
    pub(crate) vlan: Option<VlanTag>,
    /// IPv6: the R flag of the host's advertisement, `None` for a solicitation.
    pub(crate) router: Option<bool>,
    /// IPv6: the R flag a new entry takes when `router` is `None`.
    pub(crate) router_default: bool,
}

/// What `rlb_choose_channel` did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chosen<const N: usize> {
    pub(crate) member: Option<usize>,
    /// An evicted client moved to the active member, to be told at once.
    pub(crate) evicted: Option<UpdateTarget<N>>,
    /// A client needs an update (Linux sets `rx_ntt`).
    pub(crate) ntt: bool,
}

/// Linux `__rlb_next_rx_slave`: round robin over the members that can transmit, from the
/// one after `rx_slave`, preferring the highest speed.
pub(crate) fn next_rx_member(members: &Members, rx_slave: &mut Option<usize>) -> Option<usize> {
    let mut before: Option<(usize, u32)> = None;
    let mut after: Option<(usize, u32)> = None;
    let mut found = false;
    for (i, m) in members.iter() {
        if !m.link.can_tx() {
            continue;
        }
        if !found {
            if before.is_none_or(|(_, s)| s < m.speed) {
                before = Some((i, m.speed));
            }
        } else if after.is_none_or(|(_, s)| s < m.speed) {
            after = Some((i, m.speed));
        }
        if Some(i) == *rx_slave {
            found = true;
        }
    }
    let pick = match (after, before) {
        (None, b) => b,
        (Some(a), Some(b)) if a.1 < b.1 => Some(b),
        (a, _) => a,
    };
    if let Some((i, _)) = pick {
        *rx_slave = Some(i);
    }
    pick.map(|(i, _)| i)
}

#[derive(Debug, Clone)]
pub(crate) struct ClientTable<const N: usize> {
    slots: Box<[Client<N>; RLB_HASH_TABLE_SIZE]>,
    used_head: Option<u8>,
}

impl<const N: usize> ClientTable<N> {
    pub(crate) fn new() -> Self {
        Self {
            slots: Box::new([Client::EMPTY; RLB_HASH_TABLE_SIZE]),
            used_head: None,
        }
    }

    pub(crate) fn slot(&self, i: u8) -> &Client<N> {
        &self.slots[usize::from(i)]
    }

    fn slot_mut(&mut self, i: u8) -> &mut Client<N> {
        &mut self.slots[usize::from(i)]
    }

    /// Used slots, most recently added first (Linux's `rx_hashtbl_used_head` list).
    pub(crate) fn used(&self) -> UsedIter<'_, N> {
        UsedIter {
            table: self,
            next: self.used_head,
            left: RLB_HASH_TABLE_SIZE,
        }
    }

    /// The used slots in list order, captured up front so a walk may delete entries; at
    /// most 256 by construction.
    fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot {
            idx: [0; RLB_HASH_TABLE_SIZE],
            len: 0,
        };
        for (i, _) in self.used() {
            if let Some(slot) = s.idx.get_mut(s.len) {
                *slot = i;
                s.len += 1;
            }
        }
        s
    }

    fn link_head(&mut self, i: u8) {
        let old = self.used_head;
        self.used_head = Some(i);
        let c = self.slot_mut(i);
        c.used_next = old;
        c.used_prev = None;
        if let Some(o) = old {
            self.slot_mut(o).used_prev = Some(i);
        }
    }

    /// Linux `rlb_delete_table_entry`.
    fn delete(&mut self, i: u8) {
        let (next, prev) = {
            let c = self.slot(i);
            (c.used_next, c.used_prev)
        };
        if self.used_head == Some(i) {
            self.used_head = next;
        }
        if let Some(p) = prev {
            self.slot_mut(p).used_next = next;
        }
        if let Some(n) = next {
            self.slot_mut(n).used_prev = prev;
        }
        let c = self.slot_mut(i);
        c.used_next = None;
        c.used_prev = None;
        c.assigned = false;
        c.member = None;
        c.vlan = None;
        c.ntt = false;
    }

    /// Linux `rlb_choose_channel`.
    pub(crate) fn choose_channel(
        &mut self,
        members: &Members,
        rx_slave: &mut Option<usize>,
        a: &ChooseArgs<N>,
    ) -> Chosen<N> {
        let index = simple_hash(&a.client_ip);
        let mut evicted = None;
        {
            let c = self.slot_mut(index);
            if c.assigned {
                if c.server_ip == a.server_ip && c.client_ip == a.client_ip {
                    if !a.keep_known_client_mac {
                        c.client_mac = a.client_mac;
                    }
                    c.server_mac = a.server_mac;
                    if let Some(r) = a.router {
                        c.router = r;
                    }
                    if let Some(m) = c.member {
                        return Chosen {
                            member: Some(m),
                            evicted: None,
                            ntt: false,
                        };
                    }
                } else if let Some(act) = members.active {
                    // The slot belongs to another client: move that one to the active
                    // member (the bond's address) and tell it so now.
                    if c.member != Some(act) {
                        c.member = Some(act);
                        evicted = c.update_target();
                    }
                }
            }
        }
        let Some(assigned) = next_rx_member(members, rx_slave) else {
            return Chosen {
                member: None,
                evicted,
                ntt: false,
            };
        };
        let was_assigned = self.slot(index).assigned;
        let c = self.slot_mut(index);
        let fresh = !was_assigned || c.server_ip != a.server_ip || c.client_ip != a.client_ip;
        c.router = match a.router {
            Some(r) => r,
            None if fresh => a.router_default,
            None => c.router,
        };
        c.server_ip = a.server_ip;
        c.client_ip = a.client_ip;
        c.client_mac = a.client_mac;
        c.server_mac = a.server_mac;
        c.member = Some(assigned);
        c.ntt = c.client_mac.is_valid_unicast();
        c.vlan = a.vlan;
        let ntt = c.ntt;
        if !was_assigned {
            self.link_head(index);
            self.slot_mut(index).assigned = true;
        }
        Chosen {
            member: Some(assigned),
            evicted,
            ntt,
        }
    }

    /// Linux `rlb_update_entry_from_arp`: a reply from `client_ip` to `server_ip` tells
    /// the client's address. Returns whether the entry now needs an update.
    pub(crate) fn update_from_reply(
        &mut self,
        server_ip: [u8; N],
        client_ip: [u8; N],
        client_mac: MacAddr,
        any_server: bool,
    ) -> bool {
        let c = self.slot_mut(simple_hash(&client_ip));
        if c.assigned
            && (any_server || c.server_ip == server_ip)
            && c.client_ip == client_ip
            && c.client_mac != client_mac
        {
            c.client_mac = client_mac;
            c.ntt = true;
            return true;
        }
        false
    }

    /// Linux `rlb_purge_src_ip`: another host now uses `server_ip` (it sent from `mac`);
    /// forget the clients recorded with that server address and a different server MAC.
    /// Returns how many were deleted.
    pub(crate) fn purge_server_ip(&mut self, server_ip: [u8; N], mac: MacAddr) -> u64 {
        let mut n = 0;
        for i in self.snapshot() {
            let c = self.slot(i);
            if c.server_ip == server_ip && c.server_mac != mac {
                self.delete(i);
                n += 1;
            }
        }
        n
    }

    /// Linux `rlb_req_update_slave_clients`: every client of `member` with a known address
    /// needs an update. Returns whether any does.
    pub(crate) fn req_update_member_clients(&mut self, member: usize) -> bool {
        let mut any = false;
        for i in self.snapshot() {
            let c = self.slot_mut(i);
            if c.member == Some(member) && c.client_mac.is_valid_unicast() {
                c.ntt = true;
                any = true;
            }
        }
        any
    }

    /// Linux `rlb_req_update_subnet_clients`: the host broadcast its address with the
    /// bond's MAC; every client of `server_ip` on a member whose address is not the bond's
    /// needs an update. Returns whether any does.
    pub(crate) fn req_update_subnet_clients(
        &mut self,
        members: &Members,
        server_ip: [u8; N],
    ) -> bool {
        let mut any = false;
        for i in self.snapshot() {
            let c = self.slot_mut(i);
            let Some(m) = c.member else { continue };
            let Some(mac) = members.mac(m) else { continue };
            if c.server_ip == server_ip
                && mac != members.bond_mac
                && c.client_mac.is_valid_unicast()
            {
                c.ntt = true;
                any = true;
            }
        }
        any
    }

    /// The loop of Linux `rlb_clear_slave`: clients of `member` move to the next receive
    /// member (or to none). Returns whether any client with a known address moved.
    pub(crate) fn clear_member(
        &mut self,
        members: &Members,
        rx_slave: &mut Option<usize>,
        member: usize,
    ) -> bool {
        let mut moved = false;
        for i in self.snapshot() {
            if self.slot(i).member != Some(member) {
                continue;
            }
            let next = next_rx_member(members, rx_slave);
            let c = self.slot_mut(i);
            match next {
                Some(n) => {
                    c.member = Some(n);
                    if c.client_mac.is_valid_unicast() {
                        c.ntt = true;
                        moved = true;
                    }
                }
                None => c.member = None,
            }
        }
        moved
    }

    /// Linux `rlb_rebalance`: every client is given the next receive member in turn.
    /// Returns whether any changed member and has a non-zero address.
    pub(crate) fn rebalance(&mut self, members: &Members, rx_slave: &mut Option<usize>) -> bool {
        let mut ntt = false;
        for i in self.snapshot() {
            let next = next_rx_member(members, rx_slave);
            let c = self.slot_mut(i);
            if let Some(n) = next {
                if c.member != Some(n) {
                    c.member = Some(n);
                    if !c.client_mac.is_zero() {
                        c.ntt = true;
                        ntt = true;
                    }
                }
            }
        }
        ntt
    }

    /// Linux `rlb_clear_vlan`: forget the clients on VLAN `vid`.
    pub(crate) fn clear_vlan(&mut self, vid: u16) {
        for i in self.snapshot() {
            let c = self.slot(i);
            if c.vlan.map_or(0, |t| t.vid()) == vid {
                self.delete(i);
            }
        }
    }

    /// The `rlb_update_rx_clients` walk: calls `send` for each client that needs an
    /// update; with `clear`, the need is then cleared.
    pub(crate) fn update_round(&mut self, clear: bool, mut send: impl FnMut(UpdateTarget<N>)) {
        for i in self.snapshot() {
            let c = self.slot_mut(i);
            if c.ntt {
                if let Some(t) = c.update_target() {
                    send(t);
                }
                if clear {
                    c.ntt = false;
                }
            }
        }
    }
}

pub(crate) struct UsedIter<'a, const N: usize> {
    table: &'a ClientTable<N>,
    next: Option<u8>,
    /// A bound on the walk, so even a broken list could not loop forever.
    left: usize,
}

impl<'a, const N: usize> Iterator for UsedIter<'a, N> {
    type Item = (u8, &'a Client<N>);
    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        let i = self.next?;
        let c = self.table.slot(i);
        self.next = c.used_next;
        Some((i, c))
    }
}

struct Snapshot {
    idx: [u8; RLB_HASH_TABLE_SIZE],
    len: usize,
}

impl IntoIterator for Snapshot {
    type Item = u8;
    type IntoIter = core::iter::Take<core::array::IntoIter<u8, RLB_HASH_TABLE_SIZE>>;
    fn into_iter(self) -> Self::IntoIter {
        self.idx.into_iter().take(self.len)
    }
}
