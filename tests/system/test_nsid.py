# SPDX-License-Identifier: MIT
"""NSID (RFC 5001): a query that asks for it gets berth's name server ID in
the OPT: --nsid TEXT, by default the node name (--node), none for nothing; in
the zone, for errors and for forwarded names, over UDP and TCP. A query that
does not ask gets none."""
import shutil
import socket
import struct
import subprocess

import dns.edns
import dns.message
import dns.rcode
import pytest

from conftest import write_zone

NSID = 3


def nsid_query(name, rdtype="A", ask=True):
    opts = [dns.edns.GenericOption(NSID, b"")] if ask else []
    return dns.message.make_query(name, rdtype, use_edns=0, options=opts)


def nsid_of(r):
    got = [o for o in r.options if o.otype == NSID]
    assert len(got) <= 1
    if not got:
        return None
    return got[0].to_wire() if hasattr(got[0], "to_wire") else got[0].data


def ask(b, name, rdtype="A", tcp=False, asked=True):
    return b.send(nsid_query(name, rdtype, asked), tcp=tcp, timeout=3)


@pytest.fixture
def berth_nsid(tmp_path, start_berth, dnsmasq):
    hd, _ = write_zone(tmp_path / "z")
    return start_berth("--hosts-dir", str(hd), "--nsid", "berth-a.example",
                       "--upstream", dnsmasq.addr)


def test_nsid_in_zone_error_and_forwarded(berth_nsid, tcp):
    b = berth_nsid
    r = ask(b, "alpha.docker", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert nsid_of(r) == b"berth-a.example"
    r = ask(b, "nope.docker", tcp=tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN and nsid_of(r) == b"berth-a.example"
    r = ask(b, "www.example.test", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and nsid_of(r) == b"berth-a.example"
    # An error berth writes by itself (qtype OPT: FORMERR) says who it is too.
    q = nsid_query("alpha.docker", 41)
    r = b.send(q, tcp=tcp)
    assert r.rcode() == dns.rcode.FORMERR and nsid_of(r) == b"berth-a.example"


def test_nsid_only_when_asked(berth_nsid, tcp):
    r = ask(berth_nsid, "alpha.docker", tcp=tcp, asked=False)
    assert r.edns == 0 and nsid_of(r) is None
    r = ask(berth_nsid, "www.example.test", tcp=tcp, asked=False)
    assert r.edns == 0 and nsid_of(r) is None


def test_nsid_default_is_node(start_berth):
    b = start_berth("--node", "node-7")
    assert nsid_of(ask(b, "docker", "SOA")) == b"node-7"
    b = start_berth()
    assert nsid_of(ask(b, "docker", "SOA")) == socket.gethostname().encode()


def test_nsid_none_and_env(start_berth, tcp):
    b = start_berth("--nsid", "none", "--node", "node-7")
    r = ask(b, "docker", "SOA", tcp=tcp)
    assert r.edns == 0 and nsid_of(r) is None
    b = start_berth(env={"BERTH_NSID": "from-env"})
    assert nsid_of(ask(b, "docker", "SOA", tcp=tcp)) == b"from-env"


def test_nsid_bad_value(tmp_path):
    from conftest import BERTH_BIN, clean_env
    p = subprocess.run([BERTH_BIN, "--nsid", "", "--docker", "none"], env=clean_env(),
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "--nsid" in p.stderr


@pytest.mark.skipif(not shutil.which("dig"), reason="dig not installed")
def test_dig_nsid(berth_nsid):
    out = subprocess.run(["dig", "+nsid", "+time=2", "+tries=1", "-p", str(berth_nsid.port),
                          "@127.0.0.1", "alpha.docker", "A"],
                         capture_output=True, text=True, timeout=10).stdout
    assert 'NSID: 62 65 72 74 68 2d 61 2e 65 78 61 6d 70 6c 65 ("berth-a.example")' in out, out
