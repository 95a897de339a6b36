# SPDX-License-Identifier: MIT
"""berth against a real dockerd: container start, stop, rename, pause, network
connect/disconnect, healthcheck transitions, compose labels and every naming
rule of README's "Container names".

The containers run busybox `sleep 3600` from the image scripts/dockerd imports.
Their addresses are read from `docker inspect` and never contacted: every DNS
query goes to berth on 127.0.0.1. Networks are bridges inside dockerd with
subnets of their own (10.200-250.x.0/24); nothing is sent over them.

The dockerd may be shared with other users (a developer's own containers, other
test sessions): names are prefixed with the session's name, and answers that
cover "every container" (`*.docker`, `busybox.docker`) are checked to include
ours and to exclude a container that must not match.
The dockerd restart tests are in test_docker_restart.py, the 200-container
burst in test_docker_burst.py.
"""
import concurrent.futures
import os
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import answer_texts, rrsets
from docker_env import (OTHER_IMAGE, SESSION, DockerKit, addrs_equal, assert_stays,  # noqa: F811
                        dockerd, docker_berth, ip_of, kit,  # noqa: F401 (fixtures)
                        no_records, not_answered, nxdomain, reverse_name, start_docker_berth,
                        stop_berths, summary, wait_for_answer)

HOST_IP = "192.0.2.99"
TTL = 7
HEALTHCHECK = {"test": ["CMD", "test", "-f", "/tmp/ok"], "interval": 1_000_000_000,
               "timeout": 1_000_000_000, "retries": 1, "start_period": 0}
# How long berth may take to follow an event here: the target is 10 ms; the
# bound is loose because the machine may be busy (a shared dockerd).
FOLLOW = 3.0


def N(suffix):
    """The name of one of this session's containers."""
    return DockerKit.name(suffix)


def D(name):
    return name + ".docker"


# --------------------------------------------------------------------------
# module fixtures: one network and one berth shared by most tests

@pytest.fixture(scope="module")
def mkit(dockerd):
    k = DockerKit(dockerd)
    yield k
    errors = k.cleanup()
    assert not errors, errors


@pytest.fixture(scope="module")
def mnet(mkit):
    return mkit.network("main")


@pytest.fixture(scope="module")
def zb(dockerd, tmp_path_factory):
    """berth following the session's dockerd, started before any container of
    this module: --host-ip 192.0.2.99 --bare-hostnames --ttl 7."""
    b = start_docker_berth(tmp_path_factory.mktemp("zb"), dockerd.url,
                           ["--host-ip", HOST_IP, "--bare-hostnames", "--ttl", str(TTL)])
    yield b
    problems = stop_berths([b])
    assert not problems, problems


def run_parallel(fn, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


def ttl_of(m, rdtype="A"):
    rs = rrsets(m, rdtype)
    assert rs, summary(m)
    return rs[0].ttl


# --------------------------------------------------------------------------
# start, stop, remove

def test_start_answers_within_a_second_and_stop_removes(zb, kit, mnet, dockerd):
    c = kit.create("web", network=mnet, start=False)
    name = D(c.name)
    assert nxdomain(zb.ask(name)), "a created (not started) container answers"

    # Watch the start event as Docker publishes it (berth reads the same
    # stream), and poll berth tightly from before `docker start`.
    seen = {}
    stream = dockerd.client().events(decode=True, filters={"container": c.id, "event": "start"})

    def watch():
        for _ in stream:
            seen["event"] = time.monotonic()
            return

    def poll():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = zb.ask(name)
            if m.rcode() == dns.rcode.NOERROR and answer_texts(m, "A"):
                seen["answer"] = time.monotonic()
                seen["msg"] = m
                return
            time.sleep(0.001)

    tw = threading.Thread(target=watch, daemon=True)
    tp = threading.Thread(target=poll, daemon=True)
    tw.start()
    tp.start()
    t0 = time.monotonic()
    c.start()
    t1 = time.monotonic()
    tp.join(6)
    tw.join(2)
    stream.close()
    ip = ip_of(c, mnet)
    assert "answer" in seen, "%s not answered within 5 s of docker start" % name
    assert set(answer_texts(seen["msg"], "A")) == {ip}, summary(seen["msg"])
    from_call = seen["answer"] - t0
    print("start -> answer: %.1f ms after calling docker start, %.1f ms after it returned%s"
          % (from_call * 1e3, (seen["answer"] - t1) * 1e3,
             ", %.1f ms after the start event reached the test" % (
                 (seen["answer"] - seen["event"]) * 1e3) if "event" in seen else ""))
    # `docker start` itself may take a second or more on a busy machine: the
    # bound counts from the start event (or from `docker start` returning).
    ref, what = (seen["event"], "the start event") if "event" in seen else (t1, "docker start")
    latency = seen["answer"] - ref
    assert latency < 1.0, "answered %.0f ms after %s (bound 1 s)" % (latency * 1e3, what)
    assert seen["answer"] - t1 < 1.0

    t2 = time.monotonic()
    c.stop(timeout=0)
    wait_for_answer(zb, name, "A", nxdomain, timeout=FOLLOW)
    print("stop -> NXDOMAIN: %.1f ms after calling docker stop" % ((time.monotonic() - t2) * 1e3))
    assert nxdomain(zb.ask(c.id[:12] + ".docker"))
    c.remove(force=True)
    assert_stays(zb, name, "A", nxdomain, duration=0.3)


def test_initial_sync_lists_running_containers(kit, mnet, docker_berth):
    """Containers that run before berth starts answer as soon as it is ready."""
    c = kit.create("early", network=mnet)
    b = docker_berth()
    m = wait_for_answer(b, D(c.name), "A", addrs_equal({ip_of(c, mnet)}), timeout=2.0)
    assert m.flags & 0x0400, "not authoritative"


def test_default_bridge_network(zb, kit, dockerd):
    if not dockerd.has_network("bridge"):
        pytest.skip("this dockerd has no default bridge (--bridge=none)")
    opts = dockerd.client().networks.get("bridge").attrs.get("Options") or {}
    ifname = opts.get("com.docker.network.bridge.name", "docker0")
    if not os.path.exists("/sys/class/net/" + ifname):
        pytest.skip("the default bridge's interface %s is gone from this host" % ifname)
    c = kit.create("dflt")
    wait_for_answer(zb, D(c.name), "A", addrs_equal({ip_of(c, "bridge")}), timeout=FOLLOW)


def test_name_made_a_valid_dns_label(zb, kit, mnet):
    """README: names that are not valid DNS labels are made valid (naming.h:
    "My_App.1" -> "my-app-1"), never rejected."""
    c = kit.create(name="%s_Up.Case" % SESSION, network=mnet)
    wait_for_answer(zb, D("%s-up-case" % SESSION), "A", addrs_equal({ip_of(c, mnet)}),
                    timeout=FOLLOW)


# --------------------------------------------------------------------------
# dnsdock names

def test_dnsdock_names(zb, kit, mnet, docker_berth):
    web, web2, oth = run_parallel(lambda a: kit.create(a[0], network=mnet, image=a[1]),
                                  [("dd1", "berth-test/busybox:latest"),
                                   ("dd2", "berth-test/busybox:latest"),
                                   ("dd3", OTHER_IMAGE)])
    ip1, ip2, ip3 = (ip_of(c, mnet) for c in (web, web2, oth))
    n1 = web.name
    wait_for_answer(zb, D(n1), "A", addrs_equal({ip1}), timeout=FOLLOW)
    wait_for_answer(zb, D(oth.name), "A", addrs_equal({ip3}), timeout=FOLLOW)
    wait_for_answer(zb, D(web2.name), "A", addrs_equal({ip2}), timeout=FOLLOW)

    # <name>.<image>.docker, and the image alone: every container of the image.
    assert zb.a(n1 + ".busybox.docker") == {ip1}
    assert zb.a(oth.name + ".other.docker") == {ip3}
    assert zb.a(n1 + ".other.docker") == set(), "name matched under another image"
    bb = zb.a("busybox.docker")
    assert {ip1, ip2} <= bb and ip3 not in bb, bb
    other = zb.a("other.docker")
    assert ip3 in other and not ({ip1, ip2} & other), other
    # Extra labels on the left are ignored.
    assert zb.a("anything.%s.busybox.docker" % n1) == {ip1}
    assert zb.a("a.b.%s.busybox.docker" % n1) == {ip1}
    # '*' matches any one label.
    assert {ip1, ip2, ip3} <= zb.a("*.docker")
    assert zb.a("%s.*.docker" % n1) == {ip1}
    star_bb = zb.a("*.busybox.docker")
    assert {ip1, ip2} <= star_bb and ip3 not in star_bb, star_bb
    # Case-insensitive, the question's case kept.
    m = zb.ask(n1.upper() + ".BusyBox.Docker")
    assert set(answer_texts(m, "A")) == {ip1}
    assert str(m.answer[0].name) == n1.upper() + ".BusyBox.Docker."
    # Without an environment, "prod" is not one: <name>.busybox.prod.docker
    # reads as image "prod" and matches nothing of ours.
    assert not ({ip1, ip2} & zb.a(n1 + ".busybox.prod.docker"))

    # --environment prod: <name>.<image>.<env>.<domain>, labels left out from the left.
    pb = docker_berth("--environment", "prod")
    wait_for_answer(pb, n1 + ".busybox.prod.docker", "A", addrs_equal({ip1}), timeout=2.0)
    assert {ip1, ip2} <= pb.a("busybox.prod.docker")
    assert ip3 not in pb.a("busybox.prod.docker")
    assert {ip1, ip2, ip3} <= pb.a("prod.docker")
    assert pb.a("x.%s.busybox.prod.docker" % n1) == {ip1}
    assert pb.a(D(n1)) == {ip1}, "<name>.docker must answer with an environment too"


def test_docker_dns_id_prefixes_and_bare_hostnames(zb, kit, mnet, dockerd, docker_berth):
    c = kit.create("idc", network=mnet, hostname="%s-hn" % SESSION)
    c2 = kit.create("idd", network=mnet)         # hostname: Docker's default, the short ID
    ip, ip2 = ip_of(c, mnet), ip_of(c2, mnet)
    wait_for_answer(zb, D(c.name), "A", addrs_equal({ip}), timeout=FOLLOW)
    wait_for_answer(zb, D(c2.name), "A", addrs_equal({ip2}), timeout=FOLLOW)

    assert zb.a(c.id[:12] + ".docker") == {ip}
    assert zb.a(c.id[:63] + ".docker") == {ip}
    assert zb.a(c.id[:12].upper() + ".docker") == {ip}
    # 4 hex digits: every running container whose ID starts so (others' too).
    p4 = c.id[:4]
    sharing = [x for x in dockerd.client().api.containers() if x["Id"].startswith(p4)]
    got = zb.a(p4 + ".docker")
    assert ip in got, got
    if len(sharing) == 1:
        assert got == {ip}
    # Fewer than 4 digits is not an ID prefix.
    assert ip not in zb.a(c.id[:3] + ".docker")

    # --bare-hostnames: "<hostname>." (docker_dns). The automatic hostname (the
    # short ID) of a container that was given another one does not answer.
    assert zb.a("%s-hn." % SESSION) == {ip}
    assert zb.a(c2.id[:12] + ".") == {ip2}
    assert ip not in zb.a(c.id[:12] + ".")
    # Off by default.
    plain = docker_berth()
    wait_for_answer(plain, D(c.name), "A", addrs_equal({ip}), timeout=2.0)
    assert ip not in plain.a("%s-hn." % SESSION)


# --------------------------------------------------------------------------
# labels and environment variables

def test_labels_and_env_overrides(zb, kit, mnet):
    S = SESSION
    specs = {
        "bname": dict(labels={"berth.name": S + "-bn"}),
        "multi": dict(labels={"berth.alias": "%s-al1.docker,%s-al2.example.test" % (S, S),
                              "berth.ttl": "42", "berth.image": S + "img"}),
        "ignore": dict(labels={"berth.ignore": "true"}),
        "dign": dict(env={"DNSDOCK_IGNORE": "true"}),
        "lign": dict(labels={"com.dnsdock.ignore": "true"}),
        # com.dnsdock.* labels, and DNSDOCK_NAME losing to com.dnsdock.name.
        "dlabel": dict(labels={"com.dnsdock.name": S + "-dl", "com.dnsdock.ttl": "21",
                               "com.dnsdock.alias": S + "-dla.docker"},
                       env={"DNSDOCK_NAME": S + "-qc"}),
        "denv": dict(env={"DNSDOCK_NAME": S + "-en", "DNSDOCK_TTL": "33",
                          "DNSDOCK_IMAGE": S + "img2",
                          "DNSDOCK_ALIAS": "%s-ea1.docker,%s-ea2.example.test" % (S, S)}),
        # berth.* first, then com.dnsdock.*, then DNSDOCK_*.
        "prec": dict(labels={"berth.name": S + "-pa", "com.dnsdock.name": S + "-pb"},
                     env={"DNSDOCK_NAME": S + "-pc"}),
        "plain": dict(labels={"joyride.host.name": "app.example.test,%s-j2.example.test" % S}),
    }
    keys = list(specs)
    made = run_parallel(lambda k: kit.create(k, network=mnet, **specs[k]), keys)
    c = dict(zip(keys, made))
    ip = {k: ip_of(v, mnet) for k, v in c.items()}

    wait_for_answer(zb, D(c["plain"].name), "A", addrs_equal({ip["plain"]}), timeout=FOLLOW)
    wait_for_answer(zb, D(c["multi"].name), "A", addrs_equal({ip["multi"]}), timeout=FOLLOW)
    for k, n in (("bname", "-bn"), ("dlabel", "-dl"), ("denv", "-en"), ("prec", "-pa")):
        wait_for_answer(zb, S + n + ".docker", "A", addrs_equal({ip[k]}), timeout=FOLLOW)
    # --ttl is the default TTL of container records.
    assert ttl_of(zb.ask(D(c["plain"].name))) == TTL

    # berth.name replaces the name.
    assert nxdomain(zb.ask(D(c["bname"].name)))
    # berth.alias: full names, inside the domain or not; berth.ttl; berth.image.
    assert zb.a(S + "-al1.docker") == {ip["multi"]}
    assert zb.a(S + "-al2.example.test") == {ip["multi"]}
    assert ttl_of(zb.ask(D(c["multi"].name))) == 42
    assert ttl_of(zb.ask(S + "-al1.docker")) == 42
    assert zb.a("%s.%simg.docker" % (c["multi"].name, S)) == {ip["multi"]}
    assert zb.a("%s.busybox.docker" % c["multi"].name) == set()
    assert ip["multi"] not in zb.a("busybox.docker")
    # berth.ignore, DNSDOCK_IGNORE, com.dnsdock.ignore: no records at all.
    for k in ("ignore", "dign", "lign"):
        assert nxdomain(zb.ask(D(c[k].name))), k
        assert nxdomain(zb.ask(c[k].id[:12] + ".docker")), k
        assert not_answered("PTR")(zb.ask(reverse_name(ip[k]), "PTR")), k
        assert ip[k] not in zb.a("busybox.docker"), k
    # com.dnsdock.name / alias / ttl (and DNSDOCK_NAME loses to the label).
    m = zb.ask(S + "-dl.docker")
    assert set(answer_texts(m, "A")) == {ip["dlabel"]} and ttl_of(m) == 21, summary(m)
    assert zb.a(S + "-dla.docker") == {ip["dlabel"]}
    assert nxdomain(zb.ask(D(c["dlabel"].name)))
    assert nxdomain(zb.ask(S + "-qc.docker"))
    # DNSDOCK_NAME / DNSDOCK_ALIAS / DNSDOCK_TTL / DNSDOCK_IMAGE.
    m = zb.ask(S + "-en.docker")
    assert set(answer_texts(m, "A")) == {ip["denv"]} and ttl_of(m) == 33, summary(m)
    assert zb.a(S + "-ea1.docker") == {ip["denv"]}
    assert zb.a(S + "-ea2.example.test") == {ip["denv"]}
    assert zb.a("%s-en.%simg2.docker" % (S, S)) == {ip["denv"]}
    # Precedence.
    assert nxdomain(zb.ask(S + "-pb.docker")) and nxdomain(zb.ask(S + "-pc.docker"))
    # joyride.host.name: each fqdn answers with the host's address (--host-ip).
    assert zb.a("app.example.test") == {HOST_IP}
    assert zb.a(S + "-j2.example.test") == {HOST_IP}

    # Removing the container takes its overrides with it (a name outside the
    # domain that nobody owns any more is REFUSED: berth forwards nowhere here).
    kit.remove(c["multi"])
    wait_for_answer(zb, S + "-al2.example.test", "A", not_answered(), timeout=FOLLOW)
    assert nxdomain(zb.ask(S + "-al1.docker"))
    kit.remove(c["plain"])
    wait_for_answer(zb, S + "-j2.example.test", "A", not_answered(), timeout=FOLLOW)


# --------------------------------------------------------------------------
# compose

def test_compose_service_replicas_rotated(zb, kit, mnet):
    project = SESSION + "proj"

    def make(n):
        return kit.create(name="%s-web-%d" % (project, n), network=mnet, labels={
            "com.docker.compose.project": project, "com.docker.compose.service": "web",
            "com.docker.compose.container-number": str(n)})
    c1, c2 = run_parallel(make, [1, 2])
    ip1, ip2 = ip_of(c1, mnet), ip_of(c2, mnet)
    svc = "web.%s.docker" % project
    wait_for_answer(zb, svc, "A", addrs_equal({ip1, ip2}), timeout=FOLLOW)
    firsts = set()
    for _ in range(20):
        firsts.add(answer_texts(zb.ask(svc), "A")[0])
    assert firsts == {ip1, ip2}, "not rotated: first record always %s" % firsts
    assert zb.a("web-1.%s.docker" % project) == {ip1}
    assert zb.a("web-2.%s.docker" % project) == {ip2}
    assert nxdomain(zb.ask("web-3.%s.docker" % project))
    # One replica stops: the service keeps the other.
    c2.stop(timeout=0)
    wait_for_answer(zb, svc, "A", addrs_equal({ip1}), timeout=FOLLOW)
    assert nxdomain(zb.ask("web-2.%s.docker" % project))


# --------------------------------------------------------------------------
# networks

def test_networks_aliases_connect_disconnect_and_filter(zb, kit, docker_berth):
    net1 = kit.network("n1")
    net2 = kit.network("n2")
    b1 = docker_berth("--network", net1.name)
    b2 = docker_berth("--network", net2.name)
    c = kit.create("multi", network=net1, aliases=[SESSION + "-na1"])
    ip1 = ip_of(c, net1)
    name = D(c.name)
    wait_for_answer(zb, name, "A", addrs_equal({ip1}), timeout=FOLLOW)
    assert zb.a(SESSION + "-na1.docker") == {ip1}
    wait_for_answer(b1, name, "A", addrs_equal({ip1}), timeout=FOLLOW)
    assert no_records()(b2.ask(name)), "--network %s answers an address on %s" % (net2.name,
                                                                                  net1.name)

    # network connect: both addresses; --network keeps only its own.
    net2.connect(c, aliases=[SESSION + "-na2"])
    ip2 = ip_of(c, net2)
    wait_for_answer(zb, name, "A", addrs_equal({ip1, ip2}), timeout=FOLLOW)
    wait_for_answer(b2, name, "A", addrs_equal({ip2}), timeout=FOLLOW)
    assert b1.a(name) == {ip1}
    # An alias answers at least with the address on its own network (berth
    # answers it with every address of the container).
    assert ip2 in zb.a(SESSION + "-na2.docker"), "alias on %s" % net2.name
    assert zb.a(reverse_name(ip2), "PTR") == {name + "."}

    # network disconnect: the address and the alias on that network go.
    net1.disconnect(c)
    wait_for_answer(zb, name, "A", addrs_equal({ip2}), timeout=FOLLOW)
    wait_for_answer(zb, SESSION + "-na1.docker", "A", nxdomain, timeout=FOLLOW)
    wait_for_answer(b1, name, "A", no_records(), timeout=FOLLOW)
    assert b2.a(name) == {ip2}
    assert not_answered("PTR")(zb.ask(reverse_name(ip1), "PTR"))


def test_split_horizon_client_on_a_container_network(zb, kit):
    """README: a client on one of a container's networks gets that network's
    address first. The client here is the host itself, asking berth on
    127.0.0.1 from its own address on the network (the bridge's gateway): the
    query still goes to loopback only."""
    net1, net2 = kit.network("sh1"), kit.network("sh2")
    c = kit.create("split", network=net1)
    net2.connect(c)
    ip1, ip2 = ip_of(c, net1), ip_of(c, net2)
    name = D(c.name)
    wait_for_answer(zb, name, "A", addrs_equal({ip1, ip2}), timeout=FOLLOW)
    for net, ip in ((net1, ip1), (net2, ip2)):
        net.reload()
        gw = net.attrs["IPAM"]["Config"][0].get("Gateway")
        if not gw:
            pytest.skip("no gateway address on %s: %s" % (net.name, net.attrs["IPAM"]))
        firsts = set()
        for _ in range(8):
            q = dns.message.make_query(name, "A")
            m = dns.query.udp(q, "127.0.0.1", port=zb.port, source=gw, timeout=1.0)
            assert set(answer_texts(m, "A")) == {ip1, ip2}, summary(m)
            firsts.add(answer_texts(m, "A")[0])
        assert firsts == {ip}, "asked from %s (on %s): first address %s, expected %s" % (
            gw, net.name, firsts, ip)


def test_ipv6_network_gives_aaaa(zb, kit):
    import random
    v6 = "fd%02x:%04x:%04x::/64" % (random.randint(0, 255), random.randint(0, 0xffff),
                                   random.randint(0, 0xffff))
    try:
        net = kit.network("v6", ipv6_subnet=v6)
    except Exception as e:   # noqa: BLE001
        pytest.skip("dockerd cannot make an IPv6 network here: %s" % e)
    c = kit.create("six", network=net)
    c.reload()
    st = c.attrs["NetworkSettings"]["Networks"][net.name]
    ip4, ip6 = st["IPAddress"], st["GlobalIPv6Address"]
    if not ip6:
        pytest.skip("the container got no IPv6 address: %s" % st)
    name = D(c.name)
    wait_for_answer(zb, name, "AAAA", addrs_equal({ip6}, "AAAA"), timeout=FOLLOW)
    assert zb.a(name) == {ip4}
    assert zb.a(reverse_name(ip6), "PTR") == {name + "."}


# --------------------------------------------------------------------------
# PTR and SRV

def test_ptr_and_srv_for_exposed_ports(zb, kit, mnet):
    c = kit.create("srv", network=mnet, expose=[8080, (5353, "udp")],
                   labels={"berth.srv.http": "8080", "berth.srv.dns": "5353/udp"})
    ip = ip_of(c, mnet)
    name = D(c.name)
    wait_for_answer(zb, name, "A", addrs_equal({ip}), timeout=FOLLOW)
    m = zb.ask(reverse_name(ip), "PTR")
    assert answer_texts(m, "PTR") == [name + "."], summary(m)

    def srv(q):
        m = zb.ask(q, "SRV")
        assert m.rcode() == dns.rcode.NOERROR, summary(m)
        return [(rd.port, rd.target.to_text()) for rs in rrsets(m, "SRV") for rd in rs]

    assert srv("_8080._tcp." + name) == [(8080, name + ".")]
    assert srv("_5353._udp." + name) == [(5353, name + ".")]
    assert srv("_http._tcp." + name) == [(8080, name + ".")]
    assert srv("_dns._udp." + name) == [(5353, name + ".")]
    assert not answer_texts(zb.ask("_8080._udp." + name, "SRV"), "SRV")
    assert not answer_texts(zb.ask("_9999._tcp." + name, "SRV"), "SRV")


# --------------------------------------------------------------------------
# rename, pause

def test_rename_and_pause(zb, kit, mnet):
    c = kit.create("ren", network=mnet)
    ip = ip_of(c, mnet)
    old, new = D(c.name), D(N("ren2"))
    wait_for_answer(zb, old, "A", addrs_equal({ip}), timeout=FOLLOW)
    c.rename(N("ren2"))
    wait_for_answer(zb, new, "A", addrs_equal({ip}), timeout=FOLLOW)
    wait_for_answer(zb, old, "A", nxdomain, timeout=FOLLOW)
    assert zb.a(reverse_name(ip), "PTR") == {new + "."}

    c.pause()
    wait_for_answer(zb, new, "A", no_records(), timeout=FOLLOW)
    assert no_records()(zb.ask(c.id[:12] + ".docker"))
    c.unpause()
    wait_for_answer(zb, new, "A", addrs_equal({ip}), timeout=FOLLOW)


# --------------------------------------------------------------------------
# healthcheck

def health(c):
    c.reload()
    return ((c.attrs.get("State") or {}).get("Health") or {}).get("Status")


def wait_health(c, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    while health(c) != want:
        assert time.monotonic() < deadline, "health %s, not %s, after %.0fs" % (
            health(c), want, timeout)
        time.sleep(0.1)


def test_healthcheck_transitions(zb, kit, mnet, docker_berth):
    inc = docker_berth("--include-unhealthy")
    c = kit.create("hc", network=mnet, healthcheck=HEALTHCHECK)
    ip = ip_of(c, mnet)
    name = D(c.name)
    # starting: --include-unhealthy answers, the default does not.
    wait_for_answer(inc, name, "A", addrs_equal({ip}), timeout=FOLLOW)
    if health(c) == "starting":
        assert no_records()(zb.ask(name)), "answered while starting: %s" % summary(zb.ask(name))
    # unhealthy (no /tmp/ok).
    wait_health(c, "unhealthy")
    time.sleep(0.2)
    assert_stays(zb, name, "A", no_records(), duration=0.5)
    assert inc.a(name) == {ip}
    # healthy once /tmp/ok exists.
    assert c.exec_run(["touch", "/tmp/ok"]).exit_code == 0
    wait_health(c, "healthy")
    t = time.monotonic()
    wait_for_answer(zb, name, "A", addrs_equal({ip}), timeout=FOLLOW)
    print("healthy -> answered %.1f ms after the test saw it" % ((time.monotonic() - t) * 1e3))
    assert inc.a(name) == {ip}
    # unhealthy again: gone again.
    assert c.exec_run(["rm", "/tmp/ok"]).exit_code == 0
    wait_health(c, "unhealthy")
    wait_for_answer(zb, name, "A", no_records(), timeout=FOLLOW)
    assert inc.a(name) == {ip}


# --------------------------------------------------------------------------
# containers without an address of their own

def test_host_none_and_container_network_modes_never_break_sync(zb, kit, mnet):
    base = kit.create("nmbase", network=mnet)
    h = kit.create("nmhost", network_mode="host")
    n = kit.create("nmnone", network_mode="none")
    j = kit.create("nmjoin", network_mode="container:" + base.id)
    after = kit.create("nmafter", network=mnet)
    wait_for_answer(zb, D(after.name), "A", addrs_equal({ip_of(after, mnet)}), timeout=FOLLOW)
    assert zb.a(D(base.name)) == {ip_of(base, mnet)}
    # The host network: the host's address (--host-ip).
    assert zb.a(D(h.name)) == {HOST_IP}
    # none and container:<id>: no address records of their own.
    assert no_records()(zb.ask(D(n.name)))
    assert no_records()(zb.ask(D(j.name)))
    # Removing them breaks nothing either.
    for c in (h, n, j):
        kit.remove(c)
    later = kit.create("nmlater", network=mnet)
    wait_for_answer(zb, D(later.name), "A", addrs_equal({ip_of(later, mnet)}), timeout=FOLLOW)
    assert zb.a(D(after.name)) == {ip_of(after, mnet)}
    wait_for_answer(zb, D(h.name), "A", nxdomain, timeout=FOLLOW)


# --------------------------------------------------------------------------
# /status

def test_status_reports_docker_source(zb, dockerd):
    src = zb.docker_source()
    assert src is not None, "no sources[] entry of kind docker in /status: %s" % zb.status()
    assert src.get("state") == "ok", src
    assert src.get("endpoint") == dockerd.url, src
    assert src.get("api_version"), src


def lag_histogram(zb):
    """berth_source_event_lag_seconds for the docker source, from /metrics:
    ({le: cumulative count}, sum, count)."""
    st, body = zb.http_get("/metrics")
    assert st == 200
    buckets, total, count = {}, None, None
    for line in body.decode().splitlines():
        if not line.startswith("berth_source_event_lag_seconds") or 'source="docker"' not in line:
            continue
        metric, value = line.rsplit(" ", 1)
        if metric.startswith("berth_source_event_lag_seconds_bucket"):
            le = metric.split('le="')[1].split('"')[0]
            buckets[le] = int(value)
        elif metric.startswith("berth_source_event_lag_seconds_sum"):
            total = float(value)
        elif metric.startswith("berth_source_event_lag_seconds_count"):
            count = int(value)
    assert buckets and total is not None and count is not None, body.decode()[-2000:]
    return buckets, total, count


def test_event_lag_histogram(zb, kit, mnet):
    # Every container event that led to new records is timed, from the event
    # reaching berth to the records: /metrics has it as a histogram.
    before, _, n0 = lag_histogram(zb)
    c = kit.create("lag", network=mnet)
    wait_for_answer(zb, D(c.name), "A", lambda m: bool(answer_texts(m, "A")), timeout=FOLLOW)
    buckets, total, n1 = lag_histogram(zb)
    assert n1 > n0, "no event timed for a started container"
    values = [buckets[k] for k in sorted((k for k in buckets if k != "+Inf"), key=float)]
    assert values == sorted(values), "buckets not cumulative: %s" % buckets
    assert buckets["+Inf"] == n1 and values[-1] <= n1
    assert 0 < total < n1 * FOLLOW, "sum %.3f s for %d events" % (total, n1)
    src = zb.docker_source()
    assert sum(src["event_lag"]["counts"]) >= n1, src
    c.remove(force=True)
