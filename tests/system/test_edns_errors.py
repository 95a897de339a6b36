# SPDX-License-Identifier: MIT
"""RFC 6891 6.1.1: every reply to a query that carries an OPT carries one too,
errors included (NOTIMP, FORMERR for well-formed EDNS queries, REFUSED,
SERVFAIL), over UDP and TCP, in berth's zone and for forwarded names; a query
without an OPT never gets one. Checked on the bytes of the reply."""
import socket
import struct
import threading

import dns.message
import dns.rcode
import pytest

from conftest import LOOP4, parse_header, raw_header, tcp_recv_msg, wire_name, write_zone


def opt_rr(payload=1232, do=False):
    return b"\x00" + struct.pack("!HHIH", 41, payload, 0x8000 if do else 0, 0)


def query(name, qtype=1, qclass=1, qd=1, edns=True, do=False, opcode=0, qid=0x4242):
    flags = 0x0100 | (opcode << 11)
    q = raw_header(qid, flags, qd=qd, ar=1 if edns else 0)
    if qd:
        q += wire_name(name) + struct.pack("!HH", qtype, qclass)
    return q + (opt_rr(do=do) if edns else b"")


def exchange(b, data, tcp):
    if tcp:
        s = b.tcp_connect()
        try:
            s.sendall(struct.pack("!H", len(data)) + data)
            raw = tcp_recv_msg(s)
        finally:
            s.close()
    else:
        raw = b.udp_raw(data, timeout=2.0)
    assert raw is not None, "no answer"
    return raw


def opt_of(raw):
    """The OPT record at the end of raw (berth writes it last), as
    (payload, ext_rcode, version, do, rdata), or None when ARCOUNT is 0."""
    h = parse_header(raw)
    if h["ar"] == 0:
        return None
    # Parsed by dnspython too: the whole reply must be well-formed.
    m = dns.message.from_wire(raw, raise_on_truncation=False)
    assert m.edns == 0, "ARCOUNT %d but no OPT" % h["ar"]
    rdlen = struct.unpack("!H", raw[-2:])[0] if m.options == [] else None
    if rdlen is not None:
        tail = raw[-11:]
        assert tail[0] == 0 and struct.unpack("!H", tail[1:3])[0] == 41, "OPT not last"
    return m.payload, (m.ednsflags >> 24) & 0xff, (m.ednsflags >> 16) & 0xff, \
        bool(m.ednsflags & 0x8000), m.options


def expect(b, data, rcode, tcp, edns=True, do=False, qid=0x4242, payload=1232):
    raw = exchange(b, data, tcp)
    h = parse_header(raw)
    assert h["qr"] and h["id"] == qid
    assert h["rcode"] == rcode, "rcode %s, want %s" % (dns.rcode.to_text(h["rcode"]),
                                                    dns.rcode.to_text(rcode))
    o = opt_of(raw)
    if not edns:
        assert o is None, "OPT in the reply to a query without one"
        return raw
    assert o is not None, "no OPT in the %s reply to a query with an OPT" % \
        dns.rcode.to_text(rcode)
    got, ext, version, do_bit, _ = o
    assert payload is None or got == payload, "OPT advertises %d" % got
    assert ext == 0 and version == 0
    assert do is None or do_bit == do, "DO not echoed"
    assert h["ar"] == 1
    return raw


ZONE_ERRORS = {
    # kind: (query bytes given edns/do, rcode)
    "notimp_status": (lambda e, d: query("alpha.docker", opcode=2, edns=e, do=d), 4),
    "notimp_notify": (lambda e, d: query("alpha.docker", 6, opcode=4, edns=e, do=d), 4),
    "notimp_update": (lambda e, d: query("docker", 6, opcode=5, edns=e, do=d), 4),
    "formerr_no_question": (lambda e, d: query("", qd=0, edns=e, do=d), 1),
    "formerr_type0": (lambda e, d: query("alpha.docker", 0, edns=e, do=d), 1),
    "formerr_qtype_opt": (lambda e, d: query("alpha.docker", 41, edns=e, do=d), 1),
    "refused_chaos": (lambda e, d: query("version.bind", 16, qclass=3, edns=e, do=d), 5),
    "refused_axfr": (lambda e, d: query("docker", 252, edns=e, do=d), 5),
    "refused_not_ours": (lambda e, d: query("www.example.test", edns=e, do=d), 5),
}


@pytest.mark.parametrize("kind", sorted(ZONE_ERRORS))
@pytest.mark.parametrize("do", [False, True])
def test_error_reply_carries_opt(zone, tcp, kind, do):
    make, rcode = ZONE_ERRORS[kind]
    expect(zone, make(True, do), rcode, tcp, do=do)


@pytest.mark.parametrize("kind", sorted(ZONE_ERRORS))
def test_error_reply_without_opt_has_none(zone, tcp, kind):
    make, rcode = ZONE_ERRORS[kind]
    expect(zone, make(False, False), rcode, tcp, edns=False)


def test_servfail_in_zone_carries_opt(start_berth, tmp_path, tcp):
    # --miss servfail: an unknown name in the zone gets SERVFAIL.
    hd, _ = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--miss", "servfail")
    expect(b, query("nope.docker", do=True), 2, tcp, do=True)
    expect(b, query("nope.docker", edns=False), 2, tcp, edns=False)


class FailingUpstream:
    """A loopback UDP server that answers every query with SERVFAIL at once."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOP4, 0))
        self.sock.settimeout(0.2)
        self.addr = "%s:%d" % self.sock.getsockname()
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            r = dns.message.make_response(dns.message.from_wire(data))
            r.set_rcode(dns.rcode.SERVFAIL)
            self.sock.sendto(r.to_wire(), peer)

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def failing_upstream():
    u = FailingUpstream()
    yield u
    u.stop()


def test_forwarded_errors_carry_opt(start_berth, dnsmasq, failing_upstream, tcp):
    b = start_berth("--upstream", failing_upstream.addr)
    expect(b, query("gone.example.test", do=True), 2, tcp, do=True)
    expect(b, query("gone2.example.test", edns=False), 2, tcp, edns=False)
    # dnsmasq's NXDOMAIN for nx.test passed on.
    f = start_berth("--upstream", dnsmasq.addr)
    expect(f, query("a.nx.test"), 3, tcp)
    expect(f, query("b.nx.test", edns=False), 3, tcp, edns=False)
    # A forwarded name asked with another class is refused, with an OPT.
    expect(f, query("www.example.test", 1, qclass=3), 5, tcp)
