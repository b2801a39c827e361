//! The library API for programs that take frames themselves: receive and transmit bursts
//! on the bond, the engine deciding.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Rx, Tx};
use crate::xdp::{self, Datapath, DatapathStats, Frame, RxFrame};

use super::hook::BondHook;
use super::shared::Shared;
use super::{RunError, status_json, status_text, xdp_err};

/// Where a received frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxSource {
    /// The bond: received on this member and delivered by the engine (a frame for the
    /// host, after the engine's receive rules: backups and non-collecting ports dropped,
    /// LACPDUs consumed, balance-alb's destination rewritten).
    Bond {
        /// The member it arrived on.
        member: usize,
    },
    /// One of the extra ports ([`RunConfig::ports`](super::RunConfig::ports)), untouched.
    Port(usize),
}

/// A received frame.
#[derive(Debug)]
pub struct BondRx {
    /// Where it came from.
    pub source: RxSource,
    /// The frame (owned: send it, or give it back with [`BondWorker::release`]).
    pub frame: Frame,
}

/// One datapath worker of a bond used as a library: bursts of frames in and out of the
/// bond, the engine choosing members and filtering what arrives. Worker 0 also runs the
/// bond's control plane (LACP, monitors, failover) whenever it receives or is serviced.
///
/// No allocation per frame: give [`recv_burst`](Self::recv_burst) a `Vec` with capacity.
#[derive(Debug)]
pub struct BondWorker {
    dp: Datapath,
    hook: BondHook,
    members: usize,
    shared: Arc<Shared>,
    burst: Vec<RxFrame>,
}

impl BondWorker {
    pub(crate) fn new(dp: Datapath, hook: BondHook, members: usize, shared: Arc<Shared>) -> Self {
        Self {
            dp,
            hook,
            members,
            shared,
            burst: Vec::with_capacity(256),
        }
    }

    /// The control plane's share of work (link events, the bond's deadlines, its control
    /// frames); [`recv_burst`](Self::recv_burst) does this first. Returns the work done.
    pub fn service(&mut self) -> Result<usize, RunError> {
        self.dp.service(&mut self.hook).map_err(|e| xdp_err(&e))
    }

    /// Receives up to `out`'s spare capacity of frames, after servicing the control plane:
    /// frames the bond delivers and frames of the extra ports. What the bond consumes or
    /// drops is freed here. Returns the number appended.
    pub fn recv_burst(&mut self, out: &mut Vec<BondRx>) -> Result<usize, RunError> {
        self.service()?;
        let room = out.capacity() - out.len();
        let mut burst = std::mem::take(&mut self.burst);
        burst.clear();
        self.dp.recv_burst_limit(&mut burst, room);
        let got = self.dispatch(&mut burst, out);
        self.burst = burst;
        Ok(got)
    }

    fn dispatch(&mut self, burst: &mut Vec<RxFrame>, out: &mut Vec<BondRx>) -> usize {
        let now = self.dp.now();
        let mut got = 0;
        for rx in burst.drain(..) {
            let mut frame = rx.frame;
            if rx.member >= self.members {
                if out.len() < out.capacity() {
                    out.push(BondRx {
                        source: RxSource::Port(rx.member - self.members),
                        frame,
                    });
                    got += 1;
                } else {
                    self.dp.release(frame);
                }
                continue;
            }
            let data = self.dp.data_mut(&mut frame);
            match self.hook.classify(now, rx.member, data) {
                Rx::Deliver | Rx::DeliverOnMember if out.len() < out.capacity() => {
                    out.push(BondRx {
                        source: RxSource::Bond { member: rx.member },
                        frame,
                    });
                    got += 1;
                }
                _ => self.dp.release(frame),
            }
        }
        got
    }

    /// Sends `frame` into the bond: the engine picks the member(s) (and may rewrite its
    /// source MAC in balance-tlb/alb). Returns `false` if the bond dropped it (no usable
    /// member, bond down; counted in the status).
    pub fn send(&mut self, mut frame: Frame) -> bool {
        let dp = &self.dp;
        let data = dp.data_mut(&mut frame);
        match self.hook.select(|| dp.now(), data) {
            Tx::Member(m) => match self.dp.send(m, frame) {
                Ok(()) => true,
                Err(f) => {
                    self.dp.release(f);
                    false
                }
            },
            Tx::Members(set) => {
                self.dp.send_many(xdp::MemberSet::from_bits(set.0), frame);
                true
            }
            Tx::Drop(_) | Tx::ViaBond => {
                self.dp.release(frame);
                false
            }
        }
    }

    /// Sends every frame of `frames` into the bond (see [`send`](Self::send)), emptying
    /// the vector (its capacity is kept: no allocation). Returns the number the bond took.
    pub fn send_burst(&mut self, frames: &mut Vec<Frame>) -> usize {
        let mut n = 0;
        for f in frames.drain(..) {
            n += usize::from(self.send(f));
        }
        n
    }

    /// Sends `frame` on extra port `port` as it is.
    pub fn send_port(&mut self, port: usize, frame: Frame) -> bool {
        match self.dp.send(self.members + port, frame) {
            Ok(()) => true,
            Err(f) => {
                self.dp.release(f);
                false
            }
        }
    }

    /// Releases every member from the bond and sends their farewell frames (802.3ad: an
    /// LACPDU telling the partner each port no longer aggregates), as a kernel bond does when
    /// it is deleted; call on worker 0 before dropping the workers. The bond carries no more
    /// traffic afterwards.
    pub fn release_members(&mut self) {
        super::farewell(&mut self.dp, &mut self.hook);
    }

    /// Flushes the TX rings, reaps completions, refills the fill rings (end of a batch).
    pub fn flush(&mut self) {
        self.dp.flush();
    }

    /// Sleeps until a frame or event arrives, the bond's next deadline comes (worker 0), or
    /// `max` passes.
    pub fn wait_for_work(&mut self, max: Duration) -> Result<(), RunError> {
        let deadline = xdp::DatapathHook::next_deadline(&mut self.hook);
        self.dp
            .wait_for_work(deadline, max)
            .map_err(|e| xdp_err(&e))
    }

    /// A free frame to write into ([`buf_mut`](Self::buf_mut), then
    /// [`set_len`](Self::set_len)).
    pub fn alloc(&mut self) -> Option<Frame> {
        self.dp.alloc()
    }

    /// Gives a frame back.
    pub fn release(&mut self, frame: Frame) {
        self.dp.release(frame);
    }

    /// The bytes of a frame.
    pub fn data<'a>(&'a self, frame: &'a Frame) -> &'a [u8] {
        self.dp.data(frame)
    }

    /// The bytes of a frame, writable.
    pub fn data_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        self.dp.data_mut(frame)
    }

    /// The whole writable room of a frame.
    pub fn buf_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        self.dp.buf_mut(frame)
    }

    /// Sets a frame's length; `false` if it does not fit.
    pub fn set_len(&self, frame: &mut Frame, len: usize) -> bool {
        self.dp.set_len(frame, len)
    }

    /// This worker's I/O counters.
    pub fn stats(&self) -> &DatapathStats {
        self.dp.stats()
    }

    /// The kernel's counters of this worker's AF_XDP sockets (`XDP_STATISTICS`): frames the
    /// kernel dropped because a receive ring was full or the fill ring empty.
    pub fn kernel_stats(&self) -> xdp::KernelXskStats {
        self.dp.kernel_stats()
    }

    /// The bond's status text (`/proc/net/bonding` layout).
    pub fn status(&self) -> String {
        status_text(&self.shared)
    }

    /// The bond's status as JSON.
    pub fn status_json(&self) -> serde_json::Value {
        status_json(&self.shared)
    }

    /// Number of bond members (extra ports come after them in the datapath's numbering).
    pub fn members(&self) -> usize {
        self.members
    }
}
