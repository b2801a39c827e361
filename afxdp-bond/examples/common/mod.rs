//! Test-frame builder shared by the examples.

/// IPv4 header checksum of `h`.
pub(crate) fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Writes a 60-byte (64 with FCS) IPv4/UDP frame into `buf`: 198.18.0.1 to
/// 198.19.(flow>>8).(flow&255), UDP source port 1024 + flow % 60000, destination port 9,
/// `seq` (big endian) in the first 8 payload bytes.
pub(crate) fn build_udp(buf: &mut [u8], src: [u8; 6], dst: [u8; 6], flow: u32, seq: u64) {
    buf[..60].fill(0);
    buf[0..6].copy_from_slice(&dst);
    buf[6..12].copy_from_slice(&src);
    buf[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut buf[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[198, 18, 0, 1]);
    ip[16..20].copy_from_slice(&[198, 19, (flow >> 8) as u8, flow as u8]);
    let c = ipv4_checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let udp = &mut buf[34..42];
    udp[0..2].copy_from_slice(&(1024 + (flow % 60000) as u16).to_be_bytes());
    udp[2..4].copy_from_slice(&9u16.to_be_bytes());
    udp[4..6].copy_from_slice(&26u16.to_be_bytes());
    buf[42..50].copy_from_slice(&seq.to_be_bytes());
}

/// The sequence number of a frame built by [`build_udp`], if it is one.
pub(crate) fn udp_seq(d: &[u8]) -> Option<u64> {
    (d.len() >= 50 && d[12..14] == [8, 0] && d[23] == 17)
        .then(|| u64::from_be_bytes(d[42..50].try_into().unwrap_or([0; 8])))
}
