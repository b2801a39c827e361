#!/usr/bin/python3
"""Generates afxdp-bond/testdata/mixed.pcap (and the same frames as mixed.pcapng) and
mixed.expected, deterministically.

The frames are a small realistic mix (IPv4/IPv6 TCP and UDP, VLAN-tagged frames, ICMP and
ICMPv6, an ICMP error, IPv4 and IPv6 fragments, ARP, IPv4 options, an IPv6 extension header,
QinQ, GRE), with addresses from 198.18.0.0/15 and 2001:db8::/32 only.

mixed.expected holds, per frame, the hash of each policy computed by the small model of the
kernel's bonding hash in this file. The model is written separately from the Rust crate, on
the stripped frame with the kernel's own offsets (network header at 14), so that the CLI test
compares two implementations. It covers the protocols that occur in the mix.

Run:  /usr/bin/python3 scripts/gen-testdata.py [OUTDIR]   (needs python3-scapy)
OUTDIR defaults to afxdp-bond/testdata; a test regenerates into a temporary directory and
compares the bytes with the committed files.
"""

import os
import sys

from scapy.all import (  # noqa: E402  (scapy's star-module)
    ARP,
    GRE,
    ICMP,
    IP,
    TCP,
    UDP,
    Dot1AD,
    Dot1Q,
    Ether,
    ICMPv6EchoRequest,
    IPOption_Router_Alert,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    Raw,
    wrpcap,
    wrpcapng,
)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "afxdp-bond", "testdata")

HOST_A = "02:00:00:00:00:0a"  # the bond's side
HOST_B = "02:00:00:00:01:0b"  # a router or peer
HOST_C = "02:00:5e:12:34:56"


def frames():
    """(description, scapy packet) in capture order."""
    dns_query = IP(src="198.18.0.10", dst="198.18.255.53", id=7) / UDP(sport=53000, dport=53) / Raw(
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    )
    yield "IPv4 TCP SYN 198.18.0.10:40001 > 198.19.0.20:443", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.10", dst="198.19.0.20", id=1
    ) / TCP(sport=40001, dport=443, flags="S", seq=1000)
    yield "IPv4 TCP SYN-ACK 198.19.0.20:443 > 198.18.0.10:40001", Ether(src=HOST_B, dst=HOST_A) / IP(
        src="198.19.0.20", dst="198.18.0.10", id=2
    ) / TCP(sport=443, dport=40001, flags="SA", seq=5000, ack=1001)
    yield "IPv4 TCP ACK 198.18.0.11:40002 > 198.19.0.20:443", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.11", dst="198.19.0.20", id=3
    ) / TCP(sport=40002, dport=443, flags="A", seq=1, ack=1)
    yield "IPv4 UDP 198.18.0.10:53000 > 198.18.255.53:53", Ether(src=HOST_A, dst=HOST_B) / dns_query
    yield "IPv6 TCP [2001:db8:1::10]:40003 > [2001:db8:2::20]:443", Ether(src=HOST_A, dst=HOST_B) / IPv6(
        src="2001:db8:1::10", dst="2001:db8:2::20"
    ) / TCP(sport=40003, dport=443, flags="S", seq=2000)
    yield "IPv6 UDP [2001:db8:1::10]:53001 > [2001:db8:2::53]:53", Ether(src=HOST_A, dst=HOST_B) / IPv6(
        src="2001:db8:1::10", dst="2001:db8:2::53"
    ) / UDP(sport=53001, dport=53) / Raw(b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x01")
    yield "802.1Q VLAN 100 prio 3, IPv4 TCP 198.18.1.10:40004 > 198.19.1.20:80", Ether(
        src=HOST_C, dst=HOST_B
    ) / Dot1Q(prio=3, vlan=100) / IP(src="198.18.1.10", dst="198.19.1.20", id=4) / TCP(
        sport=40004, dport=80, flags="S", seq=3000
    )
    yield "802.1Q VLAN 200, IPv6 UDP [2001:db8:1::11]:5000 > [2001:db8:2::21]:5001", Ether(
        src=HOST_C, dst=HOST_B
    ) / Dot1Q(vlan=200) / IPv6(src="2001:db8:1::11", dst="2001:db8:2::21") / UDP(sport=5000, dport=5001) / Raw(
        b"hello"
    )
    yield "ICMP echo request id 0x1d2e 198.18.0.10 > 198.19.0.20", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.10", dst="198.19.0.20", id=5
    ) / ICMP(type=8, id=0x1D2E, seq=1) / Raw(b"abcdefgh")
    yield "ICMP echo reply id 0x1d2e 198.19.0.20 > 198.18.0.10", Ether(src=HOST_B, dst=HOST_A) / IP(
        src="198.19.0.20", dst="198.18.0.10", id=6
    ) / ICMP(type=0, id=0x1D2E, seq=1) / Raw(b"abcdefgh")
    yield "ICMP echo request id 0 198.18.0.10 > 198.19.0.20", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.10", dst="198.19.0.20", id=8
    ) / ICMP(type=8, id=0, seq=9)
    yield "ICMPv6 echo request id 0x42 2001:db8:1::10 > 2001:db8:2::20", Ether(src=HOST_A, dst=HOST_B) / IPv6(
        src="2001:db8:1::10", dst="2001:db8:2::20"
    ) / ICMPv6EchoRequest(id=0x42, seq=1, data=b"ping")
    err = Ether(src=HOST_B, dst=HOST_A) / IP(src="198.19.0.1", dst="198.18.0.10", id=9) / ICMP(type=3, code=3)
    yield "ICMP port unreachable about the UDP datagram of frame 4", err / Raw(bytes(dns_query)[:28])
    yield "IPv4 UDP first fragment (MF) 198.18.0.12 > 198.19.0.30", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.12", dst="198.19.0.30", id=0x4242, flags="MF", frag=0, proto=17
    ) / Raw(bytes(UDP(sport=4000, dport=4001, len=72, chksum=0)) + b"\x00" * 56)
    yield "IPv4 UDP second fragment (offset 64) 198.18.0.12 > 198.19.0.30", Ether(src=HOST_A, dst=HOST_B) / IP(
        src="198.18.0.12", dst="198.19.0.30", id=0x4242, flags=0, frag=8, proto=17
    ) / Raw(b"\x00" * 8)
    yield "ARP request who-has 198.18.0.1 tell 198.18.0.10", Ether(src=HOST_A, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=HOST_A, psrc="198.18.0.10", hwdst="00:00:00:00:00:00", pdst="198.18.0.1"
    )
    yield "ARP reply 198.18.0.1 is-at 02:00:00:00:01:0b", Ether(src=HOST_B, dst=HOST_A) / ARP(
        op=2, hwsrc=HOST_B, psrc="198.18.0.1", hwdst=HOST_A, pdst="198.18.0.10"
    )
    yield "IPv4 with router-alert option, TCP 198.18.0.13:40005 > 198.19.0.20:443", Ether(
        src=HOST_A, dst=HOST_B
    ) / IP(src="198.18.0.13", dst="198.19.0.20", id=10, options=[IPOption_Router_Alert()]) / TCP(
        sport=40005, dport=443, flags="S", seq=4000
    )
    yield "IPv6 hop-by-hop header, UDP [2001:db8:1::12]:6000 > [2001:db8:2::22]:6001", Ether(
        src=HOST_A, dst=HOST_B
    ) / IPv6(src="2001:db8:1::12", dst="2001:db8:2::22") / IPv6ExtHdrHopByHop() / UDP(sport=6000, dport=6001) / Raw(
        b"hbh"
    )
    yield "QinQ 802.1ad VLAN 10 / 802.1Q VLAN 20, IPv4 TCP 198.18.2.10:40006 > 198.19.2.20:22", Ether(
        src=HOST_C, dst=HOST_B
    ) / Dot1AD(vlan=10) / Dot1Q(vlan=20) / IP(src="198.18.2.10", dst="198.19.2.20", id=11) / TCP(
        sport=40006, dport=22, flags="S", seq=6000
    )
    yield "GRE (key 7) 198.18.0.1 > 198.18.0.2 carrying IPv4 TCP 198.19.5.1:1234 > 198.19.5.2:80", Ether(
        src=HOST_A, dst=HOST_B
    ) / IP(src="198.18.0.1", dst="198.18.0.2", id=12) / GRE(key_present=1, key=7, proto=0x0800) / IP(
        src="198.19.5.1", dst="198.19.5.2", id=13
    ) / TCP(sport=1234, dport=80, flags="S", seq=7000)
    yield "IPv6 first fragment, UDP [2001:db8:1::13]:7000 > [2001:db8:2::23]:7001", Ether(
        src=HOST_A, dst=HOST_B
    ) / IPv6(src="2001:db8:1::13", dst="2001:db8:2::23") / IPv6ExtHdrFragment(
        nh=17, offset=0, m=1, id=0x1234
    ) / Raw(bytes(UDP(sport=7000, dport=7001, len=64, chksum=0)) + b"\x00" * 16)


# ----------------------------------------------------------------------------------------------
# A model of the kernel's hash (drivers/net/bonding/bond_main.c, net/core/flow_dissector.c),
# for the protocols of this mix. Offsets are the kernel's: the data is the frame with the
# offloaded outer tag taken out, the network header at 14.

POLICIES = ["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"]
PORT_OFFSET = {6: 0, 17: 0, 33: 0, 50: 0, 132: 0, 136: 0, 51: 4}


def be16(b):
    return int.from_bytes(b, "big")


def le32(b):
    return int.from_bytes(b, "little")


def v6word(a):
    return le32(a[0:4]) ^ le32(a[4:8]) ^ le32(a[8:12]) ^ le32(a[12:16])


def fold(h):
    h ^= h >> 16
    h ^= h >> 8
    return h & 0xFFFFFFFF


def offload_outer_tag(frame):
    """(data, tci) as the bond sees the frame with its outer tag offloaded; None if short."""
    if len(frame) < 14:
        return None
    if be16(frame[12:14]) in (0x8100, 0x88A8):
        if len(frame) >= 18:
            return frame[:12] + frame[16:], be16(frame[14:16])
        if len(frame) >= 16:
            return None
    return frame, None


class Keys:
    def __init__(self):
        self.src = 0
        self.dst = 0
        self.ports = 0
        self.icmp_type = 0
        self.icmp_code = 0
        self.icmp_id = 0


def get_ports(d, thoff, proto):
    if proto not in PORT_OFFSET:
        return 0
    o = thoff + PORT_OFFSET[proto]
    return le32(d[o : o + 4]) if o + 4 <= len(d) else 0


def icmp_key(k, d, thoff):
    if thoff + 8 > len(d):
        return
    k.icmp_type, k.icmp_code = d[thoff], d[thoff + 1]
    if k.icmp_type in (0, 8, 13, 14, 128, 129):
        k.icmp_id = be16(d[thoff + 4 : thoff + 6]) or 1
    else:
        k.icmp_id = 0


def bond_flow_ip(d, l2_proto, k, st, l34):
    n = st["nhoff"]
    if l2_proto == 0x0800:
        if n + 20 > len(d):
            return False
        k.src, k.dst = le32(d[n + 12 : n + 16]), le32(d[n + 16 : n + 20])
        st["nhoff"] = n + (d[n] & 0x0F) * 4
        if be16(d[n + 6 : n + 8]) & 0x3FFF == 0:
            st["ip_proto"] = d[n + 9]
    elif l2_proto == 0x86DD:
        if n + 40 > len(d):
            return False
        k.src, k.dst = v6word(d[n + 8 : n + 24]), v6word(d[n + 24 : n + 40])
        st["nhoff"] = n + 40
        st["ip_proto"] = d[n + 6]
    else:
        return False
    if l34 and st["ip_proto"] >= 0:
        k.ports = get_ports(d, st["nhoff"], st["ip_proto"])
    return True


def bond_flow_dissect(d, l34):
    k = Keys()
    st = {"nhoff": 14, "ip_proto": -1}
    l2_proto = be16(d[12:14])
    if not bond_flow_ip(d, l2_proto, k, st, l34):
        return None
    if st["ip_proto"] in (1, 58):
        icmp_key(k, d, st["nhoff"])
        errors = (3, 4, 5, 11, 12) if st["ip_proto"] == 1 else (1, 2, 3, 4)
        if k.icmp_type not in errors:
            return k
        st["nhoff"] += 8
        if not bond_flow_ip(d, l2_proto, k, st, l34):
            return None
    return k


def flow_dissect(d, tci):
    """__skb_flow_dissect with the bonding keys, for the protocols of this mix."""
    k = Keys()
    proto, nhoff, hdrs, vlan_seen, frag = be16(d[12:14]), 14, 0, False, False
    while True:
        ip_proto = None
        if proto in (0x8100, 0x88A8):
            if not vlan_seen and tci is not None:
                proto = be16(d[12:14])
            else:
                if nhoff + 4 > len(d):
                    return None
                proto = be16(d[nhoff + 2 : nhoff + 4])
                nhoff += 4
            vlan_seen = True
            hdrs += 1
            if hdrs > 15:
                return k
            continue
        if proto == 0x0800:
            if nhoff + 20 > len(d) or d[nhoff] & 0x0F < 5:
                return None
            k.src, k.dst = le32(d[nhoff + 12 : nhoff + 16]), le32(d[nhoff + 16 : nhoff + 20])
            fo = be16(d[nhoff + 6 : nhoff + 8])
            ip_proto = d[nhoff + 9]
            nhoff += (d[nhoff] & 0x0F) * 4
            if fo & 0x3FFF:
                return k
        elif proto == 0x86DD:
            if nhoff + 40 > len(d):
                return None
            k.src, k.dst = v6word(d[nhoff + 8 : nhoff + 24]), v6word(d[nhoff + 24 : nhoff + 40])
            ip_proto = d[nhoff + 6]
            nhoff += 40
        elif proto in (0x0806, 0x8035, 0x8847, 0x8848):
            return k
        else:
            return None
        # The transport (or next) protocol, possibly through IPv6 extension headers.
        while True:
            again = None
            if ip_proto in (0, 43, 60) and proto == 0x86DD:
                if nhoff + 2 > len(d):
                    return None
                ip_proto, nhoff = d[nhoff], nhoff + (d[nhoff + 1] + 1) * 8
                again = "ip"
            elif ip_proto == 44 and proto == 0x86DD:
                if nhoff + 8 > len(d):
                    return None
                frag, ip_proto, nhoff = True, d[nhoff], nhoff + 8
                return k
            elif ip_proto == 4:
                proto, again = 0x0800, "proto"
            elif ip_proto == 41:
                proto, again = 0x86DD, "proto"
            elif ip_proto == 47:
                if nhoff + 4 > len(d):
                    return None
                flags, gproto = be16(d[nhoff : nhoff + 2]), be16(d[nhoff + 2 : nhoff + 4])
                if flags & 0x4000 or flags & 7:
                    k.ports = 0  # only version 0 without routing in this model
                    return k
                off = 4 + (4 if flags & 0x8000 else 0)
                if flags & 0x2000:
                    if nhoff + off + 4 > len(d):
                        return None
                    off += 4
                off += 4 if flags & 0x1000 else 0
                proto = gproto
                if gproto == 0x6558:
                    if nhoff + off + 14 > len(d):
                        return None
                    proto = be16(d[nhoff + off + 12 : nhoff + off + 14])
                    off += 14
                nhoff += off
                again = "proto"
            elif ip_proto in (1, 58):
                icmp_key(k, d, nhoff)
            if not frag:
                k.ports = get_ports(d, nhoff, ip_proto)
            if again is None:
                return k
            hdrs += 1
            if hdrs > 15:
                return k
            if again == "proto":
                break


def kernel_hash(policy, frame):
    v = offload_outer_tag(frame)
    if v is None:
        return 0
    d, tci = v
    eth = d[5] ^ d[11] ^ be16(d[12:14])
    if policy == "layer2":
        return eth
    if policy == "vlan+srcmac":
        return (tci or 0) ^ be16(b"\0" + d[6:9]) ^ be16(b"\0" + d[9:12])
    if policy in ("layer2+3", "layer3+4"):
        k = bond_flow_dissect(d, policy == "layer3+4")
    else:
        k = flow_dissect(d, tci)
    if k is None:
        return eth
    if policy in ("layer2+3", "encap2+3"):
        return fold(eth ^ k.dst ^ k.src)
    l4 = (k.icmp_type | k.icmp_code << 8 | k.icmp_id << 16) if k.icmp_id else k.ports
    return fold(l4 ^ k.dst ^ k.src) >> 1


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    pkts, lines = [], []
    for i, (what, p) in enumerate(frames()):
        p.time = 1_700_000_000 + i / 1000
        raw = bytes(p)
        pkts.append(p)
        hashes = " ".join(str(kernel_hash(pol, raw)) for pol in POLICIES)
        lines.append(f"{hashes}  # {i + 1}: {what}")
    os.makedirs(out, exist_ok=True)
    wrpcap(os.path.join(out, "mixed.pcap"), pkts, linktype=1)
    wrpcapng(os.path.join(out, "mixed.pcapng"), pkts)
    with open(os.path.join(out, "mixed.expected"), "w") as f:
        f.write("# Generated by scripts/gen-testdata.py: one line per frame of mixed.pcap, the hash of\n")
        f.write("# each policy as the script's model of the kernel computes it, in this order:\n")
        f.write("# " + " ".join(POLICIES) + "\n")
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(pkts)} frames to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
