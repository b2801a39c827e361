//! The interface between the I/O layer and a bonding engine (or any per-frame policy).
//!
//! The I/O layer moves UMEM descriptors; the hook decides, per frame, where a frame goes.
//! The hook never sees a descriptor, only the frame bytes, and answers with an action.

use std::time::Duration;

use super::ethtool::LinkSpeed;
use super::netlink::{AddressChange, LinkState};

/// The largest number of members a [`MemberSet`] can hold.
pub const MAX_MEMBERS: usize = 64;

/// A set of member indices (a 64-bit mask; indices 0..64), copied by value, never allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberSet(u64);

impl MemberSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// The set of members `0..n`.
    pub fn first_n(n: usize) -> Self {
        if n >= MAX_MEMBERS {
            Self(u64::MAX)
        } else {
            Self((1u64 << n) - 1)
        }
    }

    /// The set holding only `member` (empty if `member >= MAX_MEMBERS`).
    pub fn single(member: usize) -> Self {
        Self::EMPTY.with(member)
    }

    /// This set plus `member` (unchanged if `member >= MAX_MEMBERS`).
    #[must_use]
    pub fn with(self, member: usize) -> Self {
        if member < MAX_MEMBERS {
            Self(self.0 | (1 << member))
        } else {
            self
        }
    }

    /// This set without `member`.
    #[must_use]
    pub fn without(self, member: usize) -> Self {
        if member < MAX_MEMBERS {
            Self(self.0 & !(1 << member))
        } else {
            self
        }
    }

    /// Whether `member` is in the set.
    pub fn contains(self, member: usize) -> bool {
        member < MAX_MEMBERS && self.0 & (1 << member) != 0
    }

    /// Number of members in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The raw mask (bit i = member i).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// The set with mask `bits` (bit i = member i).
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The members, lowest index first.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(i)
        })
    }
}

/// What to do with a frame received on a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum RxAction {
    /// Hand it to the host side (the TAP device, or the library user's host queue).
    DeliverToHost,
    /// Send it out of one member, as it is (no copy: the descriptor moves).
    Forward(usize),
    /// Send it out of several members: the first gets the received frame, every other one
    /// a copy in a fresh frame.
    ForwardMany(MemberSet),
    /// Drop it (e.g. a frame on a backup member); the hook counts the reason.
    Drop,
    /// The hook used it (an LACPDU, a monitor reply); the frame is freed.
    Consume,
}

/// What to do with a frame the host sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum TxAction {
    /// Send it on this member.
    Send(usize),
    /// Send it on each of these members (copies for all but the first).
    SendMany(MemberSet),
    /// Drop it (no usable member); the hook counts the reason.
    Drop,
}

/// A control frame the hook wrote into the buffer it was given, to send on `member`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlFrame {
    /// Member to send it on.
    pub member: usize,
    /// Bytes written at the start of the buffer.
    pub len: usize,
}

/// A change of a member's link as the datapath saw it (rtnetlink plus ethtool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberLinkEvent {
    /// The link as rtnetlink described it.
    pub state: LinkState,
    /// Speed and duplex (ethtool), read when the link is usable; `None` otherwise.
    pub speed: Option<LinkSpeed>,
}

/// The per-frame and control decisions a datapath worker asks of its owner (the bonding
/// engine). All times are on the worker's clock (see
/// [`Datapath::set_clock_origin`](super::Datapath::set_clock_origin)).
///
/// Order of calls in one worker iteration ([`Datapath::step`](super::Datapath::step)):
/// 1. `on_link_event` for each pending rtnetlink event of a member (worker 0 only);
/// 2. `on_deadline` if `next_deadline()` has passed;
/// 3. `poll_control_frame` until it returns `None` (at most one batch);
/// 4. `on_member_rx` for each received frame, member by member, a batch each;
/// 5. `on_host_tx` for each frame the host side sent (a batch);
///
/// then the TX rings are flushed, completions reaped and fill rings refilled. Between
/// iterations with no work the worker sleeps in `ppoll` until a socket, the TAP, the
/// netlink socket is readable or `next_deadline()` comes.
///
/// With several workers ([`open_workers`](super::open_workers)) each runs its own hook value
/// on its own thread: the per-frame methods of every worker's hook read the engine's
/// published transmit plan; worker 0 alone gets link events (it owns the rtnetlink socket),
/// and is the natural place for the control plane's deadlines and control frames.
pub trait DatapathHook {
    /// A frame arrived on `member`. It may be rewritten in place (e.g. a MAC rewrite).
    fn on_member_rx(&mut self, now: Duration, member: usize, frame: &mut [u8]) -> RxAction;

    /// The host side sent `frame`. It may be rewritten in place (TLB source MAC).
    fn on_host_tx(&mut self, now: Duration, frame: &mut [u8]) -> TxAction;

    /// A control frame (LACPDU, Marker response, ARP probe, gratuitous ARP) to send: write it
    /// into `buf` (one UMEM frame) and say where it goes. `None` when there is none.
    fn poll_control_frame(&mut self, now: Duration, buf: &mut [u8]) -> Option<ControlFrame> {
        let _ = (now, buf);
        None
    }

    /// The next time the hook wants `on_deadline` called, if any.
    fn next_deadline(&mut self) -> Option<Duration> {
        None
    }

    /// `next_deadline()` has passed (a spurious call must do nothing).
    fn on_deadline(&mut self, now: Duration) {
        let _ = now;
    }

    /// The link of `member` changed (carrier, operstate, MAC, MTU, removal).
    fn on_link_event(&mut self, now: Duration, member: usize, event: &MemberLinkEvent) {
        let _ = (now, member, event);
    }

    /// A link that is not a member changed (worker 0 only): e.g. the host-side TAP, or a
    /// VLAN device created above it.
    fn on_other_link_event(&mut self, now: Duration, state: &LinkState) {
        let _ = (now, state);
    }

    /// An IPv4/IPv6 address of some interface was added or removed (worker 0 only, after
    /// [`Datapath::watch_addresses`](super::Datapath::watch_addresses)).
    fn on_address_event(&mut self, now: Duration, change: &AddressChange) {
        let _ = (now, change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_set() {
        let s = MemberSet::EMPTY.with(0).with(3).with(63).with(64);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 63]);
        assert_eq!(s.len(), 3);
        assert!(s.contains(63) && !s.contains(64) && !s.contains(1));
        assert_eq!(s.without(3).len(), 2);
        assert_eq!(MemberSet::first_n(3).bits(), 0b111);
        assert_eq!(MemberSet::first_n(64).len(), 64);
        assert!(MemberSet::EMPTY.is_empty());
    }
}
