# SPDX-License-Identifier: MIT
"""HTTP routing through a real HAProxy that berth drives (docker highway).

HAProxy (Debian's haproxy) runs with a configuration made by
`berth haproxy-config`, listening on loopback ports only, with its Runtime API
on a unix socket in the test's directory; it is started and stopped by PID.
Containers run busybox's httpd with their port published on 127.0.0.1 only
(-p 127.0.0.1::8080), so HAProxy reaches them through loopback, never through a
container address. Requests go to HAProxy on 127.0.0.1 with a Host header.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from cluster_env import nodes  # noqa: F401
from conftest import BERTH_BIN, LOOP4, free_port
from docker_env import IMAGE, dockerd, docker_berth, kit  # noqa: F401
from etcd_env import etcd  # noqa: F401

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def httpd_command(text):
    return ["sh", "-c", "mkdir -p /www && echo %s > /www/index.html && "
                        "exec httpd -f -p 8080 -h /www" % text]


class HAProxy:
    def __init__(self, tmp):
        self.dir = tmp / "haproxy"
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port(LOOP4)
        self.tls_port = free_port(LOOP4)
        self.sock = str(self.dir / "admin.sock")
        r = subprocess.run([BERTH_BIN, "haproxy-config", "--dir", str(self.dir),
                            "--bind", "%s:%d" % (LOOP4, self.port),
                            "--tls-bind", "%s:%d" % (LOOP4, self.tls_port),
                            "--socket", self.sock, "--slots", "8"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        self.cfg = str(self.dir / "haproxy.cfg")
        assert r.stdout.strip() == self.cfg
        chk = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True)
        assert chk.returncode == 0, chk.stdout + chk.stderr
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.dir / "haproxy.log", "ab")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock) or not self.api_ok():
            assert self.proc.poll() is None, (self.dir / "haproxy.log").read_text()
            assert time.monotonic() < deadline, "HAProxy did not start"
            time.sleep(0.05)

    def api_ok(self):
        try:
            self.api("show info")
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self.log.close()
        try:
            os.unlink(self.sock)
        except OSError:
            pass

    def api(self, cmd):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(3)
        s.connect(self.sock)
        try:
            s.sendall((cmd + "\n").encode())
            out = b""
            while True:
                d = s.recv(65536)
                if not d:
                    return out.decode()
                out += d
        finally:
            s.close()

    def get(self, host, path="/"):
        c = http.client.HTTPConnection(LOOP4, self.port, timeout=3)
        try:
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace").strip()
        finally:
            c.close()

    def wait_get(self, host, want, timeout=10.0, path="/"):
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.get(host, path)
            except OSError as e:
                seen = e
            if seen == want or (callable(want) and not isinstance(seen, Exception) and want(seen)):
                return seen
            time.sleep(0.05)
        raise AssertionError("GET http://%s%s through HAProxy: %r, expected %r"
                             % (host, path, seen, want))


@pytest.fixture
def haproxy(tmp_path):
    h = HAProxy(tmp_path)
    yield h
    h.stop()


def routed(docker_berth, haproxy, *extra):  # noqa: F811
    return docker_berth("--http-domain", "local", "--proxy-address", "192.0.2.80",
                        "--haproxy-socket", haproxy.sock, *extra)


def web(kit, suffix, text, labels=None, **kw):  # noqa: F811
    """A busybox httpd container serving text on 8080, published on loopback."""
    api = kit.api
    all_labels = {"berth.test.owner": "berth-tests", "berth.http.port": "8080"}
    all_labels.update(labels or {})
    hc = kw.pop("healthcheck", None)
    r = api.create_container(IMAGE, command=kw.pop("command", httpd_command(text)),
                             name=kit.name(suffix), labels=all_labels, ports=[8080],
                             healthcheck=hc,
                             host_config=api.create_host_config(
                                 port_bindings={8080: (LOOP4,)}),
                             stop_signal="SIGKILL")
    kit.container_ids.append(r["Id"])
    api.start(r["Id"])
    return kit.client.containers.get(r["Id"])


def test_a_labelled_container_is_reached_by_name_through_haproxy(docker_berth, haproxy, kit):  # noqa: F811
    b = routed(docker_berth, haproxy)
    c = web(kit, "site", "hello-site")
    host = c.name + ".local"
    t0 = time.monotonic()
    haproxy.wait_get(host, (200, "hello-site"))
    print("container start -> 200 through HAProxy: %.0f ms" % ((time.monotonic() - t0) * 1e3))
    b.wait_for_answer(host, "A", lambda m: b.a(host) == {"192.0.2.80"})
    assert haproxy.get("nobody.local") == (503, "no route")
    # The route is in HAProxy's map, the server in a berth slot; /status says so.
    assert host in haproxy.api("show map %s/hosts.map" % haproxy.dir)
    src = [s for s in b.status()["sources"] if s["kind"] == "haproxy"][0]
    assert src["state"] == "ok" and src["routes"] == 1, src
    assert src["proxies"][0]["servers"] == 1
    st, body = b.http_get("/dns/records?source=http")
    assert st == 200 and host.encode() in body
    st, body = b.http_get("/metrics")
    assert b"berth_http_routes 1\n" in body and b"berth_source_runtime_commands_total" in body

    c.kill()
    haproxy.wait_get(host, (503, "no route"))
    b.wait_for_answer(host, "A", lambda m: m.rcode() == 3)     # NXDOMAIN in the http zone


def test_replicas_share_the_load_and_an_unhealthy_one_gets_nothing(docker_berth, haproxy, kit):  # noqa: F811
    routed(docker_berth, haproxy)
    compose = {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}
    flag = "/tmp/healthy"
    hc = {"test": ["CMD", "test", "-e", flag], "interval": 200_000_000,
          "timeout": 500_000_000, "retries": 1}
    cmd = ["sh", "-c", "touch %s; mkdir -p /www && echo $0 > /www/index.html && "
                       "exec httpd -f -p 8080 -h /www" % flag]
    r1 = web(kit, "r1", None, compose, command=cmd[:2] + [cmd[2], "replica-1"], healthcheck=hc)
    web(kit, "r2", None, compose, command=cmd[:2] + [cmd[2], "replica-2"], healthcheck=hc)
    host = "web.shop.local"
    deadline = time.monotonic() + 15
    seen = set()
    while seen != {"replica-1", "replica-2"} and time.monotonic() < deadline:
        try:
            st, text = haproxy.get(host)
            if st == 200:
                seen.add(text)
        except OSError:
            pass
        time.sleep(0.02)
    assert seen == {"replica-1", "replica-2"}, seen
    r1.exec_run(["rm", "-f", flag])
    # Unhealthy: out of the backend. Round robin alternates, so only a run of answers
    # from replica-2 alone shows it.
    deadline = time.monotonic() + 10
    run = 0
    while run < 10:
        assert time.monotonic() < deadline, "replica-1 still gets requests while unhealthy"
        run = run + 1 if haproxy.get(host) == (200, "replica-2") else 0
        time.sleep(0.02)
    for _ in range(10):
        assert haproxy.get(host) == (200, "replica-2")


def test_haproxy_restarted_is_reconciled_and_its_own_entries_survive(docker_berth, haproxy, kit):  # noqa: F811
    b = routed(docker_berth, haproxy)
    c = web(kit, "again", "hello-again")
    host = c.name + ".local"
    haproxy.wait_get(host, (200, "hello-again"))
    # An entry berth did not add: it must stay.
    assert haproxy.api("add map %s/hosts.map mine.local berth_no_route" % haproxy.dir).strip() == ""
    haproxy.stop()
    haproxy.start()
    assert haproxy.get(host) == (503, "no route")      # a fresh HAProxy knows nothing
    t0 = time.monotonic()
    haproxy.wait_get(host, (200, "hello-again"), timeout=15)
    print("HAProxy restarted -> route back in %.1f s" % (time.monotonic() - t0))
    haproxy.api("add map %s/hosts.map mine.local berth_no_route" % haproxy.dir)
    c.kill()
    haproxy.wait_get(host, (503, "no route"))
    time.sleep(2.5)    # a reconciliation or two
    assert "mine.local" in haproxy.api("show map %s/hosts.map" % haproxy.dir)
    assert "reconciling" in b.stderr()


def test_a_name_routed_by_hand_in_haproxy_is_not_taken_over(docker_berth, haproxy, kit):  # noqa: F811
    """An entry somebody else put in a map keeps its name, even when a container of that
    name starts: berth neither sets it nor, when the container goes, deletes it. An entry
    berth added for that name in between (behind the other, never matched) is removed by
    its reference."""
    routed(docker_berth, haproxy)
    hosts_map = "%s/hosts.map" % haproxy.dir

    def entries(name):
        return [line.split()[2] for line in haproxy.api("show map " + hosts_map).splitlines()
                if len(line.split()) == 3 and line.split()[1] == name]
    mine = kit.name("mine") + ".local"
    # Routed by hand (to the no-route backend, here) before the container starts.
    assert haproxy.api("add map %s %s berth_no_route" % (hosts_map, mine)).strip() == ""
    c = web(kit, "mine", "hello-mine")
    other = web(kit, "other", "hello-other")
    haproxy.wait_get(other.name + ".local", (200, "hello-other"))   # berth is routing
    deadline = time.monotonic() + 6
    while entries(mine) != ["berth_no_route"] and time.monotonic() < deadline:
        time.sleep(0.1)     # a stray of berth's behind it goes at the next reading
    assert entries(mine) == ["berth_no_route"]
    assert haproxy.get(c.name + ".local") == (503, "no route")
    time.sleep(2.5)         # a reconciliation or two: it stays so
    assert entries(mine) == ["berth_no_route"]
    c.kill()
    other.kill()
    haproxy.wait_get(other.name + ".local", (503, "no route"))
    time.sleep(2.5)
    assert entries(mine) == ["berth_no_route"]


class LoopbackSite:
    """An HTTP server of the test's own on 127.0.0.1 (a thread), answering text."""

    def __init__(self, text):
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer((LOOP4, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def api(b, method, path, body=None):
    c = http.client.HTTPConnection(LOOP4, b.http_port, timeout=5)
    try:
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Authorization": "Bearer routing-test", "Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_a_service_of_the_api_with_an_http_port_is_routed(docker_berth, haproxy, tmp_path):  # noqa: F811
    args = ("--api-token", "routing-test", "--state-dir", str(tmp_path / "state-api"))
    b = routed(docker_berth, haproxy, *args)
    site = LoopbackSite("hello-from-the-api")
    try:
        st, body = api(b, "PUT", "/services/shop",
                       {"name": "Shop_Front", "image": "ext", "ips": ["127.0.0.1"],
                        "http_port": site.port})
        assert st == 201, body
        haproxy.wait_get("shop-front.local", (200, "hello-from-the-api"))
        b.wait_for_answer("shop-front.local", "A", lambda m: b.a("shop-front.local") == {"192.0.2.80"})
        assert json.loads(api(b, "GET", "/services/shop")[1])["http_port"] == site.port
        assert api(b, "PUT", "/services/bad", {"name": "x", "image": "y", "ips": ["10.0.0.1"],
                                                "http_port": 70000})[0] == 400
        # Without its port (a PATCH of null): no route; the name's records stay.
        st, body = api(b, "PATCH", "/services/shop", {"http_port": None})
        assert st == 200, body
        haproxy.wait_get("shop-front.local", (503, "no route"))
        assert "http_port" not in json.loads(api(b, "GET", "/services/shop")[1])
        # Back, then kept across a restart of berth (the services file), then deleted.
        assert api(b, "PATCH", "/services/shop", {"http_port": site.port})[0] == 200
        haproxy.wait_get("shop-front.local", (200, "hello-from-the-api"))
        b.stop()
        haproxy.stop()
        haproxy.start()                   # knows nothing: the restarted berth fills it
        b = routed(docker_berth, haproxy, *args)
        haproxy.wait_get("shop-front.local", (200, "hello-from-the-api"), timeout=15)
        assert api(b, "DELETE", "/services/shop")[0] == 204
        haproxy.wait_get("shop-front.local", (503, "no route"))
    finally:
        site.close()


def test_bad_labels_are_reported_and_skipped(docker_berth, haproxy, kit):  # noqa: F811
    b = routed(docker_berth, haproxy)
    bad = web(kit, "badport", "x", {"berth.http.port": "99999"})
    badhost = web(kit, "badhost", "ok-host", {"berth.http.host": "good.example,bad host!,"})
    haproxy.wait_get(badhost.name + ".local", (200, "ok-host"))
    haproxy.wait_get("good.example", (200, "ok-host"))
    assert haproxy.get(bad.name + ".local") == (503, "no route")
    err = b.stderr()
    assert "container %s: berth.http.port \"99999\" is not a port" % bad.name in err, err[-2000:]
    assert "is not a host name" in err


def test_without_a_socket_names_still_answer(docker_berth, kit):  # noqa: F811
    b = docker_berth("--http-domain", "web", "--proxy-address", "192.0.2.81")
    c = web(kit, "nameonly", "x")
    host = c.name + ".web"
    b.wait_for_answer(host, "A", lambda m: b.a(host) == {"192.0.2.81"})


def test_haproxy_config_prints_a_valid_configuration(tmp_path):
    r = subprocess.run([BERTH_BIN, "haproxy-config"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "frontend berth_http" in r.stdout and "berth_tls_31" in r.stdout
    r = subprocess.run([BERTH_BIN, "haproxy-config", "--slots", "0"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "--slots" in r.stderr


def test_a_route_of_another_node_goes_to_that_node(tmp_path, etcd, nodes, dockerd, kit):  # noqa: F811
    """Node a runs the container; node c runs no Docker, only its own HAProxy: c's
    proxy reaches the container at a's advertise address and published port (both
    nodes run on this host, so a's advertise address is loopback here)."""
    hp = HAProxy(tmp_path / "c")
    try:
        a = nodes("a", etcd.urls, LOOP4, docker=dockerd.url,
                  args=["--http-domain", "local", "--api-token", "routing-test"])
        c = nodes("c", etcd.urls, "198.51.100.3",
                  args=["--http-domain", "local", "--proxy-address", "192.0.2.83",
                        "--haproxy-socket", hp.sock])
        ctr = web(kit, "far", "hello-from-a")
        host = ctr.name + ".local"
        t0 = time.monotonic()
        hp.wait_get(host, (200, "hello-from-a"))
        print("start on a -> 200 through c's HAProxy: %.0f ms" % ((time.monotonic() - t0) * 1e3))
        c.wait_texts(host, "A", {"192.0.2.83"})            # c's own proxy
        ctr.kill()
        hp.wait_get(host, (503, "no route"))
        c.wait_texts(host, "A", set())
        # A service of a's /services API with an http_port travels the same way.
        site = LoopbackSite("hello-from-a-service")
        try:
            st, body = a.http("PUT", "/services/api1", {"name": "far-api", "image": "ext",
                                                        "ips": [LOOP4], "http_port": site.port},
                              token="routing-test")
            assert st == 201, body
            hp.wait_get("far-api.local", (200, "hello-from-a-service"))
            c.wait_texts("far-api.local", "A", {"192.0.2.83"})
        finally:
            site.close()
    finally:
        hp.stop()


def test_tls_is_routed_by_sni_and_passed_through(tmp_path, docker_berth, haproxy, kit):  # noqa: F811
    """A TLS service on the host's network (a host-network container marks it; the
    server itself is openssl s_server on a loopback port, started here): HAProxy
    routes it by SNI without holding any certificate, and the client verifies the
    server's own certificate for its name."""
    import ssl
    from test_docker_tls import _make_ca, _make_signed
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not found")
    routed(docker_berth, haproxy, "--advertise", LOOP4)
    port = free_port(LOOP4)
    marker = kit.create("tls", network_mode="host",
                        labels={"berth.tls.port": str(port)})
    host = marker.name + ".local"
    d = tmp_path / "tls"
    d.mkdir()
    _make_ca(d, "ca", "berth-test TLS CA")
    _make_signed(d, "srv", host, "ca", "subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n"
                 % host)
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "%s:%d" % (LOOP4, port), "-cert",
                            str(d / "srv-cert.pem"), "-key", str(d / "srv-key.pem"), "-www",
                            "-quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        ctx = ssl.create_default_context(cafile=str(d / "ca.pem"))
        deadline = time.monotonic() + 10
        last = None
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((LOOP4, haproxy.tls_port), timeout=2) as raw:
                    with ctx.wrap_socket(raw, server_hostname=host) as s:
                        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                        data = b""
                        while True:
                            chunk = s.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        assert b"200 ok" in data.lower(), data[:200]
                        peer = s.getpeercert()
                        assert ("DNS", host) in peer["subjectAltName"]
                        break
            except (OSError, ssl.SSLError) as e:
                last = e
                time.sleep(0.1)
        else:
            raise AssertionError("no TLS through HAProxy for %s: %r" % (host, last))
        # Another name is not routed anywhere.
        with pytest.raises((OSError, ssl.SSLError)):
            with socket.create_connection((LOOP4, haproxy.tls_port), timeout=2) as raw:
                with ctx.wrap_socket(raw, server_hostname="other.local") as s:
                    s.recv(1)
    finally:
        srv.terminate()
        srv.wait(5)


def test_a_path_prefix_shares_one_name_between_services(docker_berth, haproxy, kit):  # noqa: F811
    routed(docker_berth, haproxy)
    web(kit, "front", "the-front", {"berth.http.host": "shop.example"})
    web(kit, "api", "the-api", {"berth.http.host": "shop.example", "berth.http.path": "/api"},
        command=["sh", "-c", "mkdir -p /www/api && echo the-api > /www/api/index.html && "
                             "exec httpd -f -p 8080 -h /www"])
    haproxy.wait_get("shop.example", (200, "the-front"))
    haproxy.wait_get("shop.example", (200, "the-api"), path="/api/")
    assert "shop.example/api" in haproxy.api("show map %s/paths.map" % haproxy.dir)
