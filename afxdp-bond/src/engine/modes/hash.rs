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
        // `hash % count`, as the kernel computes it, with a precomputed reciprocal instead
        // of a division.
        let hash = xmit_hash::hash(self.policy, frame);
        let i = fastmod(hash, self.usable_fastmod, count as u32);
        Tx::Member(usize::from(self.usable[i as usize]))
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

/// Lemire's `fastmod_u32`: `m = u64::MAX / d + 1` precomputed, then `a % d` is exact for
/// every 32-bit `a` with two multiplications.
#[inline(always)]
pub(crate) fn fastmod(a: u32, m: u64, d: u32) -> u32 {
    let low = m.wrapping_mul(u64::from(a));
    ((u128::from(low) * u128::from(d)) >> 64) as u32
}

/// The `m` of [`fastmod`] for divisor `d > 0`.
pub(crate) fn fastmod_m(d: u32) -> u64 {
    (u64::MAX / u64::from(d.max(1))).wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastmod_is_exact() {
        for d in 1..=64u32 {
            let m = fastmod_m(d);
            for a in (0..200_000u32).chain([u32::MAX, u32::MAX - 1, 1 << 31, 0xdead_beef]) {
                assert_eq!(fastmod(a, m, d), a % d, "{a} % {d}");
            }
        }
    }
}
