//! Every PDU this crate emits decodes cleanly in tshark (no malformed or expert-error
//! flag). Needs tshark (installed by scripts/setup); fails loudly without it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use lacp::wire::{Frame, MarkerKind, MarkerPdu, Pdu};
use lacp::{Config, CoupledControl, LacpActive, LacpRate, Link};

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lacp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark is required for this test (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Frames from a mix of scenarios: negotiation at both rates, independent control, a cut,
/// passive ports, a removed port's farewell and Marker responses.
fn emitted_frames() -> Vec<(Duration, Vec<u8>)> {
    let mut frames = Vec::new();
    for (rate, coupled, active) in [
        (LacpRate::Fast, CoupledControl::On, LacpActive::On),
        (LacpRate::Slow, CoupledControl::Off, LacpActive::Off),
    ] {
        let mut net = Net::new(5);
        let a = net.add_system(
            Config {
                lacp_rate: rate,
                coupled_control: coupled,
                lacp_active: active,
                ad_actor_sys_prio: 100,
                ad_user_port_key: 5,
                ..Config::default()
            },
            3,
        );
        let b = net.add_system(Config::default(), 3);
        for p in 0..3 {
            net.connect((a, p), (b, p));
        }
        net.all_up(25_000);
        net.run_for(secs(10));
        net.cables[2].cut = true;
        net.run_for(secs(100));
        net.cables[2].cut = false;
        net.set_link(1, Link::down());
        net.run_for(secs(40));
        let info = MarkerPdu {
            version: 1,
            kind: MarkerKind::Information,
            requester_port: 3,
            requester_system: mac(9, 9),
            transaction_id: 0xdead_beef,
        };
        let now = net.now;
        let _ = net.systems[a]
            .handle_rx(now, 0, Frame::new(mac(9, 9), &Pdu::Marker(info)).as_bytes())
            .unwrap();
        net.systems[a].remove_port(now, 2).unwrap();
        net.flush();
        frames.extend(net.sent.iter().map(|s| (s.at, s.frame.as_bytes().to_vec())));
    }
    frames
}

#[test]
fn every_emitted_pdu_decodes_cleanly_in_tshark() {
    let frames = emitted_frames();
    let markers = frames
        .iter()
        .filter(|(_, f)| matches!(Pdu::parse_frame(f), Ok((_, Pdu::Marker(_)))))
        .count();
    assert!(
        frames.len() > 100 && markers == 2,
        "{} frames, {markers} markers",
        frames.len()
    );
    let dir = TempDir::new("tshark");
    let pcap = dir.0.join("emitted.pcap");
    write_pcap(&pcap, &frames);
    let p = pcap.to_str().unwrap();

    let bad = tshark(&[
        "-r",
        p,
        "-Y",
        "_ws.malformed || _ws.expert.severity >= 6291456",
    ]);
    assert!(bad.trim().is_empty(), "tshark flags frames:\n{bad}");

    // tshark sees every frame as LACP or Marker, with the fields we put in.
    let lacp = tshark(&[
        "-r",
        p,
        "-Y",
        "lacp",
        "-T",
        "fields",
        "-e",
        "lacp.actor.sysid",
        "-e",
        "lacp.actor.key",
        "-e",
        "lacp.actor.state",
    ]);
    let marker = tshark(&["-r", p, "-Y", "marker"]);
    assert_eq!(lacp.lines().count() + marker.lines().count(), frames.len());
    assert_eq!(marker.lines().count(), 2);
    for (line, (_, f)) in lacp.lines().zip(frames.iter().filter(|(_, f)| f[14] == 1)) {
        let Ok((_, Pdu::Lacpdu(pdu))) = Pdu::parse_frame(f) else {
            panic!()
        };
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[0], pdu.actor.system.to_string());
        assert_eq!(cols[1], pdu.actor.key.to_string());
        assert_eq!(cols[2], format!("0x{:02x}", pdu.actor.state.bits()));
    }
    // Negative control: the same check flags a LACPDU with a wrong TLV length.
    let mut broken = frames[0].1.clone();
    broken[17] = 19;
    let bad_pcap = dir.0.join("broken.pcap");
    write_pcap(&bad_pcap, &[(Duration::ZERO, broken)]);
    let flagged = tshark(&[
        "-r",
        bad_pcap.to_str().unwrap(),
        "-Y",
        "_ws.malformed || _ws.expert.severity >= 6291456",
    ]);
    assert!(!flagged.trim().is_empty(), "the tshark check cannot fail");
    println!(
        "tshark: {} frames ({markers} Marker), none flagged",
        frames.len()
    );
}
