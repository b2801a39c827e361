//! The TLB transmit table: 256 entries, each assigned to a member by load (Linux
//! `tx_hashtbl`, `tlb_*` in `bond_alb.c`).

use crate::members::Members;
use alloc::boxed::Box;

/// Linux `TLB_HASH_TABLE_SIZE`.
pub const TLB_HASH_TABLE_SIZE: usize = 256;
/// Linux `BOND_TLB_REBALANCE_INTERVAL`, seconds.
pub const BOND_TLB_REBALANCE_INTERVAL: u64 = 10;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TlbEntry {
    /// Linux `tx_slave`.
    pub(crate) member: Option<usize>,
    /// Bytes sent through this entry since its last rebalance.
    pub(crate) tx_bytes: u64,
    /// Bytes per second in the previous interval, plus one.
    pub(crate) load_history: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Tlb {
    pub(crate) entries: Box<[TlbEntry; TLB_HASH_TABLE_SIZE]>,
    /// Bytes sent on the active member because no entry chose a member (Linux
    /// `unbalanced_load`).
    pub(crate) unbalanced_load: u64,
}

impl Tlb {
    pub(crate) fn new() -> Self {
        Self {
            entries: Box::new([TlbEntry::default(); TLB_HASH_TABLE_SIZE]),
            unbalanced_load: 0,
        }
    }

    /// Linux `__tlb_clear_slave`: unassign every entry of `member`; with `save_load`, turn
    /// the bytes counted into the entry's load history. The member's load becomes 0.
    pub(crate) fn clear_member(&mut self, members: &mut Members, member: usize, save_load: bool) {
        for e in self.entries.iter_mut() {
            if e.member == Some(member) {
                if save_load {
                    e.load_history = 1 + e.tx_bytes / BOND_TLB_REBALANCE_INTERVAL;
                    e.tx_bytes = 0;
                }
                e.member = None;
            }
        }
        if let Some(m) = members.get_mut(member) {
            m.tlb_load = 0;
        }
    }

    /// Linux `compute_gap`: link speed in bits per second (Mb/s shifted by 20) minus load
    /// in bits. Computed in 128 bits: Linux shifts the 32-bit speed and load before
    /// widening, so links of 4096 Mb/s or more (and loads of 2^29 B/s or more) wrap there;
    /// below those values the results are identical.
    fn gap(speed: u32, load: u64) -> i128 {
        (i128::from(speed) << 20) - (i128::from(load) << 3)
    }

    /// Linux `tlb_get_least_loaded_slave`: the member that can transmit with the largest
    /// gap; the first in enslave order wins a tie.
    pub(crate) fn least_loaded(members: &Members) -> Option<usize> {
        let mut best: Option<(usize, i128)> = None;
        for (i, m) in members.iter() {
            if !m.link.can_tx() {
                continue;
            }
            let g = Self::gap(m.speed, m.tlb_load);
            if best.is_none_or(|(_, b)| b < g) {
                best = Some((i, g));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Linux `__tlb_choose_channel`: the entry's member, assigning the least loaded one
    /// to an empty entry; counts `len` bytes on the entry.
    pub(crate) fn choose(&mut self, members: &mut Members, index: u8, len: u64) -> Option<usize> {
        let e = &mut self.entries[usize::from(index)];
        if e.member.is_none() {
            if let Some(m) = Self::least_loaded(members) {
                e.member = Some(m);
                if let Some(mm) = members.get_mut(m) {
                    mm.tlb_load = mm.tlb_load.saturating_add(e.load_history);
                }
            }
        }
        if e.member.is_some() {
            e.tx_bytes = e.tx_bytes.saturating_add(len);
        }
        e.member
    }

    /// The periodic rebalance of `bond_alb_monitor`: every member's entries are cleared
    /// with their load saved, and the active member's load becomes the unbalanced bytes
    /// per second.
    pub(crate) fn rebalance(&mut self, members: &mut Members) {
        let order: alloc::vec::Vec<usize> = members.order().to_vec();
        for i in order {
            self.clear_member(members, i, true);
            if members.active == Some(i) {
                if let Some(m) = members.get_mut(i) {
                    m.tlb_load = self.unbalanced_load / BOND_TLB_REBALANCE_INTERVAL;
                }
                self.unbalanced_load = 0;
            }
        }
    }
}
