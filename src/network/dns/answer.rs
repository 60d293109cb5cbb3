//! What the server makes of one query: an answer from the containers of the
//! networks it arrived for, or the verdict that it goes upstream. Bytes in,
//! bytes out; nothing here touches a socket.

use std::fmt::Write as _;
use std::net::IpAddr;

use simple_dns::rdata::{RData, A, AAAA, OPT, PTR};
use simple_dns::{
    Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, OPCODE, QCLASS, QTYPE, RCODE, TYPE,
};

use super::config::Entry;
use super::{DOMAIN, TTL};

/// The largest UDP answer offered to EDNS clients (the DNS flag day's
/// figure, which avoids IP fragmentation).
const EDNS_PAYLOAD: u16 = 1232;

/// What a query can see: the containers of the networks listening on the
/// address it arrived at, and whether those networks have resolvers.
#[derive(Debug, Default)]
pub(crate) struct Zone<'a> {
    pub entries: Vec<&'a Entry>,
    pub upstream: Upstream,
}

/// Whether names that are not the networks' can be forwarded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upstream {
    #[default]
    None,
    Some,
}

/// How the query came: over UDP the answer must fit the client's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Send the query to the resolvers (the caller relays their answer).
    Forward,
    /// Not a query: say nothing.
    Drop,
}

/// The answer to `query`.
pub(crate) fn answer(query: &[u8], zone: &Zone<'_>, transport: Transport) -> Outcome {
    // 12 bytes of header, and the QR bit clear: anything else is no query.
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return Outcome::Drop;
    }
    let Ok(packet) = Packet::parse(query) else {
        return Outcome::Reply(bare_reply(query, RCODE::FormatError));
    };
    if packet.opcode() != OPCODE::StandardQuery {
        return Outcome::Reply(bare_reply(query, RCODE::NotImplemented));
    }
    let [question] = &packet.questions[..] else {
        return Outcome::Reply(bare_reply(query, RCODE::FormatError));
    };
    let refuse_or_forward = || match zone.upstream {
        Upstream::Some => Outcome::Forward,
        Upstream::None => Outcome::Reply(fit(
            reply(&packet, question, zone, RCODE::Refused, &[]),
            &packet,
            question,
            zone,
            transport,
        )),
    };
    if !matches!(question.qclass, QCLASS::CLASS(CLASS::IN) | QCLASS::ANY) {
        return refuse_or_forward();
    }
    let qname = lowercase(&question.qname);
    let (name, in_domain) = match qname.strip_suffix(DOMAIN) {
        Some("") => ("", true),
        Some(rest) if rest.ends_with('.') => (&rest[..rest.len() - 1], true),
        _ => (qname.as_str(), false),
    };
    let records = if name.is_empty() && in_domain {
        // The domain itself: there, but holds nothing.
        Some(Vec::new())
    } else {
        let ptr = match question.qtype {
            QTYPE::TYPE(TYPE::PTR) => pointers(&qname, zone),
            _ => None,
        };
        ptr.or_else(|| addresses(name, question.qtype, zone))
    };
    let finish = |rcode, records: &[RData<'_>]| {
        Outcome::Reply(fit(
            reply(&packet, question, zone, rcode, records),
            &packet,
            question,
            zone,
            transport,
        ))
    };
    match records {
        Some(records) => finish(RCODE::NoError, &records),
        None if in_domain => finish(RCODE::NameError, &[]),
        None => refuse_or_forward(),
    }
}

/// A name in lower case, labels joined with dots, without the root's dot.
fn lowercase(name: &Name<'_>) -> String {
    let mut out = String::new();
    for (i, label) in name.as_bytes().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
    }
    out
}

/// The address records of the containers called `name`, or `None` when
/// no container of the zone has that name.
fn addresses(name: &str, qtype: QTYPE, zone: &Zone<'_>) -> Option<Vec<RData<'static>>> {
    let mut found = false;
    let mut records = Vec::new();
    let (want_a, want_aaaa) = match qtype {
        QTYPE::TYPE(TYPE::A) => (true, false),
        QTYPE::TYPE(TYPE::AAAA) => (false, true),
        QTYPE::ANY => (true, true),
        _ => (false, false),
    };
    for e in &zone.entries {
        if !e.names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        found = true;
        if let (true, Some(a)) = (want_a, e.v4) {
            records.push(RData::A(A::from(a)));
        }
        if let (true, Some(a)) = (want_aaaa, e.v6) {
            records.push(RData::AAAA(AAAA::from(a)));
        }
    }
    found.then_some(records)
}

/// The reverse name of an address: `4.3.2.1.in-addr.arpa`, or the
/// nibbles of an IPv6 address under `ip6.arpa`.
pub(crate) fn reverse_name(addr: IpAddr) -> String {
    let mut out = String::new();
    match addr {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            let _ = write!(out, "{d}.{c}.{b}.{a}.in-addr.arpa");
        }
        IpAddr::V6(a) => {
            for byte in a.octets().iter().rev() {
                let _ = write!(out, "{:x}.{:x}.", byte & 0xf, byte >> 4);
            }
            out.push_str("ip6.arpa");
        }
    }
    out
}

/// The names (under the domain) of the containers whose address `qname`
/// is the reverse name of, or `None` when it is no container's.
fn pointers(qname: &str, zone: &Zone<'_>) -> Option<Vec<RData<'static>>> {
    let mut records = Vec::new();
    for e in &zone.entries {
        let addrs = [e.v4.map(IpAddr::V4), e.v6.map(IpAddr::V6)];
        if !addrs.iter().flatten().any(|a| reverse_name(*a) == qname) {
            continue;
        }
        for n in &e.names {
            let Ok(name) = Name::new(&format!("{n}.{DOMAIN}")).map(Name::into_owned) else {
                continue;
            };
            records.push(RData::PTR(PTR(name)));
        }
    }
    (!records.is_empty()).then_some(records)
}

/// A full reply: the question, `records` for its name, EDNS when asked.
fn reply(
    query: &Packet<'_>,
    question: &Question<'_>,
    zone: &Zone<'_>,
    rcode: RCODE,
    records: &[RData<'_>],
) -> Packet<'static> {
    let mut out = Packet::new_reply(query.id());
    if query.has_flags(PacketFlag::RECURSION_DESIRED) {
        out.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    if zone.upstream == Upstream::Some {
        out.set_flags(PacketFlag::RECURSION_AVAILABLE);
    }
    if rcode != RCODE::Refused {
        out.set_flags(PacketFlag::AUTHORITATIVE_ANSWER);
    }
    *out.rcode_mut() = rcode;
    out.questions.push(question.clone().into_owned());
    for rdata in records {
        out.answers.push(ResourceRecord::new(
            question.qname.clone().into_owned(),
            CLASS::IN,
            TTL,
            rdata.clone().into_owned(),
        ));
    }
    if query.opt().is_some() {
        *out.opt_mut() = Some(OPT {
            opt_codes: Vec::new(),
            udp_packet_size: EDNS_PAYLOAD,
            version: 0,
        });
    }
    out
}

/// The reply's bytes; over UDP, one too large for the client is sent with
/// its question only and the TC flag, which makes the client ask over TCP.
fn fit(
    mut out: Packet<'_>,
    query: &Packet<'_>,
    question: &Question<'_>,
    zone: &Zone<'_>,
    transport: Transport,
) -> Vec<u8> {
    let limit = match (transport, query.opt()) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(opt)) => usize::from(opt.udp_packet_size.clamp(512, EDNS_PAYLOAD)),
    };
    let bytes = out.build_bytes_vec_compressed().unwrap_or_default();
    if !bytes.is_empty() && bytes.len() <= limit {
        return bytes;
    }
    out = reply(query, question, zone, out.rcode(), &[]);
    out.set_flags(PacketFlag::TRUNCATION);
    out.build_bytes_vec_compressed()
        .unwrap_or_else(|_| bare_reply_to(query.id(), RCODE::ServerFailure))
}

/// A reply of a header only, for a query that could not be read whole.
fn bare_reply(query: &[u8], rcode: RCODE) -> Vec<u8> {
    let mut out = bare_reply_to(u16::from_be_bytes([query[0], query[1]]), rcode);
    // Keep the opcode and RD bit of the query.
    out[2] = 0x80 | (query[2] & 0x79);
    out
}

fn bare_reply_to(id: u16, rcode: RCODE) -> Vec<u8> {
    let mut out = vec![0u8; 12];
    out[..2].copy_from_slice(&id.to_be_bytes());
    out[2] = 0x80;
    out[3] = rcode as u8 & 0x0f;
    out
}

/// A SERVFAIL answer to `query` (the resolvers did not answer).
pub(crate) fn server_failure(query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let Ok(packet) = Packet::parse(query) else {
        return Some(bare_reply(query, RCODE::ServerFailure));
    };
    let mut out = Packet::new_reply(packet.id());
    if packet.has_flags(PacketFlag::RECURSION_DESIRED) {
        out.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    out.set_flags(PacketFlag::RECURSION_AVAILABLE);
    *out.rcode_mut() = RCODE::ServerFailure;
    out.questions = packet.questions.clone();
    out.build_bytes_vec_compressed().ok()
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn entry(id: &str, v4: Option<&str>, v6: Option<&str>, names: &[&str]) -> Entry {
        Entry {
            id: id.to_string(),
            v4: v4.map(|a| a.parse().expect("test address")),
            v6: v6.map(|a| a.parse().expect("test address")),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn query(name: &str, qtype: QTYPE, edns: bool) -> Vec<u8> {
        let mut p = Packet::new_query(0x1234);
        p.set_flags(PacketFlag::RECURSION_DESIRED);
        p.questions.push(Question::new(
            Name::new_unchecked(name),
            qtype,
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        if edns {
            *p.opt_mut() = Some(OPT {
                opt_codes: Vec::new(),
                udp_packet_size: 4096,
                version: 0,
            });
        }
        p.build_bytes_vec().expect("query bytes")
    }

    /// The rcode and the addresses or names of an answer.
    fn ask(zone: &Zone<'_>, name: &str, qtype: TYPE) -> (RCODE, Vec<String>) {
        let Outcome::Reply(bytes) = answer(
            &query(name, QTYPE::TYPE(qtype), false),
            zone,
            Transport::Udp,
        ) else {
            panic!("no reply to {name}");
        };
        let p = Packet::parse(&bytes).expect("reply parses");
        assert_eq!(p.id(), 0x1234);
        assert!(p.has_flags(PacketFlag::RESPONSE | PacketFlag::RECURSION_DESIRED));
        assert_eq!(p.questions.len(), 1);
        let data = p
            .answers
            .iter()
            .map(|rr| {
                assert_eq!(rr.ttl, TTL);
                assert_eq!(rr.name.to_string(), name);
                match &rr.rdata {
                    RData::A(a) => Ipv4Addr::from(a.clone()).to_string(),
                    RData::AAAA(a) => Ipv6Addr::from(a.clone()).to_string(),
                    RData::PTR(n) => n.0.to_string(),
                    other => panic!("unexpected record {other:?}"),
                }
            })
            .collect();
        (p.rcode(), data)
    }

    fn zone(entries: &[Entry], upstream: Upstream) -> Zone<'_> {
        Zone {
            entries: entries.iter().collect(),
            upstream,
        }
    }

    #[test]
    fn names_answer_bare_and_under_the_domain_in_any_case() {
        let entries = [
            entry("a", Some("10.89.0.2"), Some("fd00::2"), &["web", "www"]),
            entry("b", Some("10.89.0.3"), None, &["db"]),
        ];
        let z = zone(&entries, Upstream::None);
        let ok = |v: &[&str]| (RCODE::NoError, v.iter().map(|s| s.to_string()).collect());
        assert_eq!(ask(&z, "web", TYPE::A), ok(&["10.89.0.2"]));
        assert_eq!(ask(&z, "WWW.dns.podman", TYPE::A), ok(&["10.89.0.2"]));
        assert_eq!(ask(&z, "Web.DNS.Podman", TYPE::AAAA), ok(&["fd00::2"]));
        assert_eq!(ask(&z, "db", TYPE::A), ok(&["10.89.0.3"]));
        // A name without a record of the type: there, but empty.
        assert_eq!(ask(&z, "db", TYPE::AAAA), ok(&[]));
        assert_eq!(ask(&z, "db.dns.podman", TYPE::MX), ok(&[]));
        assert_eq!(ask(&z, "dns.podman", TYPE::A), ok(&[]));
        // Under the domain, a name of no container does not exist.
        assert_eq!(ask(&z, "cache.dns.podman", TYPE::A).0, RCODE::NameError);
        // Anything else is not the server's to answer.
        assert_eq!(ask(&z, "cache", TYPE::A).0, RCODE::Refused);
        assert_eq!(ask(&z, "example.org", TYPE::A).0, RCODE::Refused);
        assert_eq!(ask(&z, "webdns.podman", TYPE::A).0, RCODE::Refused);
    }

    #[test]
    fn containers_sharing_an_alias_all_answer() {
        let entries = [
            entry("a", Some("10.89.0.2"), None, &["a", "pool"]),
            entry("b", Some("10.89.0.3"), None, &["b", "pool"]),
        ];
        let (rcode, addrs) = ask(&zone(&entries, Upstream::None), "pool", TYPE::A);
        assert_eq!(rcode, RCODE::NoError);
        assert_eq!(addrs, ["10.89.0.2", "10.89.0.3"]);
    }

    #[test]
    fn addresses_point_back_to_names_under_the_domain() {
        let entries = [entry(
            "a",
            Some("10.89.0.2"),
            Some("fd00::2"),
            &["web", "www"],
        )];
        let z = zone(&entries, Upstream::None);
        assert_eq!(
            reverse_name("fd00::2".parse().expect("test address")),
            "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"
        );
        let names = |v: &[&str]| (RCODE::NoError, v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            ask(&z, "2.0.89.10.in-addr.arpa", TYPE::PTR),
            names(&["web.dns.podman", "www.dns.podman"])
        );
        let v6 = reverse_name("fd00::2".parse().expect("test address")).to_uppercase();
        assert_eq!(
            ask(&z, &v6, TYPE::PTR).1,
            ["web.dns.podman", "www.dns.podman"]
        );
        assert_eq!(
            ask(&z, "3.0.89.10.in-addr.arpa", TYPE::PTR).0,
            RCODE::Refused
        );
        // A container's own name has no PTR record.
        assert_eq!(ask(&z, "web", TYPE::PTR), names(&[]));
    }

    #[test]
    fn other_names_go_upstream_when_there_is_one() {
        let entries = [entry("a", Some("10.89.0.2"), None, &["web"])];
        let z = zone(&entries, Upstream::Some);
        let q = |name| {
            answer(
                &query(name, QTYPE::TYPE(TYPE::A), false),
                &z,
                Transport::Udp,
            )
        };
        assert_eq!(q("example.org"), Outcome::Forward);
        assert_eq!(q("3.0.89.10.in-addr.arpa"), Outcome::Forward);
        assert!(matches!(q("web"), Outcome::Reply(_)));
        // The domain is the server's own: never forwarded.
        assert!(matches!(q("nope.dns.podman"), Outcome::Reply(_)));
        let (_, with_ra) = ask(&z, "web", TYPE::A);
        assert_eq!(with_ra, ["10.89.0.2"]);
    }

    #[test]
    fn malformed_queries_get_formerr_and_answers_are_ignored() {
        let z = Zone::default();
        assert_eq!(answer(&[0; 5], &z, Transport::Udp), Outcome::Drop);
        let mut junk = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        junk.extend_from_slice(&[0x3f, b'x']);
        let Outcome::Reply(r) = answer(&junk, &z, Transport::Udp) else {
            panic!("no reply to a malformed query");
        };
        assert_eq!(r, [0xab, 0xcd, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut reply = query("web", QTYPE::TYPE(TYPE::A), false);
        reply[2] |= 0x80;
        assert_eq!(answer(&reply, &z, Transport::Udp), Outcome::Drop);
    }

    #[test]
    fn answers_too_large_for_udp_are_truncated() {
        let entries: Vec<Entry> = (0..40)
            .map(|i| {
                entry(
                    &format!("c{i}"),
                    Some(&format!("10.89.0.{i}")),
                    None,
                    &["pool"],
                )
            })
            .collect();
        let z = zone(&entries, Upstream::None);
        let bytes = |edns, transport| match answer(
            &query("pool", QTYPE::TYPE(TYPE::A), edns),
            &z,
            transport,
        ) {
            Outcome::Reply(b) => b,
            other => panic!("{other:?}"),
        };
        let small = bytes(false, Transport::Udp);
        let p = Packet::parse(&small).expect("reply parses");
        assert!(p.has_flags(PacketFlag::TRUNCATION));
        assert!(p.answers.is_empty());
        for (edns, transport) in [(true, Transport::Udp), (false, Transport::Tcp)] {
            let full = bytes(edns, transport);
            let p = Packet::parse(&full).expect("reply parses");
            assert!(!p.has_flags(PacketFlag::TRUNCATION));
            assert_eq!(p.answers.len(), 40);
            assert_eq!(p.opt().is_some(), edns);
        }
    }

    /// Queries come from any process on the network: mangled ones (bytes
    /// flipped, cut, compression pointers anywhere) never panic the server.
    #[test]
    fn mangled_queries_never_panic() {
        let entries = [entry("a", Some("10.89.0.2"), Some("fd00::2"), &["web"])];
        let z = zone(&entries, Upstream::Some);
        let seeds = [
            query("web.dns.podman", QTYPE::TYPE(TYPE::A), true),
            query("2.0.89.10.in-addr.arpa", QTYPE::TYPE(TYPE::PTR), false),
            query("example.org", QTYPE::ANY, true),
        ];
        // xorshift: the same cases on every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..30_000 {
            let mut q = seeds[round % seeds.len()].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % q.len();
                match next() % 4 {
                    0 => q[at] = next() as u8,
                    1 => q[at] = 0xc0 | (next() as u8 & 0x3f),
                    2 => q.truncate(at.max(1)),
                    _ => q.insert(at, next() as u8),
                }
            }
            for transport in [Transport::Udp, Transport::Tcp] {
                let _ = answer(&q, &z, transport);
            }
            let _ = server_failure(&q);
        }
    }
}
