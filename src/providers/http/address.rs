//! Which IP addresses outbound provider traffic may reach: global ones, private ones on request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address sits, as far as outbound traffic is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A public unicast address: always allowed.
    Global,
    /// Loopback, private, link-local, unique-local, CGNAT, documentation, benchmarking …:
    /// allowed only for a connection configured with `allow_private_network`.
    Private,
    /// Never a sensible destination: unspecified, multicast, broadcast, reserved, and the
    /// cloud metadata endpoints (which hand out credentials to whoever asks).
    Never,
}

impl Reach {
    /// Whether a connection with this setting may reach an address of this kind.
    pub fn allowed(self, allow_private_network: bool) -> bool {
        match self {
            Reach::Global => true,
            Reach::Private => allow_private_network,
            Reach::Never => false,
        }
    }
}

/// Classifies an IP address, looking through IPv4-mapped, NAT64 and 6to4 embeddings.
pub fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Platform metadata and host-agent services: they hand out credentials or instance secrets to
/// whoever asks from inside the machine, so no connection or webhook may ever reach them.
const METADATA_V4: [Ipv4Addr; 8] = [
    Ipv4Addr::new(169, 254, 169, 254), // AWS, GCP, Azure, OpenStack, DigitalOcean, Hetzner, Oracle, …
    Ipv4Addr::new(169, 254, 170, 2),   // AWS ECS task credentials
    Ipv4Addr::new(169, 254, 170, 23),  // AWS EKS Pod Identity agent
    Ipv4Addr::new(169, 254, 0, 23),    // Tencent Cloud
    Ipv4Addr::new(168, 63, 129, 16),   // Azure WireServer (a public address)
    Ipv4Addr::new(100, 100, 100, 200), // Alibaba Cloud
    Ipv4Addr::new(192, 0, 0, 192),     // Oracle Cloud (legacy)
    Ipv4Addr::new(169, 254, 169, 253), // AWS's instance resolver (answers internal names)
];
/// The IPv6 forms: AWS's instance metadata and EKS Pod Identity agent.
const METADATA_V6: [Ipv6Addr; 2] = [Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)];

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Reach {
    if METADATA_V4.contains(&ip)
        || in_v4(ip, [0, 0, 0, 0], 8) // "this network", includes 0.0.0.0
        || in_v4(ip, [224, 0, 0, 0], 4) // multicast
        || in_v4(ip, [240, 0, 0, 0], 4)
    // reserved, includes 255.255.255.255
    {
        return Reach::Never;
    }
    const PRIVATE: [([u8; 4], u32); 12] = [
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10), // CGNAT
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16), // link-local
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24),   // IETF protocol assignments
        ([192, 0, 2, 0], 24),   // TEST-NET-1
        ([192, 88, 99, 0], 24), // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
    ];
    if PRIVATE.iter().any(|&(net, p)| in_v4(ip, net, p)) { Reach::Private } else { Reach::Global }
}

fn embedded_v4(ip: Ipv6Addr, shift: u32) -> Ipv4Addr {
    // Truncation to the 32 bits at `shift` is the point.
    Ipv4Addr::from((u128::from(ip) >> shift) as u32)
}

fn classify_v6(ip: Ipv6Addr) -> Reach {
    if ip.is_unspecified() || ip.is_multicast() || METADATA_V6.contains(&ip) {
        return Reach::Never;
    }
    if ip.is_loopback() {
        return Reach::Private;
    }
    // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::a.b.c.d reach the embedded IPv4 address.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return classify_v4(embedded_v4(ip, 0));
    }
    // 6to4 2002:AABB:CCDD::/48 tunnels to AA.BB.CC.DD.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        return match classify_v4(embedded_v4(ip, 80)) {
            Reach::Global => Reach::Global,
            _ => Reach::Private,
        };
    }
    // Only 2000::/3 is global unicast; everything else (IPv4-compatible ::/96, discard-only
    // 100::/64, local-use NAT64 64:ff9b:1::/48, unique-local fc00::/7, link-local fe80::/10,
    // site-local fec0::/10, …) is not.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Reach::Private;
    }
    const SPECIAL: [([u16; 8], u32); 3] = [
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),     // IETF protocol assignments, incl. Teredo 2001::/32
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),     // documentation (RFC 9637)
    ];
    if SPECIAL.iter().any(|&(net, p)| in_v6(ip, net, p)) { Reach::Private } else { Reach::Global }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(s: &str) -> Reach {
        classify(s.parse().expect("test address"))
    }

    #[test]
    fn public_addresses_are_global() {
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "104.18.7.192",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::6810:85e5",
            "2a00:1450:4001:82b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(reach(a), Reach::Global, "{a}");
        }
    }

    #[test]
    fn non_global_addresses_need_the_private_flag() {
        for a in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "192.0.2.7",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "100::1",
        ] {
            assert_eq!(reach(a), Reach::Private, "{a}");
            assert!(reach(a).allowed(true) && !reach(a).allowed(false), "{a}");
        }
    }

    #[test]
    fn some_addresses_are_never_reachable() {
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::",
            "ff02::1",
            "fd00:ec2::254",
        ] {
            assert_eq!(reach(a), Reach::Never, "{a}");
            assert!(!reach(a).allowed(true), "{a}");
        }
    }

    #[test]
    fn platform_metadata_services_are_never_reachable_in_any_form() {
        for a in [
            "169.254.169.254",
            "169.254.170.2",
            "169.254.170.23",
            "169.254.0.23",
            "169.254.169.253",
            "168.63.129.16",
            "100.100.100.200",
            "192.0.0.192",
            "fd00:ec2::254",
            "fd00:ec2::23",
            // the same services behind IPv4-mapped and NAT64 embeddings
            "::ffff:168.63.129.16",
            "::ffff:100.100.100.200",
            "::ffff:192.0.0.192",
            "64:ff9b::a83f:8110",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert_eq!(reach(a), Reach::Never, "{a}");
            assert!(!reach(a).allowed(true), "{a}");
        }
        // their neighbours keep their ordinary class
        assert_eq!(reach("168.63.129.17"), Reach::Global);
        assert_eq!(reach("100.100.100.201"), Reach::Private);
        assert_eq!(reach("192.0.0.193"), Reach::Private);
        assert_eq!(reach("fd00:ec2::255"), Reach::Private);
    }
}
