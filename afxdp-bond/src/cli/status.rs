//! `afxdp-bond status`: a running bond's state, through its control socket.

use super::Failure;

/// Print a running bond's status (the /proc/net/bonding text, or JSON).
///
/// The text of /proc/net/bonding/NAME for the same state, or JSON with counters (--json).
/// Asks the bond through its control socket (/run/afxdp-bond/NAME.sock, root only).
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// The bond's name (its --name).
    #[arg(long, default_value = "bond0", value_name = "NAME")]
    name: String,
    /// JSON instead of the /proc/net/bonding text.
    #[arg(long)]
    json: bool,
}

/// `afxdp-bond status`.
pub(crate) fn run(args: &StatusArgs) -> Result<(), Failure> {
    let req = if args.json { "status-json" } else { "status" };
    let out = afxdp_bond::control::request(&args.name, req).map_err(|e| Failure(e.to_string()))?;
    if args.json {
        let v: serde_json::Value = serde_json::from_str(out.trim())
            .map_err(|e| Failure(format!("bad JSON from the bond: {e}")))?;
        println!(
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| out.trim().to_string())
        );
    } else {
        print!("{out}");
    }
    Ok(())
}
