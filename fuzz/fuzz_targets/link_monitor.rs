#![no_main]

libfuzzer_sys::fuzz_target!(|input: afxdp_bond_fuzz::link_monitor::Input| {
    afxdp_bond_fuzz::link_monitor::run(&input)
});
