# SPDX-License-Identifier: MIT
"""etcd fixtures for berth's system tests: real etcd members (Debian's
etcd-server, 3.4) started by the test on random loopback ports with a
temporary data dir, and a tiny client for etcd's v3 JSON gateway.

Rules kept here:
- Every member listens on 127.0.0.1 only, on ports picked by free_port(), never
  on etcd's default 2379/2380: a packaged etcd service, if one runs, is never
  used or collided with. The child's environment has no ETCD_* variables.
- Every member is stopped by PID (SIGTERM, SIGKILL if it hangs) at the end of
  the test that started it, failed or not, and its data dir removed. A member
  whose pytest dies is killed by the kernel (PR_SET_PDEATHSIG).
- Every wait is bounded.

The gateway speaks JSON with the proto's own field names: keys and values are
base64, 64-bit numbers are strings, an empty range has no "kvs", a txn whose
compare failed has no "succeeded", and an error is an HTTP status >= 400 with
{"error", "message", "code"} (a gRPC code: 7 permission denied, 14
unavailable, ...). The auth token goes in a bare "Authorization: <token>"
header (no "Bearer").
"""
import atexit
import base64
import ctypes
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import LOOP4, free_port

ETCD_BIN = "/usr/bin/etcd"

# gRPC status codes that the gateway passes on in "code".
GRPC_INVALID_ARGUMENT = 3
GRPC_NOT_FOUND = 5
GRPC_PERMISSION_DENIED = 7
GRPC_FAILED_PRECONDITION = 9
GRPC_OUT_OF_RANGE = 11
GRPC_UNAVAILABLE = 14
GRPC_UNAUTHENTICATED = 16


# --------------------------------------------------------------------------
# Errors

class EtcdError(Exception):
    """The gateway answered with an error: HTTP status, gRPC code, message."""

    def __init__(self, status, code, message, url=None, path=None):
        super().__init__("%s%s: HTTP %s, code %s: %s"
                         % (url or "", path or "", status, code, message))
        self.status = status
        self.code = code
        self.message = message
        self.url = url
        self.path = path


class EtcdPermissionDenied(EtcdError, PermissionError):
    """code 7 (HTTP 403): the authenticated user may not do this."""


class EtcdUnavailable(EtcdError):
    """No member answered: connection refused or timed out, or every one said
    unavailable (no leader, leader changed, request timed out)."""


# --------------------------------------------------------------------------
# Bytes

def to_bytes(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode()
    raise TypeError("key or value must be str or bytes, not %r" % type(x).__name__)


def b64(x):
    return base64.b64encode(to_bytes(x)).decode("ascii")


def unb64(s):
    return base64.b64decode(s or "")


def prefix_end(prefix):
    """The range end of every key starting with prefix: the prefix with its last
    byte + 1 (trailing 0xff bytes dropped first); b"\\0" (all keys) for b""."""
    p = bytearray(to_bytes(prefix))
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return b"\0"
    p[-1] += 1
    return bytes(p)


# --------------------------------------------------------------------------
# Client

class EtcdClient:
    """A small client for the v3 JSON gateway (http.client, loopback only).

    urls is one client URL or a list: a request that cannot reach a member
    (refused, timed out, HTTP 503 or gRPC code 14) goes on to the next one,
    once around the list; then EtcdUnavailable. Other errors raise EtcdError
    (EtcdPermissionDenied for code 7) from the first member that gave one.
    """

    def __init__(self, urls, timeout=5.0, token=None):
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise ValueError("no etcd URL")
        for u in self.urls:
            host = urlsplit(u).hostname
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError("etcd URL %r is not on loopback" % u)
        self.timeout = timeout
        self.token = token
        self._next = 0

    # -- transport
    def _post(self, url, path, body):
        u = urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        try:
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def call(self, path, body=None):
        """POST body (a dict) as JSON to path; the decoded answer."""
        body = {} if body is None else body
        last = None
        n = len(self.urls)
        for i in range(n):
            idx = (self._next + i) % n
            url = self.urls[idx]
            try:
                status, raw = self._post(url, path, body)
            except (OSError, http.client.HTTPException) as e:
                last = EtcdUnavailable(None, None, "%s: %s" % (type(e).__name__, e), url, path)
                continue
            try:
                doc = json.loads(raw.decode() or "{}")
            except ValueError:
                doc = {"error": raw.decode(errors="replace")}
            if status < 400 and not ("error" in doc and "code" in doc):
                self._next = idx
                return doc
            code = doc.get("code")
            msg = doc.get("message") or doc.get("error") or raw.decode(errors="replace")
            if status == 503 or code == GRPC_UNAVAILABLE:
                last = EtcdUnavailable(status, code, msg, url, path)
                continue
            cls = EtcdPermissionDenied if code == GRPC_PERMISSION_DENIED else EtcdError
            raise cls(status, code, msg, url, path)
        raise last

    # -- kv
    def range(self, key, range_end=None, **opts):
        """The raw RangeResponse for key (.. range_end); opts go into the
        request as they are (limit, revision, keys_only, count_only, ...)."""
        req = {"key": b64(key)}
        if range_end is not None:
            req["range_end"] = b64(range_end)
        req.update(opts)
        return self.call("/v3/kv/range", req)

    def get(self, key):
        """The value of key as bytes, or None."""
        kvs = self.range(key).get("kvs", [])
        return unb64(kvs[0].get("value")) if kvs else None

    def get_prefix(self, prefix):
        """{key bytes: value bytes} of every key starting with prefix."""
        r = self.range(prefix, prefix_end(prefix))
        return {unb64(kv["key"]): unb64(kv.get("value")) for kv in r.get("kvs", [])}

    def put(self, key, value, lease=None):
        """Put key=value (with the lease ID, if any); the new revision."""
        req = {"key": b64(key), "value": b64(value)}
        if lease is not None:
            req["lease"] = str(lease)
        return int(self.call("/v3/kv/put", req)["header"]["revision"])

    def delete(self, key, range_end=None):
        """Delete key (.. range_end); how many keys went."""
        req = {"key": b64(key)}
        if range_end is not None:
            req["range_end"] = b64(range_end)
        return int(self.call("/v3/kv/deleterange", req).get("deleted", "0"))

    def delete_prefix(self, prefix):
        return self.delete(prefix, prefix_end(prefix))

    def txn(self, compare=(), success=(), failure=()):
        """A raw txn (lists of gateway dicts); (succeeded, response). A compare
        that failed leaves "succeeded" out of the answer."""
        r = self.call("/v3/kv/txn", {"compare": list(compare), "success": list(success),
                                     "failure": list(failure)})
        return bool(r.get("succeeded", False)), r

    def create(self, key, value, lease=None):
        """Put key only if it does not exist; True if it was put."""
        put = {"key": b64(key), "value": b64(value)}
        if lease is not None:
            put["lease"] = str(lease)
        ok, _ = self.txn([{"key": b64(key), "target": "CREATE", "result": "EQUAL",
                           "create_revision": "0"}], [{"request_put": put}])
        return ok

    def revision(self):
        """The store's current revision (from a range's header)."""
        return int(self.range(b"\0", count_only=True)["header"]["revision"])

    def compact(self, revision, physical=True):
        self.call("/v3/kv/compaction", {"revision": str(revision), "physical": physical})

    # -- leases
    def lease_grant(self, ttl):
        """A new lease of ttl seconds; its ID (a string, as the gateway has it)."""
        return self.call("/v3/lease/grant", {"TTL": str(int(ttl))})["ID"]

    def lease_revoke(self, lease_id):
        self.call("/v3/lease/revoke", {"ID": str(lease_id)})

    def lease_ttl(self, lease_id, keys=False):
        """The raw LeaseTimeToLiveResponse (TTL "-1" once the lease is gone)."""
        return self.call("/v3/lease/timetolive", {"ID": str(lease_id), "keys": keys})

    # -- auth
    def authenticate(self, user, password):
        """Log in; later requests carry the token. Returns it."""
        self.token = None
        self.token = self.call("/v3/auth/authenticate",
                               {"name": user, "password": password})["token"]
        return self.token

    def user_add(self, name, password):
        self.call("/v3/auth/user/add", {"name": name, "password": password})

    def role_add(self, name):
        self.call("/v3/auth/role/add", {"name": name})

    def role_grant_permission(self, role, key, range_end=None, perm="READWRITE"):
        """Let role do perm ("READ", "WRITE", "READWRITE") on key (.. range_end);
        range_end=prefix_end(p) grants the prefix p."""
        if perm not in ("READ", "WRITE", "READWRITE"):
            raise ValueError("perm must be READ, WRITE or READWRITE")
        p = {"permType": perm, "key": b64(key)}
        if range_end is not None:
            p["range_end"] = b64(range_end)
        self.call("/v3/auth/role/grant", {"name": role, "perm": p})

    def user_grant_role(self, user, role):
        self.call("/v3/auth/user/grant", {"user": user, "role": role})

    def auth_enable(self):
        """Turn auth on; the user root, with the role root, must exist first."""
        self.call("/v3/auth/enable", {})

    def auth_disable(self):
        self.call("/v3/auth/disable", {})

    def setup_root(self, password):
        """Create user root with role root (what auth_enable needs)."""
        self.user_add("root", password)
        self.role_add("root")
        self.user_grant_role("root", "root")

    # -- cluster
    def status(self):
        """The raw StatusResponse of the member that answered."""
        return self.call("/v3/maintenance/status", {})

    def member_list(self):
        return self.call("/v3/cluster/member/list", {}).get("members", [])


def until_ok(fn, timeout=10.0, interval=0.1):
    """Call fn() until it does not raise EtcdUnavailable (bounded); its result.
    For the seconds a cluster has no leader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except EtcdUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)


# --------------------------------------------------------------------------
# Members

_live = set()     # every Etcd whose process may still run, for the atexit sweep

PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _die_with_parent():
    # Runs in the child before exec: the kernel SIGKILLs etcd if pytest dies.
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _etcd_env():
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("ETCD_") or k.startswith("ETCDCTL_"))}


def _health(url, timeout=1.0):
    """True if the member at url says it is healthy (it has a leader)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        body = r.read()
        return r.status == 200 and json.loads(body.decode()).get("health") == "true"
    except (OSError, http.client.HTTPException, ValueError):
        return False
    finally:
        conn.close()


class Etcd:
    """One etcd member on 127.0.0.1: client_url / peer_url on free ports, its
    data dir and log file under workdir. start() runs it; restart() runs it
    again on the same ports and data dir (it rejoins its cluster)."""

    def __init__(self, workdir, name="m0", client_port=None, peer_port=None,
                 initial_cluster=None, cluster_token=None, log_level="warn", extra=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.client_port = client_port or free_port(LOOP4)
        self.peer_port = peer_port or free_port(LOOP4)
        if self.client_port == self.peer_port:
            self.peer_port = free_port(LOOP4)
        self.data_dir = self.workdir / ("%s.data" % name)
        self.log_path = self.workdir / ("%s.log" % name)
        self.initial_cluster = initial_cluster or "%s=%s" % (name, self.peer_url)
        self.cluster_token = cluster_token or "berth-test-" + secrets.token_hex(6)
        self.log_level = log_level
        self.extra = list(extra)
        self.proc = None
        self.starts = 0

    @property
    def client_url(self):
        return "http://%s:%d" % (LOOP4, self.client_port)

    @property
    def peer_url(self):
        return "http://%s:%d" % (LOOP4, self.peer_port)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def argv(self):
        return [ETCD_BIN,
                "--name", self.name,
                "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.client_url,
                "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", self.cluster_token,
                "--logger", "zap",
                "--log-outputs", "stderr",
                "--log-level", self.log_level] + self.extra

    # -- lifecycle
    def start(self):
        if self.alive():
            raise RuntimeError("etcd %s is already running (pid %d)" % (self.name, self.pid))
        if not os.access(ETCD_BIN, os.X_OK):
            raise RuntimeError("%s not found: run scripts/install-deps test" % ETCD_BIN)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(b"=== start %d: %s\n" % (self.starts, " ".join(self.argv()).encode()))
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, env=_etcd_env(), cwd=str(self.workdir),
                                         preexec_fn=_die_with_parent)
        _live.add(self)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def healthy(self, timeout=1.0):
        return self.alive() and _health(self.client_url, timeout)

    def wait_ready(self, timeout=15.0):
        """Wait (bounded) until /health says true; RuntimeError (with the log's
        tail) if etcd exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("etcd %s exited with %s before it was ready:\n%s"
                                   % (self.name, self.proc and self.proc.returncode,
                                      self.log_tail()))
            if _health(self.client_url, timeout=1.0):
                return self
            time.sleep(0.05)
        raise RuntimeError("etcd %s not ready within %.0fs:\n%s"
                           % (self.name, timeout, self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal by PID and wait; the exit code (SIGKILL after timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        _live.discard(self)
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def restart(self, wait=True, timeout=15.0):
        """Stop (SIGTERM) if running, start again with the same ports and data
        dir; wait until ready unless wait=False."""
        self.stop()
        self.start()
        return self.wait_ready(timeout) if wait else self

    def remove_data(self):
        if self.alive():
            raise RuntimeError("etcd %s still runs" % self.name)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- looking at it
    def client(self, **kw):
        return EtcdClient(self.client_url, **kw)

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log().splitlines()[-lines:])

    def lost_port_race(self):
        return "address already in use" in self.log()


class EtcdCluster:
    """n members (1 or 3) of one new cluster, with a token of its own, under
    workdir/etcd-<token>/. Started and ready when the constructor returns (a
    lost race for a random port is retried with new ports); on any failure
    every member started is stopped before the error is raised."""

    def __init__(self, workdir, n=1, log_level="warn", extra=(), timeout=20.0, tries=3):
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n = n
        self.members = []
        for attempt in range(tries):
            self.cluster_token = "berth-test-" + secrets.token_hex(6)
            self.workdir = Path(workdir) / ("etcd-" + self.cluster_token)
            self.members = self._make(n, log_level, extra)
            try:
                for m in self.members:
                    m.start()
                deadline = time.monotonic() + timeout
                for m in self.members:
                    m.wait_ready(max(1.0, deadline - time.monotonic()))
                return
            except BaseException:
                raced = any(m.lost_port_race() for m in self.members)
                self.stop_all(signal.SIGKILL)
                self.remove_data()
                if not raced or attempt == tries - 1:
                    raise

    def _make(self, n, log_level, extra):
        used = set()

        def port():
            for _ in range(50):
                p = free_port(LOOP4)
                if p not in used:
                    used.add(p)
                    return p
            raise RuntimeError("no distinct free ports")

        ports = [(port(), port()) for _ in range(n)]
        names = ["m%d" % i for i in range(n)]
        initial = ",".join("%s=http://%s:%d" % (name, LOOP4, pp)
                           for name, (_, pp) in zip(names, ports))
        return [Etcd(self.workdir, name, cp, pp, initial, self.cluster_token, log_level, extra)
                for name, (cp, pp) in zip(names, ports)]

    @property
    def urls(self):
        return [m.client_url for m in self.members]

    def client(self, **kw):
        """A client over every member's URL."""
        return EtcdClient(self.urls, **kw)

    def leader(self, timeout=10.0):
        """The member that is leader now (bounded wait for one)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.members:
                if not m.alive():
                    continue
                try:
                    st = m.client(timeout=1.0).status()
                except EtcdError:
                    continue
                if st.get("leader") not in (None, "0") and st.get("leader") == \
                        st.get("header", {}).get("member_id"):
                    return m
            if time.monotonic() >= deadline:
                raise RuntimeError("no etcd leader within %.0fs" % timeout)
            time.sleep(0.1)

    def stop_all(self, sig=signal.SIGTERM):
        return [m.stop(sig) for m in self.members]

    def remove_data(self):
        for m in self.members:
            if not m.alive():
                m.remove_data()

    def logs(self, lines=30):
        return "\n".join("--- etcd %s (pid %s, %s):\n%s"
                         % (m.name, m.pid, m.client_url, m.log_tail(lines))
                         for m in self.members)

    def close(self):
        """Stop every member and remove their data dirs (logs stay)."""
        self.stop_all()
        self.remove_data()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@atexit.register
def _sweep():
    for m in list(_live):
        try:
            m.stop(signal.SIGKILL, timeout=2)
        except Exception:
            pass


# --------------------------------------------------------------------------
# Fixtures

def _cluster_fixture(tmp_path, n):
    c = EtcdCluster(tmp_path, n)
    try:
        yield c
    finally:
        print(c.logs())      # shown by pytest only when the test failed
        c.close()


@pytest.fixture
def etcd(tmp_path):
    """One etcd member, ready; stopped and its data removed at the end."""
    yield from _cluster_fixture(tmp_path, 1)


@pytest.fixture
def etcd3(tmp_path):
    """A three-member etcd cluster, ready; stopped and removed at the end."""
    yield from _cluster_fixture(tmp_path, 3)
