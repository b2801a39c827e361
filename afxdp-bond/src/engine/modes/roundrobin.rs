//! balance-rr transmit: `bond_xmit_roundrobin_slave_get()`, `bond_rr_gen_slave_id()`,
//! `bond_get_slave_by_id()`.
//!
//! The member is `id % member count` where `id` is the worker's counter (Linux: the per-CPU
//! `rr_tx_counter`, incremented before use) for `packets_per_slave=1`, that counter
//! divided by `packets_per_slave` (with the kernel's reciprocal division) for larger
//! values, or a random number for 0. The count is over all members, up or not; from that
//! position the first member that can send takes the frame, wrapping around, so a down
//! member's turns go to the next one. IGMP goes on the active member.

use crate::engine::frame;
use crate::engine::plan::{Plan, Tx, TxDrop, Worker};

impl Plan {
    /// `bond_xmit_roundrobin_slave_get()`.
    pub(crate) fn roundrobin(&self, w: &mut Worker, frame: &[u8]) -> Tx {
        // Membership reports leave by one port (the active member), so the switch keeps
        // the group on one port.
        if frame::is_igmp(frame) {
            if let Some(a) = self.active {
                return Tx::Member(usize::from(a));
            }
            return self.rr_slave_by_id(0);
        }
        let id = self.rr_gen_slave_id(w) % u32::from(self.all_len);
        self.rr_slave_by_id(id as usize)
    }

    /// `bond_rr_gen_slave_id()`.
    #[inline(always)]
    fn rr_gen_slave_id(&self, w: &mut Worker) -> u32 {
        match self.packets_per_slave {
            0 => w.next_random(),
            1 => {
                w.rr_tx_counter = w.rr_tx_counter.wrapping_add(1);
                w.rr_tx_counter
            }
            _ => {
                w.rr_tx_counter = w.rr_tx_counter.wrapping_add(1);
                self.reciprocal.divide(w.rr_tx_counter)
            }
        }
    }

    /// `bond_get_slave_by_id()`: the first member that can send, from position `id` of the
    /// member list onwards, wrapping around.
    fn rr_slave_by_id(&self, id: usize) -> Tx {
        let all = &self.all[..usize::from(self.all_len)];
        let (head, tail) = all.split_at(id.min(all.len()));
        tail.iter()
            .chain(head)
            .map(|&m| usize::from(m))
            .find(|&m| self.can_tx.contains(m))
            .map_or(Tx::Drop(TxDrop::NoUsableMember), Tx::Member)
    }
}
