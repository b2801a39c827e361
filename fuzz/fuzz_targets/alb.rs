#![no_main]

libfuzzer_sys::fuzz_target!(|input: afxdp_bond_fuzz::alb::Input| afxdp_bond_fuzz::alb::run(&input));
