#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| afxdp_bond_fuzz::xmit_hash::run(data));
