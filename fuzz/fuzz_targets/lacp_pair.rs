#![no_main]

libfuzzer_sys::fuzz_target!(|input: afxdp_bond_fuzz::lacp_pair::Input| {
    afxdp_bond_fuzz::lacp_pair::run(&input)
});
