# SPDX-License-Identifier: MIT
"""The host's resolver sends .docker, and only that, to berth: dnsmasq (as
NetworkManager runs it) with the README's line server=/docker/127.0.0.1#PORT
(berth on a loopback port here, 53 in the README)."""
import urllib.request

import dns.rcode

from conftest import LOOP4, free_port, hostport


def received(http_port):
    with urllib.request.urlopen("http://%s/metrics" % hostport(LOOP4, http_port),
                                timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines()
               if line.startswith("berth_queries_received_total"))


def test_dnsmasq_server_line_sends_only_the_zone(start_berth, start_dnsmasq, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    (hosts / "lab").write_text("10.9.8.8 api.docker\n")
    http_port = free_port()
    b = start_berth("--hosts-dir", str(hosts), "--http", hostport(LOOP4, http_port))
    # dnsmasq: the host's resolver, with its own answer for everything else.
    d = start_dnsmasq("--server=/docker/%s#%d" % (LOOP4, b.port))
    r = b.query("api.docker.", port=d.port)
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "10.9.8.8", r
    r = b.query("nothing.docker.", port=d.port)
    assert r.rcode() == dns.rcode.NXDOMAIN, r
    before = received(http_port)
    assert before >= 2
    r = b.query("www.example.test.", port=d.port)
    assert r.answer[0][0].address == "192.0.2.7"
    assert received(http_port) == before, "a name outside .docker reached berth"
