# SPDX-License-Identifier: MIT
"""Response rate limiting (--rate-limit) for clients beyond loopback: a client
in a network namespace this test creates (a veth pair; berth listens on the
host side) that asks faster than its budget gets the budget in full answers,
every second answer over it truncated (slip: TC, so a real client retries over
TCP, which is never limited) and the rest dropped; /metrics counts both. A
loopback client under the same load is never limited. The namespace and the
veth pair are removed at the end."""
import json
import os
import random
import shutil
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import LOOP4, free_port, wait_until, write_zone

pytestmark = pytest.mark.slow

RATE = 50
SENT = 600      # queries, paced over DURATION seconds
DURATION = 1.0

BLAST = r"""
import json, socket, sys, time
import dns.message, dns.flags, dns.query
host, port, n, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.setblocking(False)
full = tc = other = 0
def drain():
    global full, tc, other
    while True:
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return
        m = dns.message.from_wire(data, raise_on_truncation=False)
        if m.flags & dns.flags.TC:
            tc += 1
        elif m.answer:
            full += 1
        else:
            other += 1
t0 = time.monotonic()
for i in range(n):
    q = dns.message.make_query("alpha.docker", "A")
    q.id = i
    s.sendto(q.to_wire(), (host, port))
    drain()
    wait = t0 + duration * (i + 1) / n - time.monotonic()
    if wait > 0:
        time.sleep(wait)
end = time.monotonic() + 0.5
while time.monotonic() < end:
    drain()
    time.sleep(0.01)
r = dns.query.tcp(dns.message.make_query("alpha.docker", "A"), host, port=port, timeout=3)
print(json.dumps({"full": full, "tc": tc, "other": other,
                  "tcp": [x.to_text() for rs in r.answer for x in rs]}))
"""


def run(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=check)


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2 for a network namespace")
    tag = "%d%d" % (os.getpid() % 10000, random.randrange(100))
    ns, host_if, ns_if = "berth-rrl-" + tag, "brh" + tag, "brn" + tag
    net = "198.18.%d" % random.randrange(1, 255)   # RFC 2544 benchmark range, on the veth only
    if run("ip", "netns", "add", ns, check=False).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        run("ip", "link", "set", ns_if, "netns", ns)
        run("ip", "addr", "add", net + ".1/24", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "-n", ns, "addr", "add", net + ".2/24", "dev", ns_if)
        run("ip", "-n", ns, "link", "set", ns_if, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        yield {"ns": ns, "host": net + ".1", "client": net + ".2"}
    finally:
        run("ip", "link", "del", host_if, check=False)
        run("ip", "netns", "del", ns, check=False)


def blast_from_ns(netns, port):
    p = run("ip", "netns", "exec", netns["ns"], "/usr/bin/python3", "-c", BLAST,
            netns["host"], str(port), str(SENT), str(DURATION))
    return json.loads(p.stdout)


def blast_loopback(port, out):
    s_full = s_tc = 0
    t0 = time.monotonic()
    for i in range(SENT):
        q = dns.message.make_query("alpha.docker", "A")
        r = dns.query.udp(q, LOOP4, port=port, timeout=2)
        if r.flags & dns.flags.TC:
            s_tc += 1
        elif r.answer:
            s_full += 1
        wait = t0 + DURATION * (i + 1) / SENT - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    out.update(full=s_full, tc=s_tc)


def metric(port, name):
    import http.client
    c = http.client.HTTPConnection(LOOP4, port, timeout=5)
    try:
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
    finally:
        c.close()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)




def test_rate_limit(netns, start_berth, tmp_path):
    hd, _ = write_zone(tmp_path / "z")
    http = free_port()
    port = free_port()
    b = start_berth("--hosts-dir", str(hd), "--listen", "%s:%d" % (netns["host"], port),
                    "--rate-limit", str(RATE), "--http", "%s:%d" % (LOOP4, http),
                    "--state-dir", str(tmp_path / "st"), port=port)
    assert wait_until(lambda: b.query("alpha.docker", "A").answer, timeout=5)
    lo = {}
    t = threading.Thread(target=blast_loopback, args=(port, lo))
    t.start()
    got = blast_from_ns(netns, port)
    t.join(30)
    print("namespace client:", got, "loopback client:", lo)
    # The namespace client: its budget (a second's worth, then refilled), every
    # second answer over it truncated, the rest dropped.
    budget = RATE * (1 + DURATION)
    assert RATE <= got["full"] <= budget + 15, got
    limited = SENT - got["full"]
    assert 0.4 * limited <= got["tc"] <= 0.6 * limited, got
    assert got["other"] == 0, got
    assert got["tcp"] == ["192.0.2.10"], "TCP is never limited: %s" % got
    # The loopback client, under the same load at the same time: never limited.
    assert lo == {"full": SENT, "tc": 0}, lo
    assert wait_until(lambda: metric(http, "berth_rate_limit_slipped_total") == got["tc"],
                      timeout=3), (metric(http, "berth_rate_limit_slipped_total"), got)
    assert metric(http, "berth_rate_limited_total") >= limited - 5
    assert b.alive()


def test_rate_limit_off(netns, start_berth, tmp_path):
    hd, _ = write_zone(tmp_path / "z")
    port = free_port()
    b = start_berth("--hosts-dir", str(hd), "--listen", "%s:%d" % (netns["host"], port),
                    "--rate-limit", "0", port=port)
    assert wait_until(lambda: b.query("alpha.docker", "A").answer, timeout=5)
    got = blast_from_ns(netns, port)
    assert got["full"] == SENT and got["tc"] == 0, got
