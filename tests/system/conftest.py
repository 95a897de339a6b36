# SPDX-License-Identifier: MIT
"""Fixtures for berth's system tests: the real binary on random loopback ports,
queried with dnspython, and a loopback dnsmasq the tests start as upstream.

Traffic goes to 127.0.0.1 and ::1 only. Every server berth may forward to is
one these fixtures started; tests that do not forward pass --upstream none.
Every wait here is bounded.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

REPO = Path(__file__).resolve().parents[2]
BERTH_BIN = os.environ.get("BERTH_BIN", str(REPO / "build" / "berth"))
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
LOOP4 = "127.0.0.1"
LOOP6 = "::1"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


# --------------------------------------------------------------------------
# The data most tests serve.

HOSTS_MAIN = """\
# berth system tests: the main hosts file
192.0.2.10   alpha.docker alpha-alias.docker
2001:db8::10 alpha6.docker
192.0.2.11   dual.docker
2001:db8::11 dual.docker
192.0.2.20   host.example.test
192.0.2.21   leaf.branch.docker
"""

RR_ADDRS = ["192.0.2.%d" % i for i in range(101, 105)]
MANY_ADDRS = ["10.1.0.%d" % i for i in range(1, 61)]     # 60 A: > 512, < 1232 bytes
HUGE_ADDRS = ["10.2.0.%d" % i for i in range(1, 101)]    # 100 A: > 1232 bytes


def hosts_lines(name, addrs):
    return "".join("%s %s\n" % (a, name) for a in addrs)


# The seed's (docker-dns-provision) txt-record lines, copied verbatim.
SEED_TXT = """\
txt-record=containers.docker.will-desktop,etcd
txt-record=containers.docker.will-desktop,bash-sleeper
txt-record=containers.docker.will-desktop,bash-echoer

txt-record=etcd.containers.docker.will-desktop,"quay.io/coreos/etcd"
txt-record=bash-sleeper.containers.docker.will-desktop,"ubuntu:wily sleep 60"
txt-record=bash-echoerr.containers.docker.will-desktop,"ubuntu:wily echo HelloDNS!"
txt-record=etcd.containers.docker.will-desktop,"quay.io/coreos/etcd --discovery-srv will-desktop --initial-advertise-peer-urls http://will-desktop:2380 --initial-cluster-token will-desktop-cluster-1 --initial-cluster-state new --advertise-client-urls http://will-desktop:2379 --listen-client-urls http://will-desktop:2379 --listen-peer-urls http://will-desktop:2380"
"""
SEED_ETCD_LONG = (
    "quay.io/coreos/etcd --discovery-srv will-desktop --initial-advertise-peer-urls "
    "http://will-desktop:2380 --initial-cluster-token will-desktop-cluster-1 "
    "--initial-cluster-state new --advertise-client-urls http://will-desktop:2379 "
    "--listen-client-urls http://will-desktop:2379 --listen-peer-urls http://will-desktop:2380")

RECORDS_MAIN = """\
# berth system tests: dnsmasq record lines
host-record=rec.docker,192.0.2.30,2001:db8::30
txt-record=txt.docker,"hello world"
txt-record=multi.docker,"first","second"
srv-host=_http._tcp.web.docker,alpha.docker,8080,10,20
cname=cn.docker,alpha.docker
mx-host=mail.docker,mx1.docker,10
ptr-record=40.2.0.192.in-addr.arpa,pointer.docker
""" + SEED_TXT


def write_zone(root):
    """Write the standard hosts dir and records file under root."""
    root = Path(root)
    hd = root / "hosts.d"
    hd.mkdir(parents=True, exist_ok=True)
    (hd / "main").write_text(HOSTS_MAIN)
    (hd / "rr").write_text(hosts_lines("rr.docker", RR_ADDRS))
    (hd / "many").write_text(hosts_lines("many.docker", MANY_ADDRS))
    (hd / "huge").write_text(hosts_lines("huge.docker", HUGE_ADDRS))
    rec = root / "records.conf"
    rec.write_text(RECORDS_MAIN)
    return hd, rec


# --------------------------------------------------------------------------
# Ports

def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host=LOOP4):
    """A port free for both UDP and TCP on host (bounded tries)."""
    fam = _family(host)
    for _ in range(100):
        t = socket.socket(fam, socket.SOCK_STREAM)
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            t.bind((host, 0))
            port = t.getsockname()[1]
            try:
                u.bind((host, port))
            except OSError:
                continue
            return port
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port on %s" % host)


def dead_port(host=LOOP4):
    """A loopback port nobody listens on (for failover tests)."""
    return free_port(host)


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            s.bind((LOOP6, 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


# --------------------------------------------------------------------------
# Small helpers used across modules

def wait_until(pred, timeout=5.0, interval=0.05):
    """Poll pred() until it returns a truthy value or timeout; return that value
    (or the last falsy one)."""
    deadline = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = pred()
    return v


def rrsets(msg, rdtype, section="answer"):
    t = dns.rdatatype.from_text(rdtype) if isinstance(rdtype, str) else rdtype
    return [r for r in getattr(msg, section) if r.rdtype == t]


def answer_texts(msg, rdtype):
    """The rdata of every answer RR of rdtype, as text, in wire order."""
    out = []
    for rs in rrsets(msg, rdtype):
        out.extend(rd.to_text() for rd in rs)
    return out


def soa_of(msg, section="authority"):
    s = rrsets(msg, "SOA", section)
    return s[0] if s else None


def raw_header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wire_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            b = label.encode()
            out += bytes([len(b)]) + b
    return out + b"\0"


def raw_query(name, qtype=1, qid=0x1234, flags=0x0100, qclass=1):
    return raw_header(qid, flags) + wire_name(name) + struct.pack("!HH", qtype, qclass)


def parse_header(data):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    return {"id": qid, "flags": flags, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
            "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rcode": flags & 0xF,
            "qd": qd, "an": an, "ns": ns, "ar": ar}


def wire_records(raw):
    """[(section, owner, type, rdata offset, rdata bytes)] of every record after
    the question of the reply raw, read from the bytes (names decompressed)."""
    import dns.name
    h = parse_header(raw)
    off = 12
    for _ in range(h["qd"]):
        _, n = dns.name.from_wire(raw, off)
        off += n + 4
    out = []
    counts = [("answer", h["an"]), ("authority", h["ns"]), ("additional", h["ar"])]
    for section, count in counts:
        for _ in range(count):
            owner, n = dns.name.from_wire(raw, off)
            rtype, _, _, rdlen = struct.unpack("!HHIH", raw[off + n:off + n + 10])
            off += n + 10
            out.append((section, owner, rtype, off, raw[off:off + rdlen]))
            off += rdlen
    assert off == len(raw), "bytes after the last record"
    return out


# --------------------------------------------------------------------------
# berth

def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BERTH_") and k != "DOCKER_HOST"}
    env.update(extra or {})
    return env


class Berth:
    """One berth process listening on 127.0.0.1:<port> (and whatever else args say)."""

    def __init__(self, workdir, args=(), env=None, subcommand="serve", defaults=True,
                 host=LOOP4, port=None, domain="docker", upstream_none=True):
        self.workdir = Path(workdir)
        self.host = host
        self.port = port or free_port(host)
        self.domain = domain
        argv = [BERTH_BIN] + ([subcommand] if subcommand else [])
        args = list(args)
        if defaults:
            argv += ["--listen", hostport(host, self.port), "--docker", "none", "--http", "none",
                     "--threads", "2", "--state-dir", str(self.workdir / "state")]
            if upstream_none and not any(a == "--upstream" or a.startswith("--upstream=")
                                         for a in args):
                argv += ["--upstream", "none"]
        argv += args
        self.argv = argv
        self.expect_rc = 0
        self.stderr_path = self.workdir / ("berth-%d-%d.stderr" % (self.port, time.monotonic_ns()))
        self.stdout_path = self.stderr_path.with_suffix(".stdout")
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=clean_env(env))
        self.pid = self.proc.pid

    # -- lifecycle
    def alive(self):
        return self.proc.poll() is None

    def wait_ready(self, timeout=10.0):
        """Query SOA <domain>. until any answer arrives; fail if berth exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("berth exited with %s before answering:\n%s"
                                   % (self.proc.returncode, self.stderr()))
            try:
                self.query(self.domain + ".", "SOA", timeout=0.2)
                return self
            except (dns.exception.Timeout, OSError, dns.query.BadResponse):
                time.sleep(0.05)
        raise RuntimeError("berth did not answer within %.0fs:\n%s" % (timeout, self.stderr()))

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal by PID and wait; returns the exit code (kills after timeout)."""
        if self.alive():
            os.kill(self.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
                return "hung after %s (killed)" % signal.Signals(sig).name
        return self.proc.returncode

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def proc_status(self, key):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return None

    def rss_kb(self):
        return self.proc_status("VmRSS")

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    # -- queries
    def make(self, name, rdtype="A", edns=None, payload=None, rd=True, qid=None):
        # dnspython turns EDNS on whenever payload is passed: pass it only with EDNS.
        if edns is None and payload is None:
            q = dns.message.make_query(name, rdtype, use_edns=False)
        else:
            # make_query's use_edns does not set the version: use_edns() does.
            q = dns.message.make_query(name, rdtype)
            q.use_edns(edns=0 if edns is None else edns, payload=payload or 1232)
        if not rd:
            q.flags &= ~dns.flags.RD
        if qid is not None:
            q.id = qid
        return q

    def send(self, q, tcp=False, timeout=2.0, host=None, port=None):
        host = host or self.host
        port = port or self.port
        if tcp:
            return dns.query.tcp(q, host, port=port, timeout=timeout)
        return dns.query.udp(q, host, port=port, timeout=timeout)

    def query(self, name, rdtype="A", tcp=False, timeout=2.0, edns=None, payload=None, rd=True,
              qid=None, host=None, port=None):
        q = self.make(name, rdtype, edns=edns, payload=payload, rd=rd, qid=qid)
        return self.send(q, tcp=tcp, timeout=timeout, host=host, port=port)

    def udp_raw(self, data, timeout=1.0, host=None):
        """Send one datagram; return the reply bytes or None on timeout."""
        host = host or self.host
        s = socket.socket(_family(host), socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.sendto(data, (host, self.port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None
        finally:
            s.close()

    def tcp_connect(self, timeout=2.0, host=None):
        host = host or self.host
        s = socket.create_connection((host, self.port), timeout=timeout)
        return s

    def addresses(self, name, rdtype="A", tcp=False):
        r = self.query(name, rdtype, tcp=tcp)
        return sorted(answer_texts(r, rdtype)) if r.rcode() == dns.rcode.NOERROR else None


def tcp_recv_msg(sock, timeout=2.0):
    """Read one length-prefixed DNS message from sock; None on EOF."""
    sock.settimeout(timeout)
    hdr = _recv_exact(sock, 2)
    if hdr is None:
        return None
    (n,) = struct.unpack("!H", hdr)
    return _recv_exact(sock, n)


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _report(berths):
    problems = []
    for b in berths:
        rc = b.stop()
        print("--- berth pid %d: %s" % (b.pid, " ".join(b.argv)))
        print("--- exit: %s; stderr:" % (rc,))
        print(b.stderr())
        if rc != b.expect_rc:
            problems.append("berth pid %d exited %s (expected %s) on SIGTERM"
                            % (b.pid, rc, b.expect_rc))
    return problems


def _start(workdir, args, env, wait, **kw):
    last = None
    for _ in range(3):
        b = Berth(workdir, args, env=env, **kw)
        if not wait:
            return b
        try:
            return b.wait_ready()
        except RuntimeError as e:
            last = (b, e)
            # A lost race for the random port: try another one.
            if not b.alive() and re.search(r"in use", b.stderr(), re.I) and "port" not in kw:
                continue
            b.stop(signal.SIGKILL)
            raise
    raise last[1]


@pytest.fixture
def start_berth(tmp_path):
    """Factory: start_berth(*args, env=None, wait=True, **kw) -> Berth.
    Every berth started is stopped with SIGTERM at the end, and must exit 0."""
    started = []

    def start(*args, env=None, wait=True, **kw):
        b = _start(tmp_path, args, env, wait, **kw)
        started.append(b)
        return b

    yield start
    problems = _report(started)
    assert not problems, problems


def _answers(b, name, rdtype="A"):
    try:
        return b.query(name, rdtype, timeout=0.5).rcode() == dns.rcode.NOERROR
    except dns.exception.Timeout:
        return False


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    """One berth per test module serving the standard hosts dir and records file."""
    root = tmp_path_factory.mktemp("zone")
    hd, rec = write_zone(root)
    b = _start(root, ["--hosts-dir", str(hd), "--records", str(rec)], None, True)
    b.hosts_dir, b.records = hd, rec
    # The static sources load at start; wait (bounded) until they are served.
    wait_until(lambda: _answers(b, "rec.docker") and _answers(b, "alpha.docker"), timeout=5)
    yield b
    problems = _report([b])
    assert not problems, problems


@pytest.fixture(params=["udp", "tcp"])
def tcp(request):
    """Parametrize a test over UDP and TCP: the value is the tcp= argument."""
    return request.param == "tcp"


# --------------------------------------------------------------------------
# dnsmasq as a loopback upstream

class Dnsmasq:
    def __init__(self, workdir, extra=()):
        self.port = free_port(LOOP4)
        self.log = Path(workdir) / ("dnsmasq-%d.log" % self.port)
        self.argv = [DNSMASQ, "-k", "--no-resolv", "--no-hosts", "--port=%d" % self.port,
                     "--listen-address=127.0.0.1", "--bind-interfaces",
                     "--conf-file=/dev/null", "--pid-file=", "--user=root",
                     "--log-queries", "--log-facility=%s" % self.log,
                     "--address=/example.test/192.0.2.7"] + list(extra)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = self.proc.pid

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def wait_ready(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % self.proc.stderr.read().decode())
            try:
                q = dns.message.make_query("ready.example.test", "A")
                dns.query.udp(q, LOOP4, port=self.port, timeout=0.2)
                return self
            except (dns.exception.Timeout, OSError):
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not answer")

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def queried(self, name):
        """Lines of the query log that asked for name (case-insensitive)."""
        pat = re.compile(r"query\[\w+\] %s from" % re.escape(name.rstrip(".")), re.I)
        return [l for l in self.log_text().splitlines() if pat.search(l)]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)


@pytest.fixture
def start_dnsmasq(tmp_path):
    """Factory: start_dnsmasq(*extra_args) -> Dnsmasq on a random loopback port."""
    started = []

    def start(*extra):
        for attempt in range(3):
            d = Dnsmasq(tmp_path, extra)
            started.append(d)
            try:
                return d.wait_ready()
            except RuntimeError:
                d.stop()
                if attempt == 2:   # a lost race for the random port, three times
                    raise

    yield start
    for d in started:
        d.stop()


@pytest.fixture
def dnsmasq(start_dnsmasq):
    """A dnsmasq answering example.test (and below) with 192.0.2.7, nx.test (and
    below) with NXDOMAIN, and x.docker with 192.0.2.99 (which berth must never
    ask it)."""
    return start_dnsmasq("--address=/x.docker/192.0.2.99", "--address=/nx.test/")
