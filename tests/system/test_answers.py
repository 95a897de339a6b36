# SPDX-License-Identifier: MIT
"""Authoritative answers from static sources: every record type, AA, NXDOMAIN
vs NODATA with the SOA, --miss servfail, rotation, case, compression.
Each test runs over UDP and over TCP (the `tcp` fixture)."""
import struct

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest

from conftest import (HUGE_ADDRS, MANY_ADDRS, RR_ADDRS, answer_texts, rrsets, soa_of,
                      tcp_recv_msg, write_zone)

NOERROR, NXDOMAIN, SERVFAIL, REFUSED = (dns.rcode.NOERROR, dns.rcode.NXDOMAIN,
                                        dns.rcode.SERVFAIL, dns.rcode.REFUSED)


def aa(msg):
    return bool(msg.flags & dns.flags.AA)


def check_answer(r, rcode=NOERROR):
    assert r.rcode() == rcode, dns.rcode.to_text(r.rcode())
    assert r.flags & dns.flags.QR
    assert aa(r), "AA not set"


# ---------------------------------------------------------------- positive answers

def test_a(zone, tcp):
    r = zone.query("alpha.docker", "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "A") == ["192.0.2.10"]
    assert r.answer[0].ttl == 10  # --ttl default


def test_alias_from_same_line(zone, tcp):
    r = zone.query("alpha-alias.docker", "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "A") == ["192.0.2.10"]


def test_aaaa(zone, tcp):
    r = zone.query("alpha6.docker", "AAAA", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "AAAA") == ["2001:db8::10"]


def test_a_and_aaaa_same_name(zone, tcp):
    r4 = zone.query("dual.docker", "A", tcp=tcp)
    r6 = zone.query("dual.docker", "AAAA", tcp=tcp)
    check_answer(r4)
    check_answer(r6)
    assert answer_texts(r4, "A") == ["192.0.2.11"]
    assert answer_texts(r6, "AAAA") == ["2001:db8::11"]


@pytest.mark.parametrize("addr,target", [
    ("192.0.2.10", "alpha.docker."),          # hosts: the line's first name
    ("2001:db8::10", "alpha6.docker."),       # hosts, IPv6
    ("192.0.2.11", "dual.docker."),
    ("2001:db8::11", "dual.docker."),
    ("192.0.2.30", "rec.docker."),            # records: host-record=
    ("2001:db8::30", "rec.docker."),
    ("192.0.2.40", "pointer.docker."),        # records: ptr-record=
    ("10.1.0.17", "many.docker."),
    ("192.0.2.20", "host.example.test."),     # a name outside the domain
])
def test_ptr(zone, tcp, addr, target):
    rev = dns.reversename.from_address(addr)
    r = zone.query(rev, "PTR", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "PTR") == [target]


def test_ptr_unknown_address_not_answered_with_data(zone, tcp):
    rev = dns.reversename.from_address("192.0.2.222")
    r = zone.query(rev, "PTR", tcp=tcp)
    # Not berth's: REFUSED with --upstream none (or NXDOMAIN if berth claims the
    # reverse zone); never an answer.
    assert r.rcode() in (REFUSED, NXDOMAIN)
    assert not r.answer


def test_txt(zone, tcp):
    r = zone.query("txt.docker", "TXT", tcp=tcp)
    check_answer(r)
    rds = list(r.answer[0])
    assert len(rds) == 1 and rds[0].strings == (b"hello world",)


def test_txt_several_strings_in_one_record(zone, tcp):
    r = zone.query("multi.docker", "TXT", tcp=tcp)
    check_answer(r)
    rds = list(r.answer[0])
    assert len(rds) == 1 and rds[0].strings == (b"first", b"second")


def test_srv(zone, tcp):
    r = zone.query("_http._tcp.web.docker", "SRV", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "SRV") == ["10 20 8080 alpha.docker."]


def test_cname_query_type_cname(zone, tcp):
    r = zone.query("cn.docker", "CNAME", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "CNAME") == ["alpha.docker."]


def test_cname_followed_for_a(zone, tcp):
    # As dnsmasq does (and RFC 1034 4.3.2): the CNAME, then the target's A,
    # since berth is authoritative for the target too.
    r = zone.query("cn.docker", "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "CNAME") == ["alpha.docker."]
    a = rrsets(r, "A")
    assert a and a[0].name == dns.name.from_text("alpha.docker.")
    assert answer_texts(r, "A") == ["192.0.2.10"]
    assert r.answer[0].rdtype == dns.rdatatype.CNAME, "CNAME must come first"


def test_mx(zone, tcp):
    r = zone.query("mail.docker", "MX", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "MX") == ["10 mx1.docker."]


def test_soa_at_apex(zone, tcp):
    r = zone.query("docker.", "SOA", tcp=tcp)
    check_answer(r)
    soa = rrsets(r, "SOA")
    assert len(soa) == 1 and len(soa[0]) == 1
    assert soa[0].name == dns.name.from_text("docker.")
    rd = soa[0][0]
    assert rd.mname == dns.name.from_text("ns.docker.")
    assert rd.minimum == 5  # --negative-ttl default


def test_ns_at_apex(zone, tcp):
    r = zone.query("docker.", "NS", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "NS") == ["ns.docker."]


def test_outside_name_from_hosts_is_authoritative(zone, tcp):
    # An exact name from a static source outside the domain: answered, AA.
    r = zone.query("host.example.test", "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "A") == ["192.0.2.20"]


def test_several_records_all_returned(zone, tcp):
    r = zone.query("rr.docker", "A", tcp=tcp)
    check_answer(r)
    assert sorted(answer_texts(r, "A")) == sorted(RR_ADDRS)


def test_large_rrset_over_tcp(zone):
    r = zone.query("huge.docker", "A", tcp=True)
    check_answer(r)
    assert sorted(answer_texts(r, "A")) == sorted(HUGE_ADDRS)


# ---------------------------------------------------------------- rotation

def test_rotation(zone, tcp):
    orders = set()
    for _ in range(16):
        r = zone.query("rr.docker", "A", tcp=tcp)
        got = answer_texts(r, "A")
        assert sorted(got) == sorted(RR_ADDRS), "every record in every answer"
        orders.add(tuple(got))
    assert len(orders) > 1, "order never changed over 16 answers: %r" % orders


# ---------------------------------------------------------------- case

@pytest.mark.parametrize("qname", ["AlPhA.DoCkEr.", "ALPHA.DOCKER.", "alpha.Docker."])
def test_case_insensitive_and_case_kept(zone, tcp, qname):
    r = zone.query(qname, "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "A") == ["192.0.2.10"]
    want = dns.name.from_text(qname).labels
    assert r.question[0].name.labels == want, "question case changed"
    assert r.answer[0].name.labels == want, "answer owner lost the question's case"


def test_case_insensitive_ptr(zone, tcp):
    r = zone.query("10.2.0.192.IN-ADDR.ARPA.", "PTR", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "PTR") == ["alpha.docker."]


# ---------------------------------------------------------------- compression

def test_name_compression(zone):
    # 60 A records for many.docker.: compressed, each RR is 16 bytes on the
    # wire; uncompressed, 27. Measure berth's own bytes, not dnspython's.
    q = zone.make("many.docker", "A")
    data = q.to_wire()
    s = zone.tcp_connect()
    try:
        s.sendall(struct.pack("!H", len(data)) + data)
        raw = tcp_recv_msg(s)
    finally:
        s.close()
    assert raw is not None, "no answer over TCP"
    r = dns.message.from_wire(raw)
    assert sorted(answer_texts(r, "A")) == sorted(MANY_ADDRS)
    assert len(raw) < 12 + 17 + 60 * 20, "answer of %d bytes: names not compressed" % len(raw)


# ---------------------------------------------------------------- negative answers

def check_negative(zone, r, rcode, tcp):
    assert r.rcode() == rcode, dns.rcode.to_text(r.rcode())
    assert aa(r), "AA not set on a negative answer"
    assert not r.answer, "negative answer carries records: %r" % r.answer
    soa = soa_of(r)
    assert soa is not None, "no SOA in the authority section"
    assert soa.name == dns.name.from_text("docker.")
    apex = zone.query("docker.", "SOA", tcp=tcp)
    apex_soa = rrsets(apex, "SOA")[0]
    want = min(apex_soa.ttl, apex_soa[0].minimum)
    assert soa.ttl == want, "negative TTL %d, want min(SOA TTL, minimum) = %d" % (soa.ttl, want)


def test_nxdomain(zone, tcp):
    r = zone.query("does-not-exist.docker", "A", tcp=tcp)
    check_negative(zone, r, NXDOMAIN, tcp)


def test_nxdomain_deep(zone, tcp):
    r = zone.query("a.b.c.does-not-exist.docker", "AAAA", tcp=tcp)
    check_negative(zone, r, NXDOMAIN, tcp)


def test_nodata_aaaa_for_a_only_name(zone, tcp):
    r = zone.query("alpha.docker", "AAAA", tcp=tcp)
    check_negative(zone, r, NOERROR, tcp)


def test_nodata_a_for_aaaa_only_name(zone, tcp):
    r = zone.query("alpha6.docker", "A", tcp=tcp)
    check_negative(zone, r, NOERROR, tcp)


@pytest.mark.parametrize("qtype", ["TXT", "MX", "SRV"])
def test_nodata_other_types(zone, tcp, qtype):
    r = zone.query("alpha.docker", qtype, tcp=tcp)
    check_negative(zone, r, NOERROR, tcp)


def test_nodata_at_apex(zone, tcp):
    r = zone.query("docker.", "A", tcp=tcp)
    check_negative(zone, r, NOERROR, tcp)


def test_empty_non_terminal_in_domain(zone, tcp):
    # leaf.branch.docker exists, so branch.docker exists without records: NODATA.
    r = zone.query("branch.docker", "A", tcp=tcp)
    check_negative(zone, r, NOERROR, tcp)


def test_parent_of_owned_name_outside_domain_is_not_claimed(zone, tcp):
    # containers.docker.will-desktop exists (the seed's TXT), but berth owns
    # only that exact name outside its domain: docker.will-desktop belongs to
    # whoever serves will-desktop, so it is forwarded (here: none, REFUSED),
    # never answered NXDOMAIN or NODATA in berth's name.
    r = zone.query("docker.will-desktop", "TXT", tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED, dns.rcode.to_text(r.rcode())
    assert not r.flags & dns.flags.AA


def test_negative_ttl_option(start_berth, tmp_path, tcp):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--negative-ttl", "3", "--ttl", "30")
    r = b.query("nope.docker", "A", tcp=tcp)
    assert r.rcode() == NXDOMAIN
    soa = soa_of(r)
    assert soa is not None and soa[0].minimum == 3 and soa.ttl == 3
    r = b.query("alpha.docker", "A", tcp=tcp)
    assert r.answer[0].ttl == 30
    r = b.query("alpha.docker", "AAAA", tcp=tcp)
    assert r.rcode() == NOERROR and not r.answer and soa_of(r).ttl == 3


# ---------------------------------------------------------------- --miss servfail

def test_miss_servfail(start_berth, tmp_path, tcp):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--miss", "servfail")
    r = b.query("does-not-exist.docker", "A", tcp=tcp)
    assert r.rcode() == SERVFAIL, dns.rcode.to_text(r.rcode())
    assert not r.answer
    # Existing names and NODATA are unchanged.
    r = b.query("alpha.docker", "A", tcp=tcp)
    assert r.rcode() == NOERROR and answer_texts(r, "A") == ["192.0.2.10"]
    r = b.query("alpha.docker", "AAAA", tcp=tcp)
    assert r.rcode() == NOERROR and not r.answer


def test_miss_nxdomain_explicit(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--miss", "nxdomain")
    assert b.query("does-not-exist.docker", "A").rcode() == NXDOMAIN


# ---------------------------------------------------------------- --domain

def test_other_domain(start_berth, tmp_path, tcp):
    d = tmp_path / "h"
    d.mkdir()
    (d / "f").write_text("192.0.2.77 web.corp.internal\n")
    b = start_berth("--hosts-dir", str(d), "--domain", "corp.internal", domain="corp.internal")
    r = b.query("corp.internal.", "SOA", tcp=tcp)
    check_answer(r)
    assert rrsets(r, "SOA")[0].name == dns.name.from_text("corp.internal.")
    r = b.query("web.corp.internal", "A", tcp=tcp)
    check_answer(r)
    assert answer_texts(r, "A") == ["192.0.2.77"]
    r = b.query("nope.corp.internal", "A", tcp=tcp)
    assert r.rcode() == NXDOMAIN
    assert soa_of(r).name == dns.name.from_text("corp.internal.")
    # docker. is no longer berth's: with --upstream none, REFUSED.
    r = b.query("anything.docker", "A", tcp=tcp)
    assert r.rcode() == REFUSED

