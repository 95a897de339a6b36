# SPDX-License-Identifier: MIT
"""Containers that resolve through berth, as the README's Install section says:
dockerd's `--dns` option, and `"dns"` in the daemon's JSON configuration.

Test traffic goes to loopback only, so the containers that look names up run on
the host network (`--network host`): their /etc/resolv.conf names a loopback
address of this test's own, 127.0.0.77 (or the next one whose port 53 is free),
where berth listens on port 53 (resolv.conf cannot name a port). The lookup is
busybox's `nslookup NAME`, which without a server argument asks the nameserver
of /etc/resolv.conf. The name is that of a container on its engine's default
bridge, whose address berth answers from `docker inspect` and nobody contacts.

- `docker run --network host --dns ADDR`: the container's resolv.conf holds
  `nameserver ADDR`, and its nslookup gets the address from berth (its
  /metrics counts the queries); with berth stopped, the same lookup fails.
- A private dockerd started with `--config-file` naming a daemon.json that
  holds `"dns": [ADDR]`: a host-network container run with no `--dns` gets
  that nameserver and resolves the name through berth.

The containers run with `docker run --rm` through the docker CLI (the commands
the README names), under names of this session, and are removed by name at the
end if still there; berth is stopped by PID.
"""
import json
import re
import socket
import subprocess

import pytest

from docker_env import (IMAGE, OWNER, OWNER_LABEL, DockerKit, PrivateDockerd, addrs_equal, ip_of,
                        start_docker_berth, stop_berths, running)
from docker_env import dockerd, kit  # noqa: F401 (fixtures)

# Loopback addresses the test may take for berth's port 53 (the first free one).
ADDRS = ["127.0.0.%d" % i for i in range(77, 100)]


def free_loopback_53():
    """The first address of ADDRS whose port 53 is free over UDP and TCP."""
    for addr in ADDRS:
        free = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((addr, 53))
            except OSError:
                free = False
            finally:
                s.close()
        if free:
            return addr
    pytest.fail("port 53 is taken on every one of %s..%s" % (ADDRS[0], ADDRS[-1]), pytrace=False)


def docker_run(engine, k, suffix, options, command):
    """`docker -H URL run --rm --name SESSION-suffix OPTIONS IMAGE COMMAND`;
    returns the CompletedProcess. The name goes into k's list, so that the
    container is removed by name at the end if --rm left it."""
    name = k.name(suffix)
    k.container_ids.append(name)
    argv = (["docker", "-H", engine.url, "run", "--rm", "--name", name,
             "--label", "%s=%s" % (OWNER_LABEL, OWNER)] + list(options) + [IMAGE] + list(command))
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    print("$ %s\n-> exit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def nameservers(resolv_conf):
    return [line.split()[1] for line in resolv_conf.splitlines()
            if line.startswith("nameserver") and len(line.split()) > 1]


def nslookup_answer(out, name):
    """(server, [addresses of name]) from busybox nslookup's output:
    "Server: S / Address: S:53", a blank line, then "Name: N / Address: A"."""
    blocks = out.split("\n\n")
    server = re.search(r"^Server:\s*(\S+)", blocks[0], re.M)
    addrs = []
    for block in blocks[1:]:
        if re.search(r"^Name:\s*%s\.?$" % re.escape(name), block, re.M):
            addrs += re.findall(r"^Address:\s*(\S+)$", block, re.M)
    return (server.group(1) if server else None), addrs


def counters(b):
    """berth's /metrics samples, {"name{labels}": value}."""
    st, body = b.http_get("/metrics")
    assert st == 200, "GET /metrics: %d" % st
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


RECEIVED = "berth_queries_received_total"
A_QUERIES = 'berth_queries_by_type_total{type="A"}'
NOERROR = 'berth_queries_total{rcode="NOERROR"}'


def lookup_through_berth(engine, k, b, suffix, options, name, ip):
    """Run nslookup NAME in a host-network container (with options) and check
    that berth answered it with ip, as its counters show."""
    before = counters(b)
    p = docker_run(engine, k, suffix, ["--network", "host"] + options, ["nslookup", name])
    after = counters(b)
    assert p.returncode == 0, "nslookup failed:\n%s%s" % (p.stdout, p.stderr)
    server, addrs = nslookup_answer(p.stdout, name)
    assert server == b.dns_addr, p.stdout
    assert addrs == [ip], p.stdout
    # busybox asks A and AAAA: both reached berth, and the A was berth's own answer.
    assert after[RECEIVED] - before[RECEIVED] >= 2, (before, after)
    assert after[A_QUERIES] - before[A_QUERIES] >= 1, (before, after)
    assert after[NOERROR] - before[NOERROR] >= 1, (before, after)


@pytest.fixture
def berths(tmp_path):
    """Factory: berths(url, addr=None) -> DockerBerth also listening on a free
    loopback address of ADDRS, port 53 (b.dns_addr). Stopped at the end by PID;
    each must exit 0."""
    started = []

    def start(url, addr=None):
        addr = addr or free_loopback_53()
        b = start_docker_berth(tmp_path, url, ["--listen", addr + ":53"])
        b.dns_addr = addr
        started.append(b)
        return b
    yield start
    problems = stop_berths(started)
    assert not problems, problems


def test_dns_option_on_a_host_network_container(dockerd, kit, berths):  # noqa: F811
    web = kit.create("dnsweb")
    ip = ip_of(web)
    name = web.name + ".docker"
    b = berths(dockerd.url)
    b.wait_for_answer(name, predicate=addrs_equal([ip]))

    p = docker_run(dockerd, kit, "dnsresolv", ["--network", "host", "--dns", b.dns_addr],
                   ["cat", "/etc/resolv.conf"])
    assert p.returncode == 0, p.stderr
    assert nameservers(p.stdout) == [b.dns_addr], p.stdout

    lookup_through_berth(dockerd, kit, b, "dnslookup", ["--dns", b.dns_addr], name, ip)

    # Nothing else answers that name there: with berth gone the lookup fails.
    assert b.stop() == 0
    p = docker_run(dockerd, kit, "dnsdown", ["--network", "host", "--dns", b.dns_addr],
                   ["nslookup", name])
    assert p.returncode != 0, p.stdout
    assert ip not in nslookup_answer(p.stdout, name)[1], p.stdout


@pytest.fixture
def dns_engine(tmp_path):
    """A private dockerd whose --config-file holds {"dns": [ADDR]} (d.dns_addr,
    a free loopback address of ADDRS)."""
    addr = free_loopback_53()
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"dns": [addr]}) + "\n")
    d = PrivateDockerd("dj", extra_args=["--config-file", str(cfg)])
    d.dns_addr = addr
    yield from running(d)


@pytest.fixture
def dns_kit(dns_engine):
    k = DockerKit(dns_engine)
    yield k
    errors = k.cleanup()
    assert not errors, errors


def test_daemon_json_dns_on_a_host_network_container(dns_engine, dns_kit, berths,
                                                     dockerd, kit):  # noqa: F811
    web = dns_kit.create("djweb")
    ip = ip_of(web)
    name = web.name + ".docker"
    b = berths(dns_engine.url, dns_engine.dns_addr)
    b.wait_for_answer(name, predicate=addrs_equal([ip]))

    p = docker_run(dns_engine, dns_kit, "djresolv", ["--network", "host"],
                   ["cat", "/etc/resolv.conf"])
    assert p.returncode == 0, p.stderr
    assert nameservers(p.stdout) == [b.dns_addr], p.stdout

    lookup_through_berth(dns_engine, dns_kit, b, "djlookup", [], name, ip)

    # The nameserver came from that daemon.json: the shared engine, without
    # one, gives the same container another.
    p = docker_run(dockerd, kit, "nodjresolv", ["--network", "host"], ["cat", "/etc/resolv.conf"])
    assert p.returncode == 0, p.stderr
    assert b.dns_addr not in nameservers(p.stdout), p.stdout
