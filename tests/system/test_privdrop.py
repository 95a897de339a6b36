# SPDX-License-Identifier: MIT
"""berth serve --user: every socket bound as root, then no thread runs as root
or holds a capability beyond what was asked (read from
/proc/<pid>/task/*/status); the Docker socket's group (or --group) is kept;
and a listen address that is not up yet (IP_FREEBIND) is bound and answers
once it is added, tested in a network namespace that the test makes."""
import grp
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import BERTH_BIN, LOOP4, clean_env, free_port, hostport, ipv6_available, wait_until

CAP_NET_BIND_SERVICE = 1 << 10

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="--user changes user: the test must run as root")


@pytest.fixture
def state_parent():
    """A directory the unprivileged user can reach (pytest's tmp_path is root's, 0700)."""
    d = tempfile.mkdtemp(prefix="berth-privdrop-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def nobody():
    return pwd.getpwnam("nobody")


def thread_status(pid):
    """{tid: {key: value}} for every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[tid] = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            pass
    return out


def check_threads(b, caps, groups):
    """Every thread: uid/gid all nobody's, these groups, exactly caps (effective,
    permitted, bounding), none inheritable or ambient, no_new_privs."""
    pw = nobody()
    st = thread_status(b.pid)
    # main + 2 UDP workers + the answer loop at least
    assert len(st) >= 4, st.keys()
    for tid, s in st.items():
        uids = [int(x) for x in s["Uid"].split()]
        gids = [int(x) for x in s["Gid"].split()]
        assert uids == [pw.pw_uid] * 4, (tid, s["Uid"])
        assert gids == [pw.pw_gid] * 4, (tid, s["Gid"])
        assert sorted(int(g) for g in s["Groups"].split()) == sorted(groups), (tid, s["Groups"])
        for key in ("CapEff", "CapPrm", "CapBnd"):
            assert int(s[key], 16) == caps, (tid, key, s[key])
        assert int(s["CapInh"], 16) == 0 and int(s["CapAmb"], 16) == 0, (tid, s)
        assert s["NoNewPrivs"].strip() == "1", (tid, s["NoNewPrivs"])
    return st


def test_user_no_thread_is_root(start_berth, state_parent):
    http_port = free_port()
    state = os.path.join(state_parent, "state")
    b = start_berth("--user", "nobody", "--http", hostport(LOOP4, http_port),
                    "--state-dir", state)
    check_threads(b, 0, [nobody().pw_gid])
    assert "now uid %d (nobody)" % nobody().pw_uid in b.stderr()
    assert b.query("docker.", "SOA").rcode() == dns.rcode.NOERROR
    assert b.query("docker.", "SOA", tcp=True).rcode() == dns.rcode.NOERROR
    # HTTP was bound before the drop too, and the state dir was made for the user.
    with socket.create_connection((LOOP4, http_port), timeout=2) as s:
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        assert b"healthy" in s.recv(4096)
    assert os.stat(state).st_uid == nobody().pw_uid
    # SIGHUP still reloads as the user.
    b.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP" in b.stderr())
    assert b.alive()


def test_user_keeps_only_net_bind_service(start_berth, state_parent):
    b = start_berth("--user", "nobody", "--keep-net-bind-service",
                    "--state-dir", os.path.join(state_parent, "state"))
    check_threads(b, CAP_NET_BIND_SERVICE, [nobody().pw_gid])
    assert "CAP_NET_BIND_SERVICE only" in b.stderr()


def test_user_keeps_docker_socket_group(start_berth, state_parent):
    """Without --group the Docker socket's group is the one kept; --group names another."""
    sock_path = os.path.join(state_parent, "docker.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock_path)  # not listening: berth's Docker source just retries
    try:
        os.chown(sock_path, 0, 4242)
        b = start_berth("--user", "nobody", "--docker", "unix://" + sock_path,
                        "--state-dir", os.path.join(state_parent, "state"))
        check_threads(b, 0, [nobody().pw_gid, 4242])
        assert ", group 4242" in b.stderr()
        daemon = grp.getgrnam("daemon")
        b2 = start_berth("--user", "nobody", "--docker", "unix://" + sock_path,
                         "--group", "daemon", "--state-dir", os.path.join(state_parent, "s2"))
        check_threads(b2, 0, [nobody().pw_gid, daemon.gr_gid])
        # A group that does not exist: a clear warning, and berth still starts.
        b3 = start_berth("--user", "nobody", "--group", "no-such-group-berth",
                         "--state-dir", os.path.join(state_parent, "s3"))
        check_threads(b3, 0, [nobody().pw_gid])
        assert "--group no-such-group-berth: no such group" in b3.stderr()
    finally:
        s.close()


@pytest.mark.parametrize("user,why", [("no-such-user-berth", "no such user"),
                                      ("root", "that is root")])
def test_user_refused(user, why):
    p = subprocess.run([BERTH_BIN, "--user", user, "--listen", hostport(LOOP4, free_port()),
                        "--docker", "none", "--http", "none", "--upstream", "none"],
                       capture_output=True, text=True, env=clean_env(), timeout=10)
    assert p.returncode != 0
    assert why in p.stderr, p.stderr


def test_user_as_non_root_is_refused(state_parent):
    """Started as another unprivileged user, --user nobody cannot work: say so."""
    try:
        daemon_uid = pwd.getpwnam("daemon").pw_uid
    except KeyError:
        pytest.skip("no user daemon on this system")

    def become_daemon():
        os.setgid(grp.getgrnam("daemon").gr_gid)
        os.setuid(daemon_uid)
    p = subprocess.run([BERTH_BIN, "--user", "nobody", "--listen",
                        hostport(LOOP4, free_port()), "--docker", "none", "--http", "none",
                        "--upstream", "none", "--state-dir", os.path.join(state_parent, "s")],
                       capture_output=True, text=True, env=clean_env(), timeout=10,
                       preexec_fn=become_daemon)
    assert p.returncode != 0
    assert "must be started as root" in p.stderr, p.stderr


# ---------------------------------------------------------------- IP_FREEBIND

def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, check=check,
                          timeout=10)


@pytest.fixture
def netns():
    """A network namespace joined to the host by a veth pair (host end up, with an
    address; the namespace end up with none yet). Yields (ns, host_if, ns_if, n)."""
    if shutil.which("ip") is None:
        pytest.skip("ip (iproute2) is not installed")
    n = random.randrange(1, 250)
    ns = "berth-fb-%d-%d" % (os.getpid(), n)
    host_if, ns_if = "bfb%dh%d" % (os.getpid() % 10000, n), "bfbn%d" % n
    p = ip("netns", "add", ns, check=False)
    if p.returncode != 0:
        pytest.skip("cannot make a network namespace here: %s" % p.stderr.strip())
    try:
        ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "set", ns_if, "up")
        ip("link", "set", host_if, "up")
        ip("addr", "add", "198.18.%d.1/30" % n, "dev", host_if)
        if ipv6_available():
            ip("addr", "add", "fd42:b7:%x::1/64" % n, "dev", host_if, "nodad")
        yield ns, host_if, ns_if, n
    finally:
        ip("link", "del", host_if, check=False)
        ip("netns", "del", ns, check=False)


def soa_answers(host, port, tcp=False):
    q = dns.message.make_query("docker.", "SOA")
    try:
        r = (dns.query.tcp if tcp else dns.query.udp)(q, host, port=port, timeout=0.3)
        return r.rcode() == dns.rcode.NOERROR
    except (dns.exception.Timeout, OSError):
        return False


def test_listen_address_added_after_start(netns, state_parent):
    """berth in the namespace listens on port 53 of addresses the namespace does
    not have yet, as nobody; once they are added it answers on them."""
    ns, host_if, ns_if, n = netns
    v4 = "198.18.%d.2" % n
    v6 = "fd42:b7:%x::2" % n if ipv6_available() else None
    listen = ["--listen", "%s:53" % v4] + (["--listen", "[%s]:53" % v6] if v6 else [])
    err_path = os.path.join(state_parent, "berth.stderr")
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, BERTH_BIN, "--user", "nobody"] +
                                listen + ["--docker", "none", "--http", "none", "--upstream",
                                          "none", "--threads", "2", "--state-dir",
                                          os.path.join(state_parent, "state")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=clean_env())

    def log():
        with open(err_path, errors="replace") as f:
            return f.read()
    try:
        assert wait_until(lambda: "listening on %s:53" % v4 in log() or proc.poll() is not None)
        assert proc.poll() is None, log()
        assert "%s:53 is not on any interface (yet)" % v4 in log()
        assert not soa_answers(v4, 53)
        ip("-n", ns, "addr", "add", "%s/30" % v4, "dev", ns_if)
        if v6:
            ip("-n", ns, "addr", "add", "%s/64" % v6, "dev", ns_if, "nodad")
        assert wait_until(lambda: soa_answers(v4, 53), timeout=10), log()
        assert soa_answers(v4, 53, tcp=True), log()
        if v6:
            assert wait_until(lambda: soa_answers(v6, 53), timeout=10), log()
            assert soa_answers(v6, 53, tcp=True), log()
        # The process answering is nobody's, with no capability left.
        st = thread_status(proc.pid)
        assert st, "no threads of pid %d" % proc.pid
        for s in st.values():
            assert int(s["Uid"].split()[1]) == nobody().pw_uid and int(s["CapEff"], 16) == 0, s
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait(5)
    assert rc == 0, log()


def test_socket_without_its_group_says_so(start_berth, state_parent):
    """A Docker socket berth's user may not open: the log line says what to do."""
    sock_path = os.path.join(state_parent, "docker.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock_path)
    s.listen(4)
    try:
        os.chmod(sock_path, 0o660)  # root:root: nobody cannot connect
        b = start_berth("--user", "nobody", "--docker", "unix://" + sock_path,
                        "--state-dir", os.path.join(state_parent, "state"))
        assert wait_until(lambda: "Permission denied (berth's user needs the socket's group"
                          in b.stderr()), b.stderr()
        assert b.alive()
    finally:
        s.close()
