//! `afxdp-bond hash`: which member a Linux bond would pick for each frame of a capture.

use super::Failure;
use clap::Args;
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use xmit_hash::{Policy, hash, member_index};

/// Print the transmit hash and member index of each frame of a capture.
///
/// One line `<hash> <index>` per frame, in order: the 32-bit hash the Linux bonding driver
/// computes for the frame under the policy, in decimal, and `hash % N`, the member a
/// `balance-xor` or `802.3ad` bond with N usable members sends it on.
///
/// The capture is classic pcap or pcapng with Ethernet frames (LINKTYPE_ETHERNET). A frame
/// with an 802.1Q/802.1ad outer tag is hashed as a VLAN device on the bond would hand it
/// over, with the tag offloaded.
#[derive(Debug, Args)]
pub(crate) struct HashArgs {
    /// The xmit_hash_policy, by name or number: layer2 (0), layer3+4 (1), layer2+3 (2),
    /// encap2+3 (3), encap3+4 (4), vlan+srcmac (5).
    #[arg(long, value_parser = parse_policy)]
    policy: Policy,
    /// The number of usable members (the index printed is hash % N).
    #[arg(long, value_name = "N", value_parser = parse_members, allow_negative_numbers = true)]
    members: u32,
    /// The capture file (pcap or pcapng).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn parse_policy(s: &str) -> Result<Policy, String> {
    s.parse::<Policy>().map_err(|_| {
        let accepted: Vec<String> = Policy::ALL
            .iter()
            .map(|p| format!("{p} ({})", p.value()))
            .collect();
        format!(
            "not an xmit_hash_policy; accepted values are {}",
            accepted.join(", ")
        )
    })
}

fn parse_members(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "the member count must be a whole number from 1 to {}",
            u32::MAX
        )),
    }
}

/// The magic number that opens a pcapng file (a section header block).
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

pub(crate) fn run(args: &HashArgs) -> Result<(), Failure> {
    let name = args.file.display().to_string();
    let file = File::open(&args.file)
        .map_err(|e| Failure(format!("cannot open {name}: {}", io_reason(&e))))?;
    let mut input = BufReader::new(file);
    let head = input
        .fill_buf()
        .map_err(|e| Failure(format!("cannot read {name}: {}", io_reason(&e))))?;
    let is_pcapng = head.starts_with(&PCAPNG_MAGIC);

    let stdout = io::stdout();
    let mut out = Output {
        writer: BufWriter::new(stdout.lock()),
        policy: args.policy,
        members: args.members,
        frames: 0,
        cut_by_snaplen: 0,
    };
    let result = if is_pcapng {
        read_pcapng(input, &args.file, &mut out)
    } else {
        read_pcap(input, &args.file, &mut out)
    };
    // Print what was hashed even when the capture turns out to be damaged further on.
    let flushed = out.writer.flush();
    result?;
    match flushed {
        Ok(()) => {}
        // The reader of our output went away (`| head`): not an error of ours.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(Failure(format!("cannot write the output: {e}"))),
    }
    if out.cut_by_snaplen > 0 {
        eprintln!(
            "afxdp-bond: note: {} of {} frames in {name} were cut by the capture's snap length; \
             their hashes cover only the captured bytes",
            out.cut_by_snaplen, out.frames
        );
    }
    Ok(())
}

/// Where the lines go.
struct Output<W: Write> {
    writer: W,
    policy: Policy,
    members: u32,
    frames: u64,
    cut_by_snaplen: u64,
}

impl<W: Write> Output<W> {
    fn frame(&mut self, data: &[u8], original_len: u32) -> Result<(), Failure> {
        self.frames += 1;
        if (data.len() as u64) < u64::from(original_len) {
            self.cut_by_snaplen += 1;
        }
        let h = hash(self.policy, data);
        // `members` is at least 1, so there is always an index.
        let index = member_index(h, self.members as usize).unwrap_or(0);
        match writeln!(self.writer, "{h} {index}") {
            Ok(()) => Ok(()),
            // Stop quietly when the reader went away; `run` sees the error again on flush.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure(format!("cannot write the output: {e}"))),
        }
    }
}

fn read_pcap<R: Read, W: Write>(input: R, path: &Path, out: &mut Output<W>) -> Result<(), Failure> {
    let name = path.display();
    let mut reader = PcapReader::new(input).map_err(|e| {
        Failure(format!(
            "{name} is not a pcap or pcapng capture ({})",
            pcap_reason(&e)
        ))
    })?;
    let linktype = reader.header().datalink;
    if linktype != DataLink::ETHERNET {
        return Err(not_ethernet(path, linktype));
    }
    let mut n = 0u64;
    while let Some(packet) = reader.next_packet() {
        n += 1;
        let packet =
            packet.map_err(|e| Failure(format!("{name}: frame {n}: {}", pcap_reason(&e))))?;
        out.frame(&packet.data, packet.orig_len)?;
    }
    Ok(())
}

fn read_pcapng<R: Read, W: Write>(
    input: R,
    path: &Path,
    out: &mut Output<W>,
) -> Result<(), Failure> {
    let name = path.display();
    let mut reader = PcapNgReader::new(input).map_err(|e| {
        Failure(format!(
            "{name} is not a valid pcapng capture ({})",
            pcap_reason(&e)
        ))
    })?;
    // The link type of each interface of the current section, by interface id.
    let mut interfaces: Vec<DataLink> = Vec::new();
    let mut n = 0u64;
    while let Some(block) = reader.next_block() {
        let block =
            block.map_err(|e| Failure(format!("{name}: after frame {n}: {}", pcap_reason(&e))))?;
        let (interface, data, original_len) = match block {
            Block::SectionHeader(_) => {
                interfaces.clear();
                continue;
            }
            Block::InterfaceDescription(idb) => {
                interfaces.push(idb.linktype);
                continue;
            }
            Block::EnhancedPacket(epb) => (epb.interface_id, epb.data, epb.original_len),
            Block::SimplePacket(spb) => (0, spb.data, spb.original_len),
            Block::Packet(pb) => (u32::from(pb.interface_id), pb.data, pb.original_len),
            _ => continue,
        };
        n += 1;
        let linktype = interfaces.get(interface as usize).ok_or_else(|| {
            Failure(format!(
                "{name}: frame {n} refers to interface {interface}, which the capture does \
                 not describe"
            ))
        })?;
        if *linktype != DataLink::ETHERNET {
            return Err(not_ethernet(path, *linktype));
        }
        out.frame(&data, original_len)?;
    }
    Ok(())
}

fn not_ethernet(path: &Path, linktype: DataLink) -> Failure {
    Failure(format!(
        "{}: link type {} ({linktype:?}) is not Ethernet; only LINKTYPE_ETHERNET (1) captures \
         can be hashed",
        path.display(),
        u32::from(linktype)
    ))
}

/// An I/O error without the "(os error N)" suffix.
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn pcap_reason(e: &pcap_file::PcapError) -> String {
    match e {
        pcap_file::PcapError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "the file ends in the middle of a record".to_string()
        }
        pcap_file::PcapError::IoError(io) => io_reason(io),
        other => other.to_string(),
    }
}
