# SPDX-License-Identifier: MIT
"""Forwarding: names outside berth's own go to --upstream (a loopback dnsmasq
these tests start), with failover; --upstream none and --allow-recursion give
REFUSED; names in berth's domain are never forwarded."""
import time

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import pytest

from conftest import answer_texts, dead_port, ipv6_available, soa_of, write_zone


def query_retry(b, name, rdtype="A", tcp=False, limit=10.0, **kw):
    """Query until an answer that is not SERVFAIL arrives (an upstream may need
    a moment, e.g. after a failover), bounded by limit seconds."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        try:
            last = b.query(name, rdtype, tcp=tcp, timeout=3.0, **kw)
            if last.rcode() != dns.rcode.SERVFAIL:
                return last
        except dns.exception.Timeout:
            last = None
        time.sleep(0.1)
    return last


@pytest.fixture
def fwd(tmp_path, start_berth, dnsmasq):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--records", str(rec),
                    "--upstream", dnsmasq.addr)
    b.upstream = dnsmasq
    return b


def test_forwarded_answer(fwd, tcp):
    r = query_retry(fwd, "www.example.test", tcp=tcp)
    assert r is not None, "no answer for a forwarded name"
    assert r.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(r.rcode())
    assert answer_texts(r, "A") == ["192.0.2.7"]
    assert r.flags & dns.flags.RA, "RA not set on a forwarded answer"
    assert not r.flags & dns.flags.AA, "AA set on an answer berth does not own"
    assert fwd.upstream.queried("www.example.test"), "dnsmasq never saw the query"


def test_forward_keeps_id_and_question_case(fwd, tcp):
    q = fwd.make("WwW.ExAmPlE.TeSt", "A", qid=0x4d2e)
    deadline = time.monotonic() + 10
    while True:
        r = fwd.send(q, tcp=tcp, timeout=3)
        if r.rcode() != dns.rcode.SERVFAIL or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.id == 0x4d2e
    assert r.question[0].name.labels == q.question[0].name.labels, \
        "question case changed: %s" % r.question[0].name
    assert answer_texts(r, "A") == ["192.0.2.7"]


def test_forward_with_edns(fwd):
    r = query_retry(fwd, "edns.example.test", edns=0, payload=1232)
    assert r.rcode() == dns.rcode.NOERROR and r.edns == 0
    assert answer_texts(r, "A") == ["192.0.2.7"]


def test_forward_nxdomain_from_upstream(fwd, tcp):
    # dnsmasq says NXDOMAIN for nx.test and below; berth passes it on.
    r = query_retry(fwd, "gone.nx.test", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN, dns.rcode.to_text(r.rcode())
    assert not r.answer
    assert not r.flags & dns.flags.AA


def test_own_outside_name_not_forwarded(fwd, tcp):
    # host.example.test is in berth's hosts file: berth answers it (AA) even
    # though dnsmasq would say 192.0.2.7.
    r = fwd.query("host.example.test", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert answer_texts(r, "A") == ["192.0.2.20"]
    assert r.flags & dns.flags.AA
    assert not fwd.upstream.queried("host.example.test")


def test_domain_never_forwarded(fwd, tcp):
    # dnsmasq answers x.docker with 192.0.2.99; berth must say NXDOMAIN itself.
    for name in ("x.docker", "X.Docker", "deep.x.docker"):
        r = fwd.query(name, "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NXDOMAIN, "%s: %s %r" % (
            name, dns.rcode.to_text(r.rcode()), r.answer)
        assert r.flags & dns.flags.AA
        assert soa_of(r) is not None
    r = fwd.query("alpha.docker", "AAAA", tcp=tcp)  # NODATA stays NODATA
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    time.sleep(0.2)
    assert not fwd.upstream.queried("x.docker")
    assert not fwd.upstream.queried("deep.x.docker")
    assert not fwd.upstream.queried("alpha.docker")


def test_domain_never_forwarded_with_miss_servfail(tmp_path, start_berth, dnsmasq):
    b = start_berth("--upstream", dnsmasq.addr, "--miss", "servfail")
    r = b.query("x.docker", "A")
    assert r.rcode() == dns.rcode.SERVFAIL and not r.answer
    time.sleep(0.2)
    assert not dnsmasq.queried("x.docker")


def test_failover_first_upstream_dead(tmp_path, start_berth, dnsmasq):
    dead = "127.0.0.1:%d" % dead_port()
    b = start_berth("--upstream", dead, "--upstream", dnsmasq.addr)
    t0 = time.monotonic()
    r = query_retry(b, "failover.example.test", limit=15)
    took = time.monotonic() - t0
    assert r is not None and r.rcode() == dns.rcode.NOERROR, r
    assert answer_texts(r, "A") == ["192.0.2.7"]
    assert took < 10, "failover took %.1fs" % took
    # Later queries keep working.
    for i in range(5):
        r = query_retry(b, "again%d.example.test" % i, limit=10)
        assert answer_texts(r, "A") == ["192.0.2.7"]
    assert b.alive()


def test_all_upstreams_dead_servfail_not_stall(tmp_path, start_berth):
    b = start_berth("--upstream", "127.0.0.1:%d" % dead_port(),
                    "--upstream", "127.0.0.1:%d" % dead_port())
    t0 = time.monotonic()
    try:
        r = b.query("nobody.example.test", "A", timeout=8)
        assert r.rcode() in (dns.rcode.SERVFAIL, dns.rcode.REFUSED), dns.rcode.to_text(r.rcode())
    except dns.exception.Timeout:
        pass  # no answer is allowed; what matters is that berth keeps serving
    # Local names are answered at once while the upstreams are dead.
    t1 = time.monotonic()
    r = b.query("docker.", "SOA", timeout=2)
    assert r.rcode() == dns.rcode.NOERROR
    assert time.monotonic() - t1 < 1.0
    assert time.monotonic() - t0 < 12
    assert b.alive()


def test_upstream_none_refused(tmp_path, start_berth, tcp):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--upstream", "none")
    r = b.query("www.example.test", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED, dns.rcode.to_text(r.rcode())
    assert not r.answer
    # Own names still answered.
    assert answer_texts(b.query("alpha.docker", "A", tcp=tcp), "A") == ["192.0.2.10"]


def test_client_outside_allow_recursion_refused(tmp_path, start_berth, dnsmasq, tcp):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--upstream", dnsmasq.addr,
                    "--allow-recursion", "10.0.0.0/8")
    r = b.query("www.example.test", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.REFUSED, dns.rcode.to_text(r.rcode())
    assert not r.answer
    assert not dnsmasq.queried("www.example.test")
    # Own names are still answered to that client.
    r = b.query("alpha.docker", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and answer_texts(r, "A") == ["192.0.2.10"]
    r = b.query("nope.docker", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_allow_recursion_explicit_loopback(tmp_path, start_berth, dnsmasq):
    b = start_berth("--upstream", dnsmasq.addr, "--allow-recursion", "10.0.0.0/8",
                    "--allow-recursion", "127.0.0.0/8")
    r = query_retry(b, "acl.example.test")
    assert answer_texts(r, "A") == ["192.0.2.7"]


def test_default_acl_allows_loopback(tmp_path, start_berth, dnsmasq):
    b = start_berth("--upstream", dnsmasq.addr)
    r = query_retry(b, "default.example.test")
    assert answer_texts(r, "A") == ["192.0.2.7"]


def test_forward_cache(fwd):
    # The second answer may come from berth's cache; both are right.
    r1 = query_retry(fwd, "cache.example.test")
    r2 = query_retry(fwd, "cache.example.test")
    assert answer_texts(r1, "A") == answer_texts(r2, "A") == ["192.0.2.7"]


def test_forward_many_concurrent(fwd):
    import concurrent.futures as cf
    names = ["c%d.example.test" % i for i in range(40)]
    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda n: query_retry(fwd, n, limit=10), names))
    for n, r in zip(names, results):
        assert r is not None and answer_texts(r, "A") == ["192.0.2.7"], n
    assert fwd.alive()


def test_upstream_with_default_port(tmp_path, start_berth):
    # ADDR without :PORT is accepted (port 53). No name is forwarded here:
    # berth must only start and serve its own names.
    b = start_berth("--upstream", "127.0.0.1")
    assert b.query("docker.", "SOA").rcode() == dns.rcode.NOERROR


def test_upstream_ipv6_syntax(tmp_path, start_berth):
    if not ipv6_available():
        pytest.skip("::1 unavailable")
    b = start_berth("--upstream", "[::1]:%d" % dead_port("::1"))
    assert b.query("docker.", "SOA").rcode() == dns.rcode.NOERROR



def test_forward_tcp_fallback(tmp_path, start_berth, start_dnsmasq):
    # dnsmasq truncates 100 A records over UDP; berth's forwarder must retry over
    # TCP and hand the client the whole set (over TCP), or TC over UDP.
    big = ["--host-record=big.example.test,10.3.0.%d" % i for i in range(1, 101)]
    up = start_dnsmasq(*big)
    b = start_berth("--upstream", up.addr)
    r = query_retry(b, "big.example.test", tcp=True, edns=0, payload=1232)
    assert r is not None and r.rcode() == dns.rcode.NOERROR, r
    assert len(answer_texts(r, "A")) == 100, "got %d of 100 records" % len(answer_texts(r, "A"))
    raw = b.udp_raw(b.make("big.example.test", "A", edns=0, payload=1232).to_wire(), timeout=5)
    assert raw is not None and len(raw) <= 1232
    m = dns.message.from_wire(raw, raise_on_truncation=False)
    assert m.flags & dns.flags.TC or len(answer_texts(m, "A")) == 100
