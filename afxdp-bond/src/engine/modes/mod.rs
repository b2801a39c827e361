//! The modes, one file per family, each to be read next to its `bond_main.c`,
//! `bond_3ad.c` or `bond_alb.c` counterpart.

mod activebackup;
mod alb;
mod hash;
mod ieee8023ad;
mod roundrobin;

pub(crate) use hash::fastmod_m;
