# SPDX-License-Identifier: MIT
"""Docker fixtures for berth's system tests: a real dockerd (started by
scripts/dockerd when none answers, stopped at the end if we started it), the
tiny busybox image, containers and networks that are always force-removed, and
berth processes pointed at that dockerd.

Rules kept here for every Docker test:
- DNS queries go to berth on 127.0.0.1 only; nothing is ever sent to a
  container's address (addresses are read from `docker inspect`).
- Every wait is bounded.
- Every container and network carries the label OWNER_LABEL with this test
  session's name and PID, and is force-removed at the end of the test that made
  it (and again, as a sweep, at the end of the session).

The dockerd is the one on unix:///run/berth-dockerd.sock unless the
environment names another through scripts/dockerd's variables
(BERTH_DOCKERD_SOCK, BERTH_DOCKERD_DATA, BERTH_DOCKERD_EXEC,
BERTH_DOCKERD_PIDFILE, BERTH_DOCKERD_ARGS).
"""
import concurrent.futures
import http.client
import ipaddress
import json
import os
import random
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import LOOP4, REPO, Berth, answer_texts, free_port

docker = pytest.importorskip("docker", reason="python3-docker (the Docker SDK) is not installed")

DOCKERD_SCRIPT = REPO / "scripts" / "dockerd"
MAIN_SOCK = os.environ.get("BERTH_DOCKERD_SOCK", "/run/berth-dockerd.sock")
IMAGE = "berth-test/busybox:latest"          # image label "busybox"
OTHER_IMAGE = "berth-test/other:latest"      # same files, image label "other"
SLEEP = ["sleep", "3600"]

# One name per test session: container and network names start with it, so two
# sessions (or a session and someone else's containers) never collide.
SESSION = "bt" + secrets.token_hex(3)
OWNER_LABEL = "org.berth-tests.owner"
OWNER = "%s:%d" % (SESSION, os.getpid())


# --------------------------------------------------------------------------
# dockerd

class Dockerd:
    """A dockerd reached on a unix socket, driven through scripts/dockerd."""

    def __init__(self, sock, env=None):
        self.sock = sock
        self.url = "unix://" + sock
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env["BERTH_DOCKERD_SOCK"] = sock
        self.owned = False          # we started it: we stop it
        self._client = None

    def script(self, cmd, timeout=240):
        """Run scripts/dockerd CMD; returns (rc, stdout, stderr)."""
        try:
            p = subprocess.run([str(DOCKERD_SCRIPT), cmd], env=self.env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return 124, e.stdout or "", (e.stderr or "") + "\n(timed out after %ds)" % timeout
        return p.returncode, p.stdout, p.stderr

    def answers(self, timeout=3):
        try:
            c = docker.APIClient(base_url=self.url, timeout=timeout)
            try:
                c.version()
            finally:
                c.close()
            return True
        except Exception:   # noqa: BLE001 - any failure means "does not answer"
            return False

    def start(self):
        """Start (if needed) and wait; skip the test when dockerd cannot run here."""
        was_up = self.answers()
        rc, out, err = self.script("start")
        if rc == 77:
            pytest.skip("Docker tests skipped: " + (err.strip().splitlines() or ["?"])[-1])
        if rc != 0:
            pytest.fail("scripts/dockerd start failed (exit %d):\n%s%s" % (rc, out, err),
                        pytrace=False)
        if out.strip() != self.url:
            pytest.fail("scripts/dockerd start printed %r, expected %r" % (out.strip(), self.url),
                        pytrace=False)
        self.owned = self.owned or not was_up
        self._client = None
        return self

    def stop(self):
        rc, out, err = self.script("stop")
        self._client = None
        assert rc == 0, "scripts/dockerd stop failed (exit %d):\n%s%s" % (rc, out, err)

    def pid(self):
        path = self.env.get("BERTH_DOCKERD_PIDFILE", "/run/berth-dockerd.pid")
        try:
            return int(Path(path).read_text().strip())
        except (OSError, ValueError):
            return None

    def client(self):
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.url, timeout=120, max_pool_size=64)
        return self._client

    def ensure_other_image(self):
        """Tag the busybox image a second time, as an image whose label is not
        "busybox" (for the negative half of `busybox.docker`)."""
        c = self.client()
        try:
            c.images.get(OTHER_IMAGE)
        except docker.errors.ImageNotFound:
            c.images.get(IMAGE).tag("berth-test/other", "latest")

    def has_network(self, name):
        try:
            self.client().networks.get(name)
            return True
        except docker.errors.NotFound:
            return False


def sweep(client, owner=OWNER):
    """Force-remove every container and network labelled as ours (this session),
    and those of earlier sessions on this machine whose test process is gone."""
    def ours(labels):
        v = (labels or {}).get(OWNER_LABEL)
        if not v:
            return False
        if v == owner:
            return True
        try:
            pid = int(v.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return False
        return not os.path.exists("/proc/%d" % pid)    # a dead session's leftovers
    try:
        for c in client.api.containers(all=True, filters={"label": OWNER_LABEL}):
            if ours(c.get("Labels")):
                try:
                    client.api.remove_container(c["Id"], force=True)
                except docker.errors.NotFound:
                    pass
        for n in client.api.networks(filters={"label": OWNER_LABEL}):
            if ours(n.get("Labels")):
                try:
                    client.api.remove_network(n["Id"])
                except docker.errors.NotFound:
                    pass
    except Exception as e:   # noqa: BLE001 - a sweep must never fail a test
        print("docker sweep: %s" % e)


_main = {}      # the session's main dockerd, shared by every module that uses it


def running(d):
    """A fixture's body for a private dockerd d: started (its log tail printed and d
    destroyed if that fails), yielded, then swept of our containers and destroyed."""
    try:
        d.start()
    except BaseException:
        print(d.log_tail())
        d.destroy()
        raise
    try:
        yield d
    finally:
        try:
            if d.answers():
                sweep(d.client())
        finally:
            d.destroy()


def main_dockerd():
    """The session's dockerd on MAIN_SOCK, started if none answers (once)."""
    d = _main.get("d")
    if d is None:
        d = Dockerd(MAIN_SOCK)
        _main["d"] = d
    if "err" in _main:
        pytest.skip(_main["err"])
    try:
        d.start()
    except pytest.skip.Exception as e:
        _main["err"] = str(e)
        raise
    d.ensure_other_image()
    sweep(d.client())
    return d


@pytest.fixture(scope="session")
def dockerd():
    """The dockerd the Docker tests run against (see main_dockerd()). Stopped at
    the end of the session by PID if this session started it."""
    d = main_dockerd()
    first = not _main.get("fixture")
    _main["fixture"] = True
    yield d
    if first:
        if d.answers():
            sweep(d.client())
        if d.owned:
            d.stop()


class PrivateDockerd(Dockerd):
    """A second dockerd of this session alone (own socket, data and exec roots,
    and a default bridge of its own): tests that stop and start dockerd use
    it, so they never disturb the shared one or anyone else's containers on it.

    Not --bridge=none: a dockerd started so deletes any interface named docker0
    as it starts (its cleanup for that case), which took the shared dockerd's
    default bridge away from everyone until that dockerd was restarted."""

    def __init__(self, tag="rs", extra_args=()):
        """extra_args: more dockerd options (e.g. "--config-file", PATH); they
        pass through BERTH_DOCKERD_ARGS, which is split on spaces."""
        assert not any(" " in a for a in extra_args), extra_args
        base = "berth-dockerd-%s-%s" % (tag, SESSION)
        self.data = "/var/lib/%s" % base
        self.exec_root = "/run/%s" % base
        self.bridge = "b%s%s" % (tag[:2], SESSION[2:])     # at most 15 bytes
        env = {
            "BERTH_DOCKERD_DATA": self.data,
            "BERTH_DOCKERD_EXEC": self.exec_root,
            "BERTH_DOCKERD_PIDFILE": "/run/%s.pid" % base,
            "BERTH_DOCKERD_LOG": "/run/%s.log" % base,
            "BERTH_DOCKERD_ARGS": " ".join(["--bridge=" + self.bridge] + list(extra_args)),
        }
        super().__init__("/run/%s.sock" % base, env)

    def start(self):
        if not os.path.exists("/sys/class/net/" + self.bridge):
            subnet = ipaddress.ip_network(_random_subnet())
            gw = "%s/%d" % (next(subnet.hosts()), subnet.prefixlen)
            for cmd in (["ip", "link", "add", "name", self.bridge, "type", "bridge"],
                        ["ip", "addr", "add", gw, "dev", self.bridge],
                        ["ip", "link", "set", self.bridge, "up"]):
                r = subprocess.run(cmd, capture_output=True, text=True)
                assert r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr)
        return super().start()

    def log_tail(self, n=40):
        try:
            return "\n".join(Path(self.env["BERTH_DOCKERD_LOG"]).read_text(errors="replace")
                             .splitlines()[-n:])
        except OSError:
            return ""

    def destroy(self):
        """Stop it and remove its roots (only when nothing is mounted there)."""
        try:
            self.stop()
        finally:
            # dockerd leaves network-namespace bind mounts (netns/default) in
            # its exec root: ours alone, so they may go.
            with open("/proc/mounts") as f:
                for line in f:
                    fields = line.split()
                    if (len(fields) > 2 and fields[2] == "nsfs"
                            and fields[1].startswith(self.exec_root + "/")):
                        subprocess.run(["umount", fields[1]], check=False)
            with open("/proc/mounts") as f:
                mounts = f.read()
            for root in (self.data, self.exec_root):
                if root not in mounts:
                    subprocess.run(["rm", "-rf", root], check=False)
            for suffix in (".log", ".lock", ".sock", ".pid"):
                try:
                    os.unlink(self.sock[:-len(".sock")] + suffix)
                except OSError:
                    pass
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)


# --------------------------------------------------------------------------
# containers and networks

def _random_subnet():
    return "10.%d.%d.0/24" % (random.randint(200, 250), random.randint(0, 255))


class DockerKit:
    """Creates containers and networks for one test and force-removes them all
    at the end (even when the test failed)."""

    def __init__(self, dockerd_):
        self.dockerd = dockerd_
        self.client = dockerd_.client()
        self.api = self.client.api
        self.container_ids = []
        self.network_ids = []
        self._lock = threading.Lock()

    @staticmethod
    def name(suffix):
        return "%s-%s" % (SESSION, suffix)

    def network(self, suffix, subnet=None, prefixlen=24, ipv6_subnet=None, tries=30):
        """A bridge network with its own subnet (random 10.200-250.x.0/24 unless
        given; retried when it overlaps one that exists). It is only a bridge
        inside dockerd: nothing is sent over it."""
        last = None
        for _ in range(tries):
            net = subnet or _random_subnet()
            if prefixlen != 24 and not subnet:
                net = str(ipaddress.ip_network(net.replace("/24", "/%d" % prefixlen), strict=False))
            # The gateway (the host's own address on the bridge) given
            # explicitly, so that inspect shows it.
            gw = str(next(ipaddress.ip_network(net).hosts()))
            pools = [docker.types.IPAMPool(subnet=net, gateway=gw)]
            if ipv6_subnet:
                pools.append(docker.types.IPAMPool(subnet=ipv6_subnet))
            try:
                n = self.client.networks.create(
                    self.name(suffix), driver="bridge", check_duplicate=True,
                    ipam=docker.types.IPAMConfig(pool_configs=pools),
                    enable_ipv6=bool(ipv6_subnet), labels={OWNER_LABEL: OWNER})
            except docker.errors.APIError as e:
                last = e
                if subnet or "overlap" not in str(e).lower():
                    raise
                continue
            with self._lock:
                self.network_ids.append(n.id)
            n.reload()
            return n
        raise RuntimeError("no free subnet after %d tries: %s" % (tries, last))

    def create(self, suffix=None, *, name=None, image=IMAGE, command=None, labels=None, env=None,
               hostname=None, network=None, aliases=None, expose=None, healthcheck=None,
               network_mode=None, start=True):
        """Create (and by default start) a container running `sleep 3600`.
        network: a network name or model to attach it to (with aliases);
        network_mode: "host", "none", "container:<id>"...; default: dockerd's
        default network. expose: ports exposed (not published), e.g.
        [8080, (5353, "udp")]. Returns the SDK container, reloaded."""
        name = name or self.name(suffix)
        all_labels = {OWNER_LABEL: OWNER}
        all_labels.update(labels or {})
        netname = getattr(network, "name", network)
        hc_kwargs = {}
        networking_config = None
        if netname:
            hc_kwargs["network_mode"] = netname
            networking_config = self.api.create_networking_config(
                {netname: self.api.create_endpoint_config(aliases=list(aliases or []) or None)})
        elif network_mode:
            hc_kwargs["network_mode"] = network_mode
        host_config = self.api.create_host_config(**hc_kwargs)
        r = self.api.create_container(
            image, command=command or SLEEP, name=name, labels=all_labels, environment=env,
            hostname=hostname, ports=expose, healthcheck=healthcheck, host_config=host_config,
            networking_config=networking_config, detach=True,
            # Busybox sleep as PID 1 ignores SIGTERM: stop at once, and let a
            # dockerd that shuts down do so without a 10 s wait per container.
            stop_signal="SIGKILL")
        with self._lock:
            self.container_ids.append(r["Id"])
        c = self.client.containers.get(r["Id"])
        if start:
            c.start()
            c.reload()
        return c

    def remove(self, c):
        try:
            self.api.remove_container(getattr(c, "id", c), force=True)
        except docker.errors.NotFound:
            pass

    def _remove_network(self, nid, timeout=15):
        """Remove a network. dockerd releases the endpoints of removed
        containers asynchronously, so right after a burst of removals it may
        still say "has active endpoints": wait for them to go, then detach
        what is left by force. Returns None, or the last error."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.api.remove_network(nid)
                return None
            except docker.errors.NotFound:
                return None
            except docker.errors.APIError as e:
                if "active endpoints" not in str(e):
                    return e
                if time.monotonic() > deadline:
                    try:
                        left = self.api.inspect_network(nid).get("Containers") or {}
                    except docker.errors.APIError:
                        left = {"?": None}
                    if not left:
                        # dockerd 20.10 sometimes keeps a count of endpoints that no
                        # longer exist after a burst of removals: its leak, not the
                        # test's; the network stays until dockerd restarts.
                        print("warning: dockerd keeps network %s (no endpoint listed, "
                              "yet \"active endpoints\")" % nid[:12])
                        return None
                    return e
                # An endpoint dockerd kept of a removed container is listed as
                # "ep-<id>": only its name (the container's) disconnects it.
                try:
                    left = self.api.inspect_network(nid).get("Containers") or {}
                    for key, ep in left.items():
                        who = (ep or {}).get("Name") or key
                        try:
                            self.api.disconnect_container_from_network(who, nid, force=True)
                        except docker.errors.APIError:
                            pass
                except docker.errors.APIError:
                    pass
                time.sleep(0.2)

    def cleanup(self):
        errors = []

        def rm(cid):
            try:
                self.api.remove_container(cid, force=True)
            except docker.errors.NotFound:
                pass
            except Exception as e:   # noqa: BLE001
                errors.append("container %s: %s" % (cid[:12], e))
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(rm, list(self.container_ids)))
        for nid in reversed(self.network_ids):
            e = self._remove_network(nid)
            if e is not None:
                errors.append("network %s: %s" % (nid[:12], e))
        self.container_ids.clear()
        self.network_ids.clear()
        return errors


def ip_of(c, network=None):
    """The container's IPv4 address on network (or its only/first network), from
    inspect. Never contacted."""
    c.reload()
    nets = c.attrs["NetworkSettings"]["Networks"] or {}
    if network is not None:
        return nets[getattr(network, "name", network)]["IPAddress"]
    ips = [n["IPAddress"] for n in nets.values() if n.get("IPAddress")]
    assert ips, "container %s has no address: %s" % (c.name, nets)
    return ips[0]


@pytest.fixture
def kit(dockerd):
    """Containers and networks for one test, force-removed at its end."""
    k = DockerKit(dockerd)
    yield k
    errors = k.cleanup()
    assert not errors, "cleanup failed: %s" % errors


# --------------------------------------------------------------------------
# berth against dockerd

class DockerBerth(Berth):
    """berth serving the Docker zone from docker_url, with its HTTP API on a
    random loopback port; forwards nowhere."""

    def __init__(self, workdir, docker_url, args=(), env=None):
        port = free_port(LOOP4)
        self.http_port = free_port(LOOP4)
        argv = ["--listen", "%s:%d" % (LOOP4, port), "--docker", docker_url,
                "--http", "%s:%d" % (LOOP4, self.http_port), "--upstream", "none",
                "--threads", "2", "--state-dir", str(Path(workdir) / ("state-%d" % port))]
        argv += list(args)
        super().__init__(workdir, argv, env=env, defaults=False, port=port)

    # -- DNS
    def ask(self, name, rdtype="A", timeout=1.0, tcp=False):
        """One query with EDNS (1232); over TCP again when the answer is truncated
        (or at once with tcp=True)."""
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        if tcp:
            return dns.query.tcp(q, self.host, port=self.port, timeout=timeout)
        r = dns.query.udp(q, self.host, port=self.port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, self.host, port=self.port, timeout=timeout)
        return r

    def wait_for_answer(self, name, rdtype="A", predicate=None, timeout=5.0, interval=0.02):
        return wait_for_answer(self, name, rdtype, predicate, timeout, interval)

    def a(self, name, rdtype="A"):
        """The set of rdata texts answered (empty on NXDOMAIN/NODATA)."""
        return set(answer_texts(self.ask(name, rdtype), rdtype))

    # -- HTTP
    def http_get(self, path, timeout=5.0):
        c = http.client.HTTPConnection(LOOP4, self.http_port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def status(self):
        st, body = self.http_get("/status")
        assert st == 200, "GET /status: %d %r" % (st, body[:200])
        return json.loads(body)

    def docker_source(self):
        """The /status sources[] entry of kind "docker" (None if absent)."""
        for s in self.status().get("sources", []):
            if s.get("kind") == "docker":
                return s
        return None

    def wait_last_sync(self, timeout):
        """The Docker source's last_sync from /status ({containers, ms}), once a
        full sync has ended; None if none ended within timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            sync = (self.docker_source() or {}).get("last_sync")
            if sync is not None or time.monotonic() >= end:
                return sync
            time.sleep(0.02)


def start_docker_berth(workdir, docker_url, args=(), env=None, wait=True):
    last = None
    for _ in range(3):
        b = DockerBerth(workdir, docker_url, args, env=env)
        if not wait:
            return b
        try:
            return b.wait_ready()
        except RuntimeError as e:
            last = e
            b.stop(signal.SIGKILL)
            if "in use" not in b.stderr().lower():     # not a lost race for a port
                raise
    raise last


def stop_berths(berths):
    """SIGTERM each berth; each must exit 0. Prints their stderr."""
    problems = []
    for b in berths:
        rc = b.stop()
        print("--- berth pid %d: %s\n--- exit %s; stderr:\n%s" % (b.pid, " ".join(b.argv), rc,
                                                                  b.stderr()))
        if rc != b.expect_rc:
            problems.append("berth pid %d exited %s (expected %s)" % (b.pid, rc, b.expect_rc))
    return problems


@pytest.fixture
def docker_berth(tmp_path, dockerd):
    """Factory: docker_berth(*args, url=None, wait=True) -> DockerBerth against
    the session's dockerd (or url). All are stopped at the end and must exit 0."""
    started = []

    def start(*args, url=None, wait=True, env=None):
        b = start_docker_berth(tmp_path, url or dockerd.url, args, env=env, wait=wait)
        started.append(b)
        return b

    yield start
    problems = stop_berths(started)
    assert not problems, problems


# --------------------------------------------------------------------------
# Waiting for answers

def rcode_name(m):
    return dns.rcode.to_text(m.rcode())


def summary(m):
    if m is None:
        return "no answer (timeout)"
    rrs = []
    for rs in m.answer:
        rrs.extend("%s %d %s" % (dns.rdatatype.to_text(rs.rdtype), rs.ttl, rd.to_text())
                   for rd in rs)
    return "%s %s" % (rcode_name(m), rrs)


def has_records(rdtype="A"):
    def p(m):
        return m.rcode() == dns.rcode.NOERROR and bool(answer_texts(m, rdtype))
    return p


def addrs_equal(expected, rdtype="A"):
    expected = set(expected)

    def p(m):
        return m.rcode() == dns.rcode.NOERROR and set(answer_texts(m, rdtype)) == expected
    return p


def nxdomain(m):
    return m.rcode() == dns.rcode.NXDOMAIN


def no_records(rdtype="A"):
    """Not answered: NXDOMAIN, or NOERROR without any record of rdtype."""
    def p(m):
        return m.rcode() in (dns.rcode.NXDOMAIN, dns.rcode.NOERROR) and not answer_texts(m, rdtype)
    return p


def not_answered(rdtype="A"):
    """No record of rdtype, whatever the rcode (a reverse name berth does not
    own is REFUSED when it forwards nowhere)."""
    def p(m):
        return not answer_texts(m, rdtype)
    return p


def wait_for_answer(b, name, rdtype="A", predicate=None, timeout=5.0, interval=0.02):
    """Ask berth b for name/rdtype every `interval` seconds until predicate(msg)
    holds; returns the message. Fails with the last answer after `timeout`."""
    predicate = predicate or has_records(rdtype)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = b.ask(name, rdtype, timeout=0.5)
            if predicate(last):
                return last
        except dns.exception.Timeout:
            last = None
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("%s %s: not as expected within %.1fs; last: %s"
                         % (name, rdtype, timeout, summary(last)))


def assert_stays(b, name, rdtype, predicate, duration=0.3, interval=0.02):
    """predicate(msg) must hold for every answer during `duration` seconds."""
    deadline = time.monotonic() + duration
    while True:
        m = b.ask(name, rdtype)
        assert predicate(m), "%s %s: unexpected answer %s" % (name, rdtype, summary(m))
        if time.monotonic() >= deadline:
            return m
        time.sleep(interval)


def reverse_name(ip):
    return ipaddress.ip_address(ip).reverse_pointer + "."
