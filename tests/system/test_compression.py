# SPDX-License-Identifier: MIT
"""Smaller wire answers: names inside RDATA compressed where RFC 3597 allows it
(NS, CNAME, PTR, MX, SOA; never SRV targets), and the address of ns.<domain>
as glue in the additional section of NS answers. Checked on the bytes, and
the answers still mean what they meant."""
import dns.message
import dns.name
import dns.rdatatype
import pytest

from conftest import wire_records, write_zone


@pytest.fixture(scope="module")
def z(tmp_path_factory, request):
    from conftest import _report, _start
    root = tmp_path_factory.mktemp("compr")
    hd, rec = write_zone(root)
    ptrs = root / "ptrs.conf"
    ptrs.write_text("ptr-record=90.2.0.192.in-addr.arpa,p1.rev.docker\n"
                    "ptr-record=90.2.0.192.in-addr.arpa,p2.rev.docker\n")
    b = _start(root, ["--hosts-dir", str(hd), "--records", str(rec), "--records", str(ptrs),
                      "--host-ip", "192.0.2.53"], None, True)
    yield b
    assert not _report([b])


def ask(b, name, rdtype, tcp=False):
    q = dns.message.make_query(name, rdtype, use_edns=0)
    raw = b.udp_raw(q.to_wire(), timeout=2) if not tcp else None
    if tcp:
        from conftest import tcp_recv_msg
        import struct
        s = b.tcp_connect()
        try:
            w = q.to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            raw = tcp_recv_msg(s)
        finally:
            s.close()
    assert raw is not None
    return raw, dns.message.from_wire(raw)


def rdata_of(raw, rtype, section="answer"):
    return [(off, rd) for sec, _, t, off, rd in wire_records(raw) if t == rtype and sec == section]


def has_pointer(rd, skip=0):
    """Does the name at rd[skip:] end in a compression pointer?"""
    i = skip
    while i < len(rd):
        if rd[i] & 0xC0 == 0xC0:
            return True
        if rd[i] == 0:
            return False
        i += rd[i] + 1
    return False


def test_ns_target_compressed_and_glue(z, tcp):
    raw, r = ask(z, "docker", "NS", tcp)
    (off, rd), = rdata_of(raw, dns.rdatatype.NS)
    assert rd == b"\x02ns\xc0\x0c", rd  # "ns" + a pointer to the question's "docker"
    assert [rd.to_text() for rs in r.answer for rd in rs] == ["ns.docker."]
    glue = [rs for rs in r.additional if rs.rdtype == dns.rdatatype.A]
    assert glue and glue[0].name == dns.name.from_text("ns.docker."), r.additional
    assert [rd.to_text() for rd in glue[0]] == ["192.0.2.53"]
    # The glue's owner points at the NS target in the answer.
    (_, owner, _, goff, _), = [x for x in wire_records(raw) if x[0] == "additional"
                                and x[2] == dns.rdatatype.A]
    assert raw[goff - 12:goff - 10] == bytes([0xC0 | (off >> 8), off & 0xFF])


def test_cname_mx_soa_ptr_compressed(z):
    raw, r = ask(z, "cn.docker", "A")
    (_, rd), = rdata_of(raw, dns.rdatatype.CNAME)
    assert len(rd) == 8 and has_pointer(rd), rd  # "alpha" + pointer
    assert [x.to_text() for rs in r.answer for x in rs] == ["alpha.docker.", "192.0.2.10"]
    raw, r = ask(z, "mail.docker", "MX")
    (_, rd), = rdata_of(raw, dns.rdatatype.MX)
    assert len(rd) == 2 + 4 + 2 and has_pointer(rd, 2), rd
    assert r.answer[0][0].exchange == dns.name.from_text("mx1.docker.")
    raw, r = ask(z, "nope.docker", "A")
    (_, rd), = rdata_of(raw, dns.rdatatype.SOA, "authority")
    assert has_pointer(rd) and len(rd) == 5 + 13 + 20, rd
    soa = r.authority[0][0]
    assert soa.mname == dns.name.from_text("ns.docker.")
    assert soa.rname == dns.name.from_text("hostmaster.docker.")
    # Two PTRs to names in one zone: the second points into the first.
    raw, r = ask(z, "90.2.0.192.in-addr.arpa", "PTR")
    rds = [rd for _, rd in rdata_of(raw, dns.rdatatype.PTR)]
    assert len(rds) == 2 and sum(has_pointer(rd) for rd in rds) == 1, rds
    assert sorted(x.to_text() for rs in r.answer for x in rs) == ["p1.rev.docker.",
                                                                  "p2.rev.docker."]


def test_srv_target_not_compressed(z):
    raw, r = ask(z, "_http._tcp.web.docker", "SRV")
    (_, rd), = rdata_of(raw, dns.rdatatype.SRV)
    assert rd[6:] == b"\x05alpha\x06docker\x00", rd
    assert r.answer[0][0].target == dns.name.from_text("alpha.docker.")


def test_any_at_apex_still_parses(z, tcp):
    raw, r = ask(z, "docker", "ANY", tcp)
    types = {rs.rdtype for rs in r.answer}
    assert {dns.rdatatype.NS, dns.rdatatype.SOA} <= types
    assert len(raw) < 120
