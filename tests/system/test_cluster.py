# SPDX-License-Identifier: MIT
"""berth across hosts: three nodes on one real etcd share their names.

Node a follows the shared dockerd, node b (in the two-engine test) a private
dockerd of its own, node c has no Docker and publishes hosts-file and manual
records. Every node is a real berth on loopback ports; etcd is a real member
started by the test (etcd_env). The advertise addresses are TEST-NET addresses
that are answered, never contacted. The failure cases (kill -9, etcd outages,
member failover, hostile values, auth) are in test_cluster_faults.py.
"""
import json
import time

import docker.errors
import pytest

from cluster_env import PROPAGATE, nodes  # noqa: F401
from conftest import LOOP4
from docker_env import IMAGE, DockerKit, PrivateDockerd, dockerd, ip_of, kit, running  # noqa: F401
from etcd_env import EtcdClient, etcd  # noqa: F401

ADV_A, ADV_B, ADV_C = "198.51.100.1", "198.51.100.2", "198.51.100.3"
TOKEN = "cluster-test-token"


def reverse(ip):
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def svc(name, ips):
    """A dnsdock service whose image is its name: it answers at <name>.docker."""
    return {"name": name, "image": name, "ips": ips}


def writes(n):
    return n.metric("berth_cluster_etcd_writes_total")


# --------------------------------------------------------------------------
# records without Docker

def test_hosts_and_manual_records_reach_every_node(tmp_path, etcd, nodes):  # noqa: F811
    hosts = tmp_path / "hosts-c"
    hosts.mkdir()
    (hosts / "lab").write_text("192.0.2.31 printer.docker\n192.0.2.32 nas.docker nas-alias.docker\n")
    c = nodes("c", etcd.urls, ADV_C,
              args=["--hosts-dir", str(hosts), "--publish", "hosts,manual", "--api-token", TOKEN])
    a = nodes("a", etcd.urls, ADV_A)
    b = nodes("b", etcd.urls, ADV_B, args=["--api-token", TOKEN])

    # What c had before the others joined reaches them: read, not only watched.
    for n in (a, b):
        n.wait_texts("printer.docker", "A", {"192.0.2.31"})
        n.wait_texts("nas-alias.docker", "A", {"192.0.2.32"})
        n.wait_texts(reverse("192.0.2.31"), "PTR", {"printer.docker."})

    # A file edit on c follows everywhere; the removed name goes.
    (hosts / "lab").write_text("192.0.2.33 printer.docker\n")
    for n in (a, b):
        n.wait_texts("printer.docker", "A", {"192.0.2.33"})
        n.wait_texts("nas.docker", "A", set())

    # A manual service put on b answers on a and c; deleted, it goes.
    st, body = b.http("PUT", "/services/web1", svc("shop", ["192.0.2.40"]),
                      token=TOKEN)
    assert st in (200, 201), body
    for n in (a, c):
        took = n.wait_texts("shop.docker", "A", {"192.0.2.40"})
        print("manual PUT on b -> answer on %s: %.0f ms" % (n.name, took * 1e3))
    st, body = b.http("DELETE", "/services/web1", token=TOKEN)
    assert st in (200, 204), body
    for n in (a, c):
        n.wait_texts("shop.docker", "A", set())

    # The remote origins are the registry's, as /dns/records shows them.
    recs = a.get_json("/dns/records")
    origins = {r.get("origin") or r.get("source") for r in recs["records"]}
    assert any(o and o.startswith("node:c/hosts:") for o in origins), sorted(map(str, origins))


def test_identical_content_is_not_written_again_and_bursts_are_batched(tmp_path, etcd, nodes):  # noqa: F811
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    count = 300
    for i in range(count):
        (hosts / ("f%03d" % i)).write_text("192.0.2.%d h%03d.docker\n" % (i % 250 + 1, i))
    c = nodes("c", etcd.urls, ADV_C, args=["--hosts-dir", str(hosts), "--publish", "hosts"])
    a = nodes("a", etcd.urls, ADV_A)
    a.wait_texts("h299.docker", "A", {"192.0.2.50"})
    assert writes(c) == count
    txns = c.stderr().count("cluster: wrote ")
    print("%d origins written in %d transactions" % (count, txns))
    assert txns <= 2 * (count // 128 + 1), "a burst of %d origins took %d transactions" % (count, txns)

    # Rewriting a file with the same content changes nothing in etcd.
    rev = EtcdClient(etcd.urls).revision()
    (hosts / "f007").write_text((hosts / "f007").read_text())
    (hosts / "f008").write_text("192.0.2.251 h008.docker\n")     # one real change
    a.wait_texts("h008.docker", "A", {"192.0.2.251"})
    time.sleep(0.3)
    assert writes(c) == count + 1, "expected exactly one more write, have %s" % writes(c)
    assert EtcdClient(etcd.urls).revision() == rev + 1


def test_publish_chooses_what_leaves_the_node(tmp_path, etcd, nodes):  # noqa: F811
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    (hosts / "x").write_text("192.0.2.61 private.docker\n")
    a = nodes("a", etcd.urls, ADV_A, args=["--hosts-dir", str(hosts), "--api-token", TOKEN])
    b = nodes("b", etcd.urls, ADV_B)
    st, _ = a.http("PUT", "/services/s", svc("public", ["192.0.2.62"]), token=TOKEN)
    assert st in (200, 201)
    b.wait_texts("public.docker", "A", {"192.0.2.62"})
    assert a.texts("private.docker") == {"192.0.2.61"}
    assert b.texts("private.docker") == set(), "hosts files are not published by default"
    keys = EtcdClient(etcd.urls).get_prefix("/berth/v1/records/a/")
    assert [k for k in keys if b"hosts:" in k] == [], keys.keys()


def test_clusters_with_other_prefixes_share_one_etcd(tmp_path, etcd, nodes):  # noqa: F811
    a = nodes("a", etcd.urls, ADV_A, args=["--api-token", TOKEN], prefix="/team1")
    b = nodes("b", etcd.urls, ADV_B, prefix="/team1")
    x = nodes("a", etcd.urls, ADV_C, prefix="/team2")      # the same node name, elsewhere
    st, _ = a.http("PUT", "/services/s", svc("t1", ["192.0.2.71"]), token=TOKEN)
    assert st in (200, 201)
    b.wait_texts("t1.docker", "A", {"192.0.2.71"})
    assert x.texts("t1.docker") == set()
    assert [n["name"] for n in x.cluster()["nodes"]] == ["a"]
    assert EtcdClient(etcd.urls).get_prefix("/berth/") == {}


def test_cluster_endpoint_and_metrics(tmp_path, etcd, nodes):  # noqa: F811
    a = nodes("a", etcd.urls, ADV_A, args=["--api-token", TOKEN])
    b = nodes("b", etcd.urls, ADV_B)
    st, _ = a.http("PUT", "/services/s", svc("m", ["192.0.2.81", "192.0.2.82"]),
                   token=TOKEN)
    assert st in (200, 201)
    b.wait_texts("m.docker", "A", {"192.0.2.81", "192.0.2.82"})

    cl = b.cluster()
    assert cl["distributed"] is True and cl["node"] == "b"
    by = {n["name"]: n for n in cl["nodes"]}
    assert set(by) == {"a", "b"}
    assert by["b"]["self"] is True and by["a"]["self"] is False
    assert by["a"]["address"] == ADV_A and by["a"]["state"] == "alive"
    assert by["a"]["records"] == b.etcd_source()["remote_records"] > 0
    assert by["a"]["version"]
    assert by["a"]["last_change"].endswith("Z")
    link = cl["etcd"]
    assert link["endpoint"] == etcd.urls[0] and link["state"] == "connected"
    assert link["revision"] > 0 and link["lease"] and link["last_error"] is None

    src = b.etcd_source()
    assert src["state"] == "ok"
    health = b.get_json("/health")
    assert health["status"] == "healthy"

    m = b.metrics()
    for family in ("berth_cluster_etcd_writes_total", "berth_cluster_watch_events_total",
                   "berth_cluster_full_reads_total", "berth_cluster_propagation_seconds_bucket",
                   'berth_cluster_remote_records{node="a"} %d' % by["a"]["records"]):
        assert family in m, family
    assert b.metric("berth_cluster_propagation_seconds_count") >= 1
    assert b.metric("berth_cluster_etcd_up") == 1


# --------------------------------------------------------------------------
# containers

def published(c, port=80):
    c.reload()
    return int(c.attrs["NetworkSettings"]["Ports"]["%d/tcp" % port][0]["HostPort"])


def test_containers_are_published_as_other_hosts_reach_them(tmp_path, etcd, nodes, dockerd, kit):  # noqa: F811
    routable = kit.network("routed")
    a = nodes("a", etcd.urls, ADV_A, docker=dockerd.url,
              args=["--routable-network", routable.name])
    c = nodes("c", etcd.urls, ADV_C)

    api = kit.api
    # A published port: the node's address, and an SRV with the host port.
    r = api.create_container(IMAGE, command=["sleep", "3600"], name=kit.name("pub"),
                             labels={"berth.test.owner": "berth-tests"}, ports=[80],
                             host_config=api.create_host_config(port_bindings={80: ("127.0.0.1",)}),
                             stop_signal="SIGKILL")
    kit.container_ids.append(r["Id"])
    pub = dockerd.client().containers.get(r["Id"])
    pub.start()
    port = published(pub)
    own = ip_of(pub)
    name = pub.name + ".docker"
    took = c.wait_texts(name, "A", {ADV_A})
    print("container start on a -> answer on c: %.0f ms" % (took * 1e3))
    assert a.texts(name) == {own}, "a answers with the container's own address"
    assert c.texts("_80._tcp." + name, "SRV") == {"0 0 %d %s." % (port, name)}
    assert c.texts(reverse(own), "PTR") == set(), "no PTR for an address that is not reachable"
    assert c.texts(pub.id[:12] + ".docker") == {ADV_A}, "ID names travel too"

    # No published port, no routable network: not published at all.
    hidden = kit.create("hidden")
    a.wait_texts(hidden.name + ".docker", "A", {ip_of(hidden)})
    time.sleep(0.3)
    assert c.texts(hidden.name + ".docker") == set()

    # On a routable network: its own address, with its PTR.
    onnet = kit.create("onnet", network=routable, aliases=["svc-alias"])
    ip = ip_of(onnet, routable)
    c.wait_texts(onnet.name + ".docker", "A", {ip})
    c.wait_texts(reverse(ip), "PTR", {onnet.name + ".docker."})
    c.wait_texts("svc-alias.docker", "A", {ip})

    # Rename and stop follow everywhere.
    onnet.rename(kit.name("renamed"))
    c.wait_texts(kit.name("renamed") + ".docker", "A", {ip})
    c.wait_texts(onnet.name + ".docker", "A", set())
    pub.kill()
    c.wait_texts(name, "A", set())
    c.wait_texts("_80._tcp." + name, "SRV", set())


def test_health_decides_on_every_node(tmp_path, etcd, nodes, dockerd, kit):  # noqa: F811
    routable = kit.network("hc")
    a = nodes("a", etcd.urls, ADV_A, docker=dockerd.url,
              args=["--routable-network", routable.name])
    c = nodes("c", etcd.urls, ADV_C)
    flag = "/tmp/healthy"
    hc = {"test": ["CMD", "test", "-e", flag], "interval": 200_000_000, "timeout": 500_000_000,
          "retries": 1}
    ctr = kit.create("hc", network=routable, healthcheck=hc,
                     command=["sh", "-c", "touch %s; sleep 3600" % flag])
    ip = ip_of(ctr, routable)
    c.wait_texts(ctr.name + ".docker", "A", {ip}, timeout=10)
    ctr.exec_run(["rm", "-f", flag])
    c.wait_texts(ctr.name + ".docker", "A", set(), timeout=10)
    ctr.exec_run(["touch", flag])
    c.wait_texts(ctr.name + ".docker", "A", {ip}, timeout=10)


@pytest.fixture
def pd():
    yield from running(PrivateDockerd("cl"))


def tag_redis(d):
    try:
        d.client().images.get("berth-test/redis:latest")
    except docker.errors.ImageNotFound:
        d.client().images.get(IMAGE).tag("berth-test/redis", "latest")


@pytest.mark.slow
def test_two_engines_meet(tmp_path, etcd, nodes, dockerd, kit, pd):  # noqa: F811
    """redis.docker answers with every redis container of every node, and the
    ID prefix of a container on another engine finds it."""
    bkit = DockerKit(pd)
    try:
        tag_redis(dockerd)
        tag_redis(pd)
        a = nodes("a", etcd.urls, ADV_A, docker=dockerd.url, args=["--publish-unreachable"])
        b = nodes("b", etcd.urls, ADV_B, docker=pd.url, args=["--publish-unreachable"])
        c = nodes("c", etcd.urls, ADV_C)
        ra = kit.create("ra", image="berth-test/redis:latest")
        rb = bkit.create("rb", image="berth-test/redis:latest")
        for n, expect in ((c, {ADV_A, ADV_B}), (a, {ip_of(ra), ADV_B}), (b, {ADV_A, ip_of(rb)})):
            n.wait_texts("redis.docker", "A", expect)
        c.wait_texts(rb.id[:16] + ".docker", "A", {ADV_B})
        # Rotated: both orders are seen.
        orders = set()
        for _ in range(30):
            r = c.ask("redis.docker")
            orders.add(tuple(rd.to_text() for rs in r.answer for rd in rs))
        assert len(orders) > 1, orders
        rb.kill()
        c.wait_texts("redis.docker", "A", {ADV_A})
        a.wait_texts("redis.docker", "A", {ip_of(ra)})
    finally:
        errors = bkit.cleanup()
        assert not errors, errors


def test_without_etcd_nothing_changes(tmp_path, nodes):  # noqa: F811
    """No --etcd: no cluster code runs; /dns/cluster is this node alone."""
    from conftest import Berth, free_port
    hp = free_port(LOOP4)
    b = Berth(tmp_path, ["--http", "%s:%d" % (LOOP4, hp)], defaults=True)
    try:
        b.wait_ready()
        import http.client
        conn = http.client.HTTPConnection(LOOP4, hp, timeout=5)
        conn.request("GET", "/dns/cluster")
        cl = json.loads(conn.getresponse().read())
        assert cl["distributed"] is False and len(cl["nodes"]) == 1 and "etcd" not in cl
        conn.request("GET", "/metrics")
        assert "berth_cluster_" not in conn.getresponse().read().decode()
        assert "cluster" not in b.stderr()
    finally:
        assert b.stop() == 0
