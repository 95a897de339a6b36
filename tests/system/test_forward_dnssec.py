# SPDX-License-Identifier: MIT
"""Forwarded answers from a DNSSEC-signed upstream: a loopback Knot DNS that
signs its test zones itself (signed.test with NSEC, nsec3.test with NSEC3).
The client's DO comes back in the OPT (RFC 3225); a client without DO gets no
RRSIG, NSEC or NSEC3 it did not ask for (RFC 4035 3.2.1); the OPT advertises
berth's --max-udp-size; CD is copied and AD never claimed (RFC 4035 3.2.2-3)."""
import os
import shutil
import signal
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import LOOP4, _report, _start, free_port

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
UDP_SIZE = 1400  # berth's --max-udp-size here: not a default of anyone's
DNSSEC_TYPES = {dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3}

ZONE = """\
$ORIGIN {name}.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 86400 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
www  AAAA 2001:db8::80
"""

CONF = """\
server:
    rundir: "{dir}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: notice
database:
    storage: "{dir}"
policy:
  - id: nsec3
    nsec3: on
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
zone:
  - domain: signed.test
    dnssec-signing: on
  - domain: nsec3.test
    dnssec-signing: on
    dnssec-policy: nsec3
"""


class Knot:
    """knotd on a random loopback port, serving zones it signs itself."""

    def __init__(self, workdir):
        self.dir = workdir
        self.port = free_port(LOOP4)
        for z in ("signed.test", "nsec3.test"):
            (workdir / (z + ".zone")).write_text(ZONE.format(name=z))
        conf = workdir / "knot.conf"
        conf.write_text(CONF.format(dir=workdir, port=self.port))
        self.log = open(workdir / "knotd.log", "wb")
        self.proc = subprocess.Popen([KNOTD, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def signed(self, zone):
        q = dns.message.make_query(zone, "SOA", want_dnssec=True)
        try:
            r = dns.query.udp(q, LOOP4, port=self.port, timeout=0.3)
        except (dns.exception.Timeout, OSError):
            return False
        return any(rs.rdtype == dns.rdatatype.RRSIG for rs in r.answer)

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited: %s" % (self.dir / "knotd.log").read_text())
            if self.signed("signed.test.") and self.signed("nsec3.test."):
                return self
            time.sleep(0.05)
        raise RuntimeError("knotd did not serve signed zones: %s"
                           % (self.dir / "knotd.log").read_text())

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="module")
def knot(tmp_path_factory):
    if not os.path.exists(KNOTD):
        pytest.skip("knotd not installed (Debian package knot)")
    k = Knot(tmp_path_factory.mktemp("knot"))
    try:
        yield k.wait_ready()
    finally:
        k.stop()


@pytest.fixture(scope="module")
def fwd(knot, tmp_path_factory):
    root = tmp_path_factory.mktemp("berth")
    b = _start(root, ["--upstream", "127.0.0.1:%d" % knot.port,
                      "--max-udp-size", str(UDP_SIZE)], None, True)
    yield b
    problems = _report([b])
    assert not problems, problems


def ask(b, name, rdtype="A", tcp=False, edns=True, do=False, flags=0, payload=4096):
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False,
                               payload=payload, want_dnssec=do)
    q.flags |= flags
    deadline = time.monotonic() + 5
    while True:
        r = b.send(q, tcp=tcp, timeout=2)
        if r.rcode() != dns.rcode.SERVFAIL or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def types_in(r, section):
    return {rs.rdtype for rs in getattr(r, section)}


def dnssec_records(r):
    return {(s, dns.rdatatype.to_text(t)) for s in ("answer", "authority", "additional")
            for t in types_in(r, s) & DNSSEC_TYPES}


def test_do_copied_and_signatures_kept(fwd, tcp):
    r = ask(fwd, "www.signed.test", do=True, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.ednsflags & dns.flags.DO, "DO of the query not copied into the OPT"
    assert types_in(r, "answer") == {dns.rdatatype.A, dns.rdatatype.RRSIG}


@pytest.mark.parametrize("edns", [True, False])
def test_no_do_no_signatures(fwd, tcp, edns):
    r = ask(fwd, "www.signed.test", do=False, edns=edns, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.ednsflags & dns.flags.DO
    assert not dnssec_records(r), "DNSSEC records for a client without DO: %s" % \
        dnssec_records(r)
    assert [rd.to_text() for rs in r.answer for rd in rs] == ["192.0.2.80"]


@pytest.mark.parametrize("zone", ["signed.test", "nsec3.test"])
def test_nxdomain_without_do_only_soa(fwd, tcp, zone):
    r = ask(fwd, "nowhere." + zone, do=False, tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert [rs.rdtype for rs in r.authority] == [dns.rdatatype.SOA], \
        "authority of an NXDOMAIN for a client without DO: %s" % r.authority
    assert not r.answer


@pytest.mark.parametrize("zone", ["signed.test", "nsec3.test"])
def test_nxdomain_with_do_has_denial(fwd, zone):
    proof = dns.rdatatype.NSEC if zone == "signed.test" else dns.rdatatype.NSEC3
    r = ask(fwd, "nowhere2." + zone, do=True)
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert r.ednsflags & dns.flags.DO
    assert {dns.rdatatype.SOA, dns.rdatatype.RRSIG, proof} <= types_in(r, "authority")


def test_nodata_without_do(fwd, tcp):
    r = ask(fwd, "ns1.signed.test", "TXT", do=False, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert types_in(r, "authority") == {dns.rdatatype.SOA}


def test_dnskey_without_do_keeps_what_was_asked(fwd):
    r = ask(fwd, "signed.test", "DNSKEY", do=False)
    assert types_in(r, "answer") == {dns.rdatatype.DNSKEY}
    # Asking for a DNSSEC type itself gets it, DO or not.
    r = ask(fwd, "signed.test", "NSEC", do=False)
    assert dns.rdatatype.NSEC in types_in(r, "answer")
    assert dns.rdatatype.RRSIG not in types_in(r, "answer")


@pytest.mark.parametrize("do", [False, True])
def test_opt_advertises_max_udp_size(fwd, tcp, do):
    for payload in (512, 1232, 4096):
        r = ask(fwd, "www.signed.test", do=do, tcp=tcp, payload=payload)
        assert r.edns == 0
        assert r.payload == UDP_SIZE, "forwarded OPT advertises %d, not --max-udp-size %d" \
            % (r.payload, UDP_SIZE)


def test_cd_copied_ad_not_claimed(fwd, tcp):
    r = ask(fwd, "www.signed.test", do=True, tcp=tcp, flags=dns.flags.CD)
    assert r.flags & dns.flags.CD, "CD not copied (RFC 4035 3.2.2)"
    # berth validates nothing and its upstream is authoritative (no AD): AD
    # stays clear however the client asks.
    for flags in (0, dns.flags.AD):
        for do in (False, True):
            r = ask(fwd, "www.signed.test", do=do, tcp=tcp, flags=flags)
            assert not r.flags & dns.flags.AD
            assert not r.flags & dns.flags.CD


def test_small_client_gets_fitting_answer(fwd):
    # A 512-byte client: no DNSSEC records, so the answer fits without TC.
    q = dns.message.make_query("nowhere3.nsec3.test", "A", use_edns=False)
    raw = fwd.udp_raw(q.to_wire(), timeout=3)
    r = dns.message.from_wire(raw)
    assert r.rcode() == dns.rcode.NXDOMAIN and not r.flags & dns.flags.TC
    assert len(raw) <= 512
