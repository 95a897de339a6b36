# SPDX-License-Identifier: MIT
"""TSIG (RFC 8945): berth has no keys, so a query signed with any key gets
NOTAUTH with an unsigned TSIG record whose error is BADKEY (5.2, 5.3.2), in
its zone and for forwarded names alike, over UDP and TCP, with an OPT when the
query had one."""
import struct

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest

from conftest import parse_header, tcp_recv_msg, wire_records, write_zone

KEYRING = dns.tsigkeyring.from_text({"unknown-key.": "c2VjcmV0LXNlY3JldC1zZWNyZXQ="})


@pytest.fixture
def fwd(tmp_path, start_berth, dnsmasq):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--upstream", dnsmasq.addr)
    b.upstream = dnsmasq
    return b


def signed_query(name, edns):
    q = dns.message.make_query(name, "A", use_edns=0 if edns else False)
    q.use_tsig(KEYRING, keyname="unknown-key.", algorithm=dns.tsig.HMAC_SHA256)
    return q


def exchange(b, wire, tcp):
    if tcp:
        s = b.tcp_connect()
        try:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            return tcp_recv_msg(s)
        finally:
            s.close()
    return b.udp_raw(wire, timeout=2)


def records(raw):
    """(owner, type, rdata bytes) of every record after the question."""
    return [(owner, rtype, rd) for _, owner, rtype, _, rd in wire_records(raw)]


def tsig_rdata(raw):
    """(owner, algorithm, error, mac size, original id) of the TSIG record that
    ends raw."""
    owner, rtype, rd = records(raw)[-1]
    assert rtype == dns.rdatatype.TSIG, "the last record is not a TSIG"
    alg, n = dns.name.from_wire(rd, 0)
    mac_size = struct.unpack("!H", rd[n + 8:n + 10])[0]
    p = n + 10 + mac_size
    orig, error, other = struct.unpack("!HHH", rd[p:p + 6])
    assert other == 0 and p + 6 == len(rd)
    return owner.to_text(), alg.to_text(), error, mac_size, orig


def check_badkey(b, name, tcp, edns):
    q = signed_query(name, edns)
    wire = q.to_wire()
    raw = exchange(b, wire, tcp)
    assert raw is not None, "no answer to a signed query"
    h = parse_header(raw)
    assert h["id"] == q.id and h["qr"]
    assert h["rcode"] == dns.rcode.NOTAUTH, dns.rcode.to_text(h["rcode"])
    assert h["qd"] == 1 and h["an"] == 0
    assert h["ar"] == (2 if edns else 1)
    owner, alg, error, maclen, orig = tsig_rdata(raw)
    assert owner == "unknown-key."
    assert alg == "hmac-sha256."
    assert error == dns.rcode.BADKEY
    assert maclen == 0, "a BADKEY reply is never signed"
    assert orig == q.id
    opts = [r for r in records(raw) if r[1] == dns.rdatatype.OPT]
    assert len(opts) == (1 if edns else 0)
    # What a real client makes of it.
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.message.from_wire(raw, keyring=KEYRING, request_mac=q.mac)


@pytest.mark.parametrize("edns", [False, True])
def test_unknown_key_in_zone(zone, tcp, edns):
    check_badkey(zone, "alpha.docker", tcp, edns)
    # Unsigned queries still answered.
    assert zone.query("alpha.docker", "A", tcp=tcp).rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("edns", [False, True])
def test_unknown_key_forwarded(fwd, tcp, edns):
    name = "signed-%s-%d.example.test" % ("tcp" if tcp else "udp", edns)
    check_badkey(fwd, name, tcp, edns)
    # Never sent upstream: the key is berth's business, not the upstream's.
    assert not fwd.upstream.queried(name)
    r = fwd.query("plain.example.test", "A", tcp=tcp, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR
