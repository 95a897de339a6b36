# SPDX-License-Identifier: MIT
"""Hostile input: thousands of random and crafted datagrams (short headers,
compression loops, labels over 63, names over 255, counts that lie, QR set,
bad OPT records, random bytes) and garbage on TCP. berth answers FORMERR or
drops, keeps serving, stays alive, and leaks neither memory nor descriptors."""
import random
import select
import socket
import struct
import time

import dns.rcode
import pytest

from conftest import (LOOP4, answer_texts, parse_header, raw_header, tcp_recv_msg,
                      wait_until, wire_name, write_zone)

pytestmark = pytest.mark.slow

NAMES = ["alpha.docker", "many.docker", "nope.docker", "docker", "rr.docker",
         "containers.docker.will-desktop", "www.example.test", "10.2.0.192.in-addr.arpa"]
QTYPES = [1, 28, 12, 16, 33, 5, 15, 6, 2, 255, 252, 251, 0, 65535, 41, 99]

# Kinds whose answer, if any, must be FORMERR.
MUST_FORMERR = {"short_question", "compression_loop", "label_over_63", "name_over_255",
                "lying_counts", "bad_pointer"}
# Kinds that must never be answered.
MUST_DROP = {"qr_set"}


def q(name, qtype=1, qid=0, flags=0x0100, qclass=1):
    return raw_header(qid, flags) + wire_name(name) + struct.pack("!HH", qtype, qclass)


def opt(payload=1232, version=0, rdata=b"", rdlen=None, owner=b"\0", ext_rcode=0, do=0):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", 41, payload, ttl, n) + rdata


def make_packet(rng, qid):
    """One hostile datagram: (kind, bytes). Every packet of 2+ bytes carries qid."""
    kind = rng.choice([
        "random", "random", "short_header", "qr_set", "compression_loop", "bad_pointer",
        "label_over_63", "name_over_255", "lying_counts", "bad_opt", "mutated", "mutated",
        "truncated", "odd_types", "odd_flags", "trailing", "short_question",
    ])
    name = rng.choice(NAMES)
    if kind == "random":
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(2, 600)))
    elif kind == "short_header":
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 11)))
    elif kind == "qr_set":
        data = q(name, rng.choice(QTYPES), flags=0x8100 | rng.getrandbits(15) & 0x07F0)
    elif kind == "compression_loop":
        data = rng.choice([
            raw_header() + b"\xc0\x0c\x00\x01\x00\x01",                      # points at itself
            raw_header() + b"\x01a\xc0\x0c\x00\x01\x00\x01",                 # back to its start
            raw_header() + b"\xc0\x0e\xc0\x0c\x00\x01\x00\x01",              # two pointing at each other
            raw_header() + b"\x03abc\xc0\x10\x00\x01\x00\x01",               # loop through a label
        ])
    elif kind == "bad_pointer":
        data = rng.choice([
            raw_header() + b"\xc0\xff\x00\x01\x00\x01",                      # past the end
            raw_header() + b"\x05alpha\xc3\xe8\x00\x01\x00\x01",             # far away
            raw_header() + b"\x05alpha\xc0",                                 # half a pointer
        ])
    elif kind == "label_over_63":
        n = rng.randint(64, 191)   # 192 and up would be a compression pointer
        data = raw_header() + bytes([n]) + b"x" * min(n, 200) + b"\0\x00\x01\x00\x01"
    elif kind == "name_over_255":
        labels = b""
        while len(labels) <= 260:
            ln = rng.randint(1, 63)
            labels += bytes([ln]) + b"a" * ln
        data = raw_header() + labels + b"\0\x00\x01\x00\x01"
    elif kind == "lying_counts":
        # QDCOUNT is never 1, or the other counts promise records that are not there.
        counts = [rng.choice([0, 2, 3, 100, 65535]), rng.choice([0, 1, 7, 65535]),
                  rng.choice([0, 1, 65535]), rng.choice([0, 1, 2, 65535])]
        if rng.random() < 0.5:
            counts[0] = 1
            counts[rng.randint(1, 3)] = rng.choice([1, 3, 65535])
        data = raw_header(qd=counts[0], an=counts[1], ns=counts[2], ar=counts[3]) + \
            wire_name(name) + b"\x00\x01\x00\x01"
    elif kind == "bad_opt":
        base = q(name, rng.choice(QTYPES))
        o, ar = rng.choice([
            (opt(rdlen=40), 1),                                   # rdlen beyond the end
            (opt(rdata=b"\x00\x0a\x00\x08abc"), 1),               # option length lies
            (opt(owner=b"\x03foo\0"), 1),                         # OPT not at the root
            (opt() + opt(), 2),                                   # two OPTs
            (opt(version=rng.randint(1, 255)), 1),                # unknown version
            (opt(payload=rng.choice([0, 1, 511, 65535])), 1),     # odd sizes
            (opt(rdata=b"\x00\x0a\x00\x08" + bytes(8)), 1),       # cookie
            (opt(rdata=b"\x00\x08\x00\x07\x00\x01\x18\x00\x0a\x00\x00"), 1),  # subnet
            (opt()[:rng.randint(1, 10)], 1),                      # cut short
            (opt(), 3),                                           # ARCOUNT lies
        ])
        data = bytearray(base + o)
        data[10:12] = struct.pack("!H", ar)
        data = bytes(data)
    elif kind == "mutated":
        data = bytearray(q(name, rng.choice(QTYPES)) + (opt() if rng.random() < 0.5 else b""))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(2, len(data))
            data[i] = rng.getrandbits(8)
        data = bytes(data)
    elif kind == "truncated":
        full = q(name, rng.choice(QTYPES)) + (opt() if rng.random() < 0.5 else b"")
        data = full[:rng.randint(12, len(full) - 1)]
    elif kind == "short_question":
        full = q(name)
        data = full[:rng.randint(13, len(full) - 1)]   # the name or type/class cut off
    elif kind == "odd_types":
        data = q(name, rng.choice(QTYPES), qclass=rng.choice([1, 3, 4, 254, 255, 0, 65535]))
    elif kind == "odd_flags":
        data = q(name, 1, flags=rng.getrandbits(16) & 0x7FFF)
    else:  # trailing garbage after a valid query
        data = q(name) + bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
    if len(data) >= 2:
        data = struct.pack("!H", qid) + data[2:]
    return kind, data


def drain(sock, got, timeout):
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return
        try:
            while True:
                got.append(sock.recv(65535))
        except BlockingIOError:
            pass


def check_responses(responses, sent):
    """Every answer is a DNS response; crafted-malformed ones are FORMERR; QR-set
    packets are never answered."""
    problems = []
    for raw in responses:
        if len(raw) < 12:
            problems.append(("short answer", raw))
            continue
        h = parse_header(raw)
        if not h["qr"]:
            problems.append(("answer without QR", raw[:32]))
        kind = sent.get(h["id"])
        if kind in MUST_DROP:
            problems.append(("answered a %s packet" % kind, raw[:32]))
        elif kind in MUST_FORMERR and h["rcode"] != dns.rcode.FORMERR:
            problems.append(("%s answered %s" % (kind, dns.rcode.to_text(h["rcode"])), raw[:32]))
    return problems


def storm(b, rng, count, time_limit):
    """Send count hostile datagrams (bounded by time_limit seconds); return
    (per-kind counts, responses, id->kind)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = {}
    kinds = {}
    responses = []
    t0 = time.monotonic()
    try:
        for i in range(count):
            qid = i % 65536
            kind, data = make_packet(rng, qid)
            sent[qid] = kind
            kinds[kind] = kinds.get(kind, 0) + 1
            try:
                s.sendto(data, (LOOP4, b.port))
            except BlockingIOError:
                drain(s, responses, 0.01)
            if i % 50 == 49:
                drain(s, responses, 0.002)
            if i % 1000 == 999:
                assert b.alive(), "berth died after %d bad packets:\n%s" % (i + 1, b.stderr())
            if time.monotonic() - t0 > time_limit:
                break
        drain(s, responses, 0.5)
    finally:
        s.close()
    return kinds, responses, sent


def still_serving(b):
    r = b.query("alpha.docker", "A", timeout=2)
    assert answer_texts(r, "A") == ["192.0.2.10"]
    r = b.query("alpha.docker", "A", tcp=True, timeout=2)
    assert answer_texts(r, "A") == ["192.0.2.10"]
    r = b.query("many.docker", "A", tcp=True, timeout=2)
    assert len(answer_texts(r, "A")) == 60


@pytest.fixture
def target(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    return start_berth("--hosts-dir", str(hd), "--records", str(rec), "--tcp-idle-timeout", "2")


def test_udp_storm(target):
    b = target
    rng = random.Random(0xBE27)
    # Warm up (first allocations, page faults), then measure.
    storm(b, rng, 1000, 10)
    for _ in range(100):
        b.query("alpha.docker", "A")
    rss0, fd0 = b.rss_kb(), b.fd_count()
    kinds, responses, sent = storm(b, rng, 5000, 40)
    assert b.alive(), b.stderr()
    still_serving(b)
    problems = check_responses(responses, sent)
    assert not problems, "%d bad answers, first: %r" % (len(problems), problems[:5])
    assert sum(kinds.values()) >= 2000, "only %d packets sent in the time limit" % sum(
        kinds.values())
    assert len(kinds) >= 15, kinds
    # A second round must not keep growing the process.
    storm(b, rng, 5000, 40)
    still_serving(b)
    rss1, fd1 = b.rss_kb(), b.fd_count()
    assert rss1 - rss0 < 8 * 1024, "RSS grew from %d kB to %d kB" % (rss0, rss1)
    assert fd1 <= fd0 + 2, "descriptors grew from %d to %d" % (fd0, fd1)
    print("kinds sent:", kinds, "answers:", len(responses), "rss kB:", rss0, rss1)


def test_udp_storm_with_forwarding(start_berth, tmp_path, dnsmasq):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--upstream", dnsmasq.addr)
    rng = random.Random(0xF0D)
    kinds, responses, sent = storm(b, rng, 3000, 30)
    assert b.alive(), b.stderr()
    still_serving(b)
    problems = check_responses(responses, sent)
    assert not problems, problems[:5]
    # Forwarding still works after the storm.
    deadline = time.monotonic() + 10
    while True:
        r = b.query("after.example.test", "A", timeout=3)
        if r.rcode() != dns.rcode.SERVFAIL or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer_texts(r, "A") == ["192.0.2.7"]


# ---------------------------------------------------------------- TCP

def tcp_session(b, payload, read=True, timeout=1.0):
    """Send payload on a fresh connection; read whatever comes back (bounded)."""
    s = socket.create_connection((LOOP4, b.port), timeout=2)
    out = []
    try:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            return out
        if read:
            s.settimeout(timeout)
            for _ in range(100):   # bounded: garbage never earns more answers
                try:
                    m = tcp_recv_msg(s, timeout=timeout)
                except (socket.timeout, ConnectionResetError):
                    break
                if m is None:
                    break
                out.append(m)
    finally:
        s.close()
    return out


def test_tcp_garbage(target):
    b = target
    rng = random.Random(0x7C9)
    fd0 = b.fd_count()
    rss0 = b.rss_kb()
    answers = []
    t0 = time.monotonic()
    cases = [
        b"",                                          # connect and close
        b"\x00",                                      # half a length
        b"\x00\x00",                                  # zero length
        b"\x00\x00" * 10,
        b"\xff\xff" + b"x" * 10,                      # promises 65535, sends 10
        b"\x00\x05" + b"\x01\x02\x03\x04\x05",        # 5-byte message
        b"\x00\x0c" + raw_header(qd=0),               # header only, no question
        b"\x00\x06" + b"\xc0\x0c\x00\x01\x00\x01",
        (lambda m: struct.pack("!H", len(m)) + m)(raw_header() + b"\xc0\x0c\x00\x01\x00\x01"),
        (lambda m: struct.pack("!H", len(m)) + m)(q("alpha.docker")) + b"\xde\xad\xbe\xef" * 50,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for c in cases:
        answers += tcp_session(b, c, timeout=0.5)
        assert b.alive(), b.stderr()
    for i in range(150):
        if time.monotonic() - t0 > 30:
            break
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        answers += tcp_session(b, data, read=(i % 5 == 0), timeout=0.2)
        if i % 25 == 0:
            assert b.alive(), b.stderr()
    assert b.alive(), b.stderr()
    for m in answers:
        assert len(m) >= 12 and parse_header(m)["qr"], m[:32]
    still_serving(b)
    # Many idle connections at once: other clients still get answers.
    held = []
    try:
        for _ in range(40):
            held.append(socket.create_connection((LOOP4, b.port), timeout=2))
        held[0].sendall(b"\x00")   # one slow writer: half a length
        t1 = time.monotonic()
        still_serving(b)
        assert time.monotonic() - t1 < 3
    finally:
        for s in held:
            s.close()
    # Connections closed by clients (or by the idle timeout) free their descriptors.
    assert wait_until(lambda: b.fd_count() <= fd0 + 2, timeout=5), \
        "descriptors: %d before, %d after" % (fd0, b.fd_count())
    assert b.rss_kb() - rss0 < 8 * 1024, "RSS %d -> %d kB" % (rss0, b.rss_kb())


def test_tcp_query_then_garbage_then_query(target):
    b = target
    m1 = q("alpha.docker", qid=11)
    s = socket.create_connection((LOOP4, b.port), timeout=2)
    try:
        s.sendall(struct.pack("!H", len(m1)) + m1)
        r = tcp_recv_msg(s)
        assert r is not None and parse_header(r)["id"] == 11
        junk = b"\x00\x10" + b"\xff" * 16
        s.sendall(junk)
        try:
            r = tcp_recv_msg(s, timeout=1)
        except (socket.timeout, ConnectionResetError):
            r = None
        if r is not None:
            assert parse_header(r)["rcode"] == dns.rcode.FORMERR
    finally:
        s.close()
    still_serving(b)
