# SPDX-License-Identifier: MIT
"""The wire protocol: EDNS0 (OPT echo, UDP size, truncation), TCP (full answers,
pipelining, split writes, idle timeout), FORMERR, NOTIMP, QR-set drops."""
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest

from conftest import (HUGE_ADDRS, MANY_ADDRS, answer_texts, parse_header, raw_header,
                      raw_query, tcp_recv_msg, wire_name, write_zone)


def udp_wire(zone, q, timeout=2.0):
    """Send q over UDP, return (raw bytes, parsed message)."""
    raw = zone.udp_raw(q.to_wire(), timeout=timeout)
    assert raw is not None, "no UDP answer"
    return raw, dns.message.from_wire(raw, raise_on_truncation=False)


# ---------------------------------------------------------------- EDNS

def test_edns_opt_echoed(zone, tcp):
    r = zone.query("alpha.docker", "A", tcp=tcp, edns=0, payload=1232)
    assert r.edns == 0, "no OPT record in the answer to an EDNS query"
    assert r.rcode() == dns.rcode.NOERROR


def test_no_edns_no_opt(zone, tcp):
    r = zone.query("alpha.docker", "A", tcp=tcp)
    assert r.edns == -1, "OPT in the answer to a query without EDNS"


def test_edns_on_negative_answers(zone, tcp):
    r = zone.query("nope.docker", "A", tcp=tcp, edns=0, payload=1232)
    assert r.rcode() == dns.rcode.NXDOMAIN and r.edns == 0


def test_edns_bad_version(zone, tcp):
    # RFC 6891 6.1.3: an unknown EDNS version gets BADVERS, with an OPT.
    r = zone.query("alpha.docker", "A", tcp=tcp, edns=1, payload=1232)
    assert r.rcode() == dns.rcode.BADVERS, dns.rcode.to_text(r.rcode())
    assert r.edns == 0


def test_truncated_without_edns(zone):
    # 60 A records (~1000 bytes) do not fit the 512 bytes of plain DNS over UDP.
    q = zone.make("many.docker", "A")
    raw, r = udp_wire(zone, q)
    assert len(raw) <= 512, "UDP answer of %d bytes without EDNS" % len(raw)
    assert r.flags & dns.flags.TC, "TC not set"
    assert r.id == q.id
    assert r.rcode() == dns.rcode.NOERROR


def test_same_query_over_tcp_is_complete(zone):
    r = zone.query("many.docker", "A", tcp=True)
    assert not r.flags & dns.flags.TC
    assert sorted(answer_texts(r, "A")) == sorted(MANY_ADDRS)


def test_edns_size_honoured_fits(zone):
    q = zone.make("many.docker", "A", edns=0, payload=1232)
    raw, r = udp_wire(zone, q)
    assert not r.flags & dns.flags.TC
    assert sorted(answer_texts(r, "A")) == sorted(MANY_ADDRS)
    assert r.edns == 0


def test_edns_small_size_truncates(zone):
    q = zone.make("many.docker", "A", edns=0, payload=600)
    raw, r = udp_wire(zone, q)
    assert len(raw) <= 600, "answer of %d bytes to a 600-byte client" % len(raw)
    assert r.flags & dns.flags.TC
    assert r.edns == 0, "OPT missing from a truncated EDNS answer"


def test_edns_size_capped(zone):
    # The client offers 4096; berth caps UDP answers at 1232 by default.
    q = zone.make("huge.docker", "A", edns=0, payload=4096)
    raw, r = udp_wire(zone, q)
    assert len(raw) <= 1232, "UDP answer of %d bytes above the 1232 cap" % len(raw)
    assert r.flags & dns.flags.TC
    r = zone.query("huge.docker", "A", tcp=True, edns=0, payload=4096)
    assert sorted(answer_texts(r, "A")) == sorted(HUGE_ADDRS)


def test_max_udp_size_option(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--max-udp-size", "4096")
    q = b.make("huge.docker", "A", edns=0, payload=4096)
    raw = b.udp_raw(q.to_wire())
    assert raw is not None
    r = dns.message.from_wire(raw, raise_on_truncation=False)
    assert not r.flags & dns.flags.TC
    assert sorted(answer_texts(r, "A")) == sorted(HUGE_ADDRS)
    # A smaller client size still wins.
    q = b.make("huge.docker", "A", edns=0, payload=1232)
    raw = b.udp_raw(q.to_wire())
    assert raw is not None and len(raw) <= 1232
    assert parse_header(raw)["tc"]


def padded_query(zone, size):
    """An A query for alpha.docker padded (EDNS option 12) to size bytes."""
    base = len(zone.make("alpha.docker", "A", edns=0, payload=1232).to_wire(max_size=65535))
    pad = dns.edns.GenericOption(12, b"\0" * (size - base - 4))
    q = zone.make("alpha.docker", "A", edns=0, payload=1232)
    q.use_edns(edns=0, payload=1232, options=[pad])
    wire = q.to_wire(max_size=65535)
    assert len(wire) == size
    return wire


def test_udp_query_above_max_udp_size(start_berth, tmp_path):
    # berth advertises --max-udp-size as what it can receive: a UDP query
    # larger than that is dropped (the client retries over TCP), one that
    # fits is answered, and the server goes on serving.
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd))
    assert b.udp_raw(padded_query(b, 1400), timeout=0.5) is None
    raw = b.udp_raw(padded_query(b, 1200))
    assert raw is not None and parse_header(raw)["rcode"] == 0
    b2 = start_berth("--hosts-dir", str(hd), "--max-udp-size", "4096")
    raw = b2.udp_raw(padded_query(b2, 1400))
    assert raw is not None and parse_header(raw)["rcode"] == 0
    r = b.query("alpha.docker", "A")
    assert r.rcode() == dns.rcode.NOERROR


# ---------------------------------------------------------------- TCP

def tcp_send(sock, wire):
    sock.sendall(struct.pack("!H", len(wire)) + wire)


def test_tcp_pipelined(zone):
    names = ["alpha.docker", "dual.docker", "rec.docker", "nope.docker", "many.docker",
             "alpha6.docker", "rr.docker", "cn.docker", "txt.docker", "mail.docker"]
    qs = {}
    s = zone.tcp_connect()
    try:
        blob = b""
        for i, n in enumerate(names):
            q = zone.make(n, "A", qid=1000 + i)
            qs[q.id] = q
            w = q.to_wire()
            blob += struct.pack("!H", len(w)) + w
        s.sendall(blob)  # every query in one write
        got = {}
        for _ in names:
            raw = tcp_recv_msg(s, timeout=3)
            assert raw is not None, "connection closed after %d answers" % len(got)
            r = dns.message.from_wire(raw)
            assert r.id in qs and r.id not in got
            assert qs[r.id].is_response(r)
            got[r.id] = r
    finally:
        s.close()
    assert len(got) == len(names)
    assert got[1003].rcode() == dns.rcode.NXDOMAIN
    assert len(answer_texts(got[1004], "A")) == 60


def test_tcp_half_close_still_answered(zone):
    # A client that sends its queries and then shuts down its side still
    # gets every answer before berth closes.
    s = zone.tcp_connect()
    try:
        blob = b""
        for i in range(5):
            w = zone.make("many.docker", "A", qid=2000 + i).to_wire()
            blob += struct.pack("!H", len(w)) + w
        s.sendall(blob)
        s.shutdown(socket.SHUT_WR)
        ids = set()
        for _ in range(5):
            raw = tcp_recv_msg(s, timeout=3)
            assert raw is not None, "closed after %d answers" % len(ids)
            ids.add(dns.message.from_wire(raw).id)
        assert ids == {2000 + i for i in range(5)}
        assert tcp_recv_msg(s, timeout=3) is None  # then berth closes
    finally:
        s.close()


def test_tcp_client_that_does_not_read_is_bounded(zone):
    # Pipelined queries from a client that never reads its answers: berth
    # stops reading instead of buffering without end, and keeps serving others.
    rss0 = zone.rss_kb()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((zone.host, zone.port))
    s.setblocking(False)
    w = zone.make("many.docker", "A").to_wire()
    blob = (struct.pack("!H", len(w)) + w) * 500
    sent, t0 = 0, time.monotonic()
    try:
        while time.monotonic() - t0 < 3:
            try:
                sent += s.send(blob)
            except BlockingIOError:
                time.sleep(0.01)
        # berth stopped reading long before 3 s of sending: the kernel buffers are full
        assert sent < 64 * 1024 * 1024, sent
        assert zone.rss_kb() - rss0 < 32 * 1024
        assert zone.query("alpha.docker", "A", tcp=True).answer
    finally:
        s.close()


def test_tcp_sequential_queries_one_connection(zone):
    s = zone.tcp_connect()
    try:
        for i in range(20):
            q = zone.make("alpha.docker", "A", qid=i)
            tcp_send(s, q.to_wire())
            raw = tcp_recv_msg(s)
            assert raw is not None, "closed after %d queries" % i
            r = dns.message.from_wire(raw)
            assert r.id == i and answer_texts(r, "A") == ["192.0.2.10"]
    finally:
        s.close()


def test_tcp_split_writes(zone):
    # The length prefix and the message arrive in pieces.
    q = zone.make("alpha.docker", "A", qid=4242)
    w = q.to_wire()
    full = struct.pack("!H", len(w)) + w
    s = zone.tcp_connect()
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(full)):
            s.sendall(full[i:i + 1])
            time.sleep(0.002)
        raw = tcp_recv_msg(s)
    finally:
        s.close()
    assert raw is not None
    r = dns.message.from_wire(raw)
    assert r.id == 4242 and answer_texts(r, "A") == ["192.0.2.10"]


def test_tcp_idle_timeout(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--tcp-idle-timeout", "1")
    # A connection in use stays open within the timeout...
    s = b.tcp_connect()
    try:
        for i in range(3):
            tcp_send(s, b.make("alpha.docker", "A", qid=i).to_wire())
            assert tcp_recv_msg(s) is not None
            time.sleep(0.4)
        # ...and is closed once idle for longer than it (bounded wait).
        t0 = time.monotonic()
        s.settimeout(6)
        try:
            data = s.recv(1)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            pytest.fail("idle TCP connection still open after 6 s (--tcp-idle-timeout 1)")
        waited = time.monotonic() - t0
        assert data == b""
        assert 0.2 <= waited <= 4.0, "closed after %.1fs with --tcp-idle-timeout 1" % waited
    finally:
        s.close()
    # A silent connection (never sends) is closed too.
    s = b.tcp_connect()
    try:
        s.settimeout(6)
        try:
            assert s.recv(1) == b""
        except ConnectionResetError:
            pass
        except socket.timeout:
            pytest.fail("silent TCP connection still open after 6 s")
    finally:
        s.close()
    assert b.query("alpha.docker", "A", tcp=True).rcode() == dns.rcode.NOERROR


# ---------------------------------------------------------------- errors

def expect_rcode(zone, data, rcode, tcp, qid=0x1234):
    if tcp:
        s = zone.tcp_connect()
        try:
            tcp_send(s, data)
            raw = tcp_recv_msg(s)
        finally:
            s.close()
    else:
        raw = zone.udp_raw(data)
    assert raw is not None, "no answer"
    h = parse_header(raw)
    assert h["qr"], "answer without QR"
    assert h["id"] == qid, "ID not echoed"
    assert h["rcode"] == rcode, "rcode %s, want %s" % (dns.rcode.to_text(h["rcode"]),
                                                    dns.rcode.to_text(rcode))
    return raw, h


MALFORMED = {
    "no_question": raw_header(qd=0),
    "header_only_qd1": raw_header(qd=1),
    "truncated_qtype": raw_header() + wire_name("alpha.docker") + b"\x00",
    "two_questions": raw_header(qd=2) + (wire_name("alpha.docker") + b"\x00\x01\x00\x01") * 2,
    "label_over_63": raw_header() + b"\x40" + b"a" * 64 + b"\x06docker\x00\x00\x01\x00\x01",
    "compression_loop": raw_header() + b"\xc0\x0c\x00\x01\x00\x01",
    "name_over_255": raw_header() + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01",
    "unterminated_name": raw_header() + b"\x05alpha\x06docker",
    "lying_ancount": raw_header(an=3) + wire_name("alpha.docker") + b"\x00\x01\x00\x01",
    "lying_arcount": raw_header(ar=1) + wire_name("alpha.docker") + b"\x00\x01\x00\x01",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_formerr(zone, tcp, kind):
    data = MALFORMED[kind]
    expect_rcode(zone, data, dns.rcode.FORMERR, tcp)
    # Still serving.
    assert zone.query("alpha.docker", "A", tcp=tcp).rcode() == dns.rcode.NOERROR


def test_formerr_short_packet_dropped(zone):
    # Shorter than a header: nothing to answer to.
    assert zone.udp_raw(b"\x12\x34\x01", timeout=0.5) is None
    assert zone.query("alpha.docker", "A").rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.STATUS, dns.opcode.NOTIFY,
                                    dns.opcode.UPDATE, 3, 7, 15])
def test_notimp(zone, tcp, opcode):
    q = zone.make("alpha.docker", "SOA", qid=0x1234)
    w = bytearray(q.to_wire())
    flags = struct.unpack("!H", w[2:4])[0]
    flags = (flags & ~0x7800) | (opcode << 11)
    w[2:4] = struct.pack("!H", flags)
    raw, h = expect_rcode(zone, bytes(w), dns.rcode.NOTIMP, tcp)
    assert h["opcode"] == opcode, "opcode not echoed"


@pytest.mark.parametrize("qid", [1, 0x5151])
def test_qr_set_dropped(zone, qid):
    w = bytearray(zone.make("alpha.docker", "A", qid=qid).to_wire())
    w[2] |= 0x80
    assert zone.udp_raw(bytes(w), timeout=0.5) is None, "answered a response"
    assert zone.query("alpha.docker", "A").rcode() == dns.rcode.NOERROR


def test_qr_set_over_tcp_not_answered(zone):
    w = bytearray(zone.make("alpha.docker", "A", qid=77).to_wire())
    w[2] |= 0x80
    s = zone.tcp_connect()
    try:
        tcp_send(s, bytes(w))
        # Then a real query on the same connection: its answer must be the next
        # message (the response-looking one was dropped), or the server closed.
        q = zone.make("alpha.docker", "A", qid=78)
        try:
            tcp_send(s, q.to_wire())
            raw = tcp_recv_msg(s, timeout=2)
        except (ConnectionResetError, BrokenPipeError):
            raw = None
        if raw is not None:
            assert parse_header(raw)["id"] == 78, "answered a message with QR set"
    finally:
        s.close()


def test_raw_query_helper_sanity(zone):
    # The raw builder used by the bad-packet tests produces a query berth answers.
    raw = zone.udp_raw(raw_query("alpha.docker", qid=99))
    assert raw is not None
    r = dns.message.from_wire(raw)
    assert r.id == 99 and answer_texts(r, "A") == ["192.0.2.10"]
