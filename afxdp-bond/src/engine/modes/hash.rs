//! The hash modes' transmit (balance-xor, 802.3ad) and broadcast: `bond_3ad_xor_xmit()`,
//! `bond_xmit_3ad_xor_slave_get()`, `bond_should_broadcast_neighbor()`,
//! `bond_xmit_broadcast()`.
//!
//! balance-xor and 802.3ad pick `usable[hash % count]`, the hash being the
//! `xmit_hash_policy` hash of the `xmit-hash` crate (bit-for-bit the kernel's) and
//! `usable` the array `bond_update_slave_arr()` builds: in balance-xor every member that
//! can send, in 802.3ad only the distributing ports of the active aggregator (the
//! [`Bond`](crate::engine::Bond) builds it into the plan).

use crate::engine::frame;
use crate::engine::plan::{MemberMask, Plan, Tx, TxDrop};

impl Plan {
    /// `bond_xmit_3ad_xor_slave_get()`: the policy hash modulo the usable array.
    #[inline(always)]
    pub(crate) fn xor(&self, frame: &[u8]) -> Tx {
        let count = usize::from(self.usable_len);
        if count == 0 {
            return Tx::Drop(TxDrop::NoUsableMember);
        }
        let hash = xmit_hash::hash(self.policy, frame);
        Tx::Member(usize::from(self.usable[(hash as usize) % count]))
    }

    /// 802.3ad: with `broadcast_neighbor`, ARP and IPv6 NS/NA go to every usable member
    /// (`bond_xmit_broadcast(skb, dev, false)`); everything else is hashed.
    #[inline(always)]
    pub(crate) fn ieee8023ad(&self, frame: &[u8]) -> Tx {
        if self.broadcast_neighbor && frame::is_neighbor(frame) {
            let mut set = MemberMask::EMPTY;
            for &m in self.usable_members() {
                if self.up_links.contains(usize::from(m)) {
                    set = set.with(usize::from(m));
                }
            }
            return if set.is_empty() {
                Tx::Drop(TxDrop::NoUsableMember)
            } else {
                Tx::Members(set)
            };
        }
        self.xor(frame)
    }

    /// `bond_xmit_broadcast()`: every member with carrier and link up.
    pub(crate) fn broadcast(&self) -> Tx {
        if self.up_links.is_empty() {
            Tx::Drop(TxDrop::NoUsableMember)
        } else {
            Tx::Members(self.up_links)
        }
    }
}
