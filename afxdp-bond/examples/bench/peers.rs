//! DPDK and OVS helpers.
