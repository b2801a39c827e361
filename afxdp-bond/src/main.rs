//! The `afxdp-bond` command.

fn main() {
    eprintln!("afxdp-bond: no subcommand is implemented yet");
    std::process::exit(2);
}
