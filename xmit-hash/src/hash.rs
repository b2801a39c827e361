//! The folds of `__bond_xmit_hash`, the batch call and member selection.

use crate::flow::{FlowKeys, Folded, dissect_encap, dissect_l3};
use crate::frame::Frame;
use crate::policy::Policy;

/// The 32-bit hash the Linux bonding driver computes for `frame` under `policy`
/// (`__bond_xmit_hash` on a little-endian host, kernel 5.18 or later).
///
/// `frame` starts at the Ethernet header and holds the whole frame without the FCS. A frame
/// whose outermost ethertype is 802.1Q or 802.1ad is hashed as the kernel hashes it with that
/// tag offloaded (see the crate docs, "VLAN tags"). Any byte string is accepted: what cannot
/// be parsed falls back the way the kernel falls back, and data shorter than an Ethernet
/// header hashes to 0.
#[must_use]
#[inline]
pub fn hash(policy: Policy, frame: &[u8]) -> u32 {
    match policy {
        Policy::Layer2 => hash_layer2(frame),
        Policy::Layer34 => hash_layer34(frame),
        Policy::Layer23 => hash_layer23(frame),
        Policy::Encap23 => hash_encap23(frame),
        Policy::Encap34 => hash_encap34(frame),
        Policy::VlanSrcMac => hash_vlan_srcmac(frame),
    }
}

/// Hashes `frames` in order into `hashes`, each exactly as [`hash`] would, and returns how
/// many it hashed: the shorter of the two lengths.
///
/// The policy is dispatched once for the whole batch and nothing is allocated, so the
/// datapath can hash a burst of received descriptors in one call:
///
/// ```
/// use xmit_hash::{Policy, hash, hash_batch};
///
/// # let a = [0u8; 60];
/// # let b = [1u8; 60];
/// let burst: [&[u8]; 2] = [&a, &b];
/// let mut hashes = [0u32; 64];
/// let n = hash_batch(Policy::Layer34, burst, &mut hashes);
/// assert_eq!(n, 2);
/// assert_eq!(hashes[1], hash(Policy::Layer34, &b));
/// ```
pub fn hash_batch<'a, I>(policy: Policy, frames: I, hashes: &mut [u32]) -> usize
where
    I: IntoIterator<Item = &'a [u8]>,
{
    match policy {
        Policy::Layer2 => fill(frames, hashes, hash_layer2),
        Policy::Layer34 => fill(frames, hashes, hash_layer34),
        Policy::Layer23 => fill(frames, hashes, hash_layer23),
        Policy::Encap23 => fill(frames, hashes, hash_encap23),
        Policy::Encap34 => fill(frames, hashes, hash_encap34),
        Policy::VlanSrcMac => fill(frames, hashes, hash_vlan_srcmac),
    }
}

#[inline(always)]
fn fill<'a, I, F>(frames: I, hashes: &mut [u32], f: F) -> usize
where
    I: IntoIterator<Item = &'a [u8]>,
    F: Fn(&[u8]) -> u32,
{
    let mut n = 0;
    for (slot, frame) in hashes.iter_mut().zip(frames) {
        *slot = f(frame);
        n += 1;
    }
    n
}

/// The member index for `hash` among `count` usable members: `hash % count`, or `None` when
/// there is no usable member (the kernel then drops the frame).
///
/// This is the selection of the kernel's `balance-xor` and `802.3ad` modes
/// (`bond_xmit_3ad_xor_slave_get`), and of `balance-tlb`/`balance-alb` with
/// `tlb_dynamic_lb=0`, over the array of usable members in the kernel's order. `balance-tlb`
/// with `tlb_dynamic_lb=1` does not use it: it keys its transmit table on `hash & 0xff`.
#[must_use]
#[inline]
pub const fn member_index(hash: u32, count: usize) -> Option<usize> {
    if count == 0 {
        return None;
    }
    // The kernel's count is an `unsigned int`; a count past u32::MAX cannot be a real bond,
    // and reducing in u64 gives the same value for every count that can be.
    Some((hash as u64 % count as u64) as usize)
}

/// The flow keys `policy` extracts from `frame`, or `None` when it extracts none: `layer2` and
/// `vlan+srcmac` never do, and the other policies return `None` exactly when they fall back to
/// the `layer2` hash (not IP for `layer2+3`/`layer3+4`, a header cut short, a dissector
/// failure for the `encap` policies, or data shorter than an Ethernet header).
#[must_use]
pub fn flow_keys(policy: Policy, frame: &[u8]) -> Option<FlowKeys> {
    let f = Frame::parse(frame)?;
    match policy {
        Policy::Layer2 | Policy::VlanSrcMac => None,
        Policy::Layer23 => dissect_l3(&f, false),
        Policy::Layer34 => dissect_l3(&f, true),
        // The dissector reads the ports for encap2+3 too (they are in the kernel's bonding
        // key set), but the policy does not hash them: like layer2+3, show none.
        Policy::Encap23 => dissect_encap(&f).map(|k: FlowKeys| FlowKeys { ports: [0; 4], ..k }),
        Policy::Encap34 => dissect_encap(&f),
    }
}

/// `bond_ip_hash` up to its final shift: the address words XORed in, then the 16- and 8-bit
/// folds.
#[inline(always)]
fn fold(hash: u32, keys: &Folded) -> u32 {
    let mut h = hash ^ keys.addrs;
    h ^= h >> 16;
    h ^= h >> 8;
    h
}

/// The transport word of `layer3+4`/`encap3+4`: the ICMP key when it holds an identifier,
/// else the ports.
#[inline(always)]
fn l4_word(keys: &Folded) -> u32 {
    if keys.icmp.id != 0 {
        keys.icmp.as_u32()
    } else {
        keys.ports
    }
}

#[inline(always)]
fn hash_layer2(frame: &[u8]) -> u32 {
    Frame::parse(frame).map_or(0, |f| f.eth_hash())
}

#[inline(always)]
fn hash_vlan_srcmac(frame: &[u8]) -> u32 {
    Frame::parse(frame).map_or(0, |f| f.vlan_srcmac_hash())
}

#[inline(always)]
fn hash_layer23(frame: &[u8]) -> u32 {
    let Some(f) = Frame::parse(frame) else {
        return 0;
    };
    match dissect_l3::<Folded>(&f, false) {
        // Since 5.18 the layer2+3 fold keeps its lowest bit.
        Some(keys) => fold(f.eth_hash(), &keys),
        None => f.eth_hash(),
    }
}

#[inline(always)]
fn hash_layer34(frame: &[u8]) -> u32 {
    let Some(f) = Frame::parse(frame) else {
        return 0;
    };
    match dissect_l3::<Folded>(&f, true) {
        // The lowest bit is dropped: consecutive (even/odd) ports would otherwise alternate
        // members in lockstep with the source port.
        Some(keys) => fold(l4_word(&keys), &keys) >> 1,
        None => f.eth_hash(),
    }
}

#[inline(always)]
fn hash_encap23(frame: &[u8]) -> u32 {
    let Some(f) = Frame::parse(frame) else {
        return 0;
    };
    match dissect_encap::<Folded>(&f) {
        Some(keys) => fold(f.eth_hash(), &keys),
        None => f.eth_hash(),
    }
}

#[inline(always)]
fn hash_encap34(frame: &[u8]) -> u32 {
    let Some(f) = Frame::parse(frame) else {
        return 0;
    };
    match dissect_encap::<Folded>(&f) {
        Some(keys) => fold(l4_word(&keys), &keys) >> 1,
        None => f.eth_hash(),
    }
}
