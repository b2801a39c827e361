#![no_main]

libfuzzer_sys::fuzz_target!(
    |input: afxdp_bond_fuzz::engine::Input| afxdp_bond_fuzz::engine::run(&input)
);
