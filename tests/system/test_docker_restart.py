# SPDX-License-Identifier: MIT
"""dockerd restarts under a running berth, and berth started before dockerd.
SLOW (about a minute): each test stops and starts a dockerd.

These tests stop dockerd, so they run against a dockerd of their own
(PrivateDockerd: own socket, data and exec roots, no default bridge; started
with scripts/dockerd and removed at the end), never the shared one other tests
and people use. live-restore is off, as by default: containers die when dockerd
goes, and after its restart berth must show none of their names.

DNS goes to berth on 127.0.0.1 only; container addresses come from inspect.
"""
import os
import signal
import time

import pytest

from conftest import wait_until
from docker_env import (DockerKit, PrivateDockerd, addrs_equal, assert_stays, ip_of, nxdomain,
                        start_docker_berth, stop_berths, summary, running, wait_for_answer)

pytestmark = pytest.mark.slow

# berth retries with a capped backoff; how long it may take to notice that
# dockerd is back (the cap is berth's; this is the test's bound).
RECONNECT = 30.0
FOLLOW = 3.0


@pytest.fixture(scope="module")
def pd():
    d = PrivateDockerd("rs")
    d.shared_bridge_before = os.path.exists("/sys/class/net/docker0")
    yield from running(d)


@pytest.fixture
def berths(tmp_path):
    started = []

    def start(url, *args, wait=True):
        b = start_docker_berth(tmp_path, url, args, wait=wait)
        started.append(b)
        return b
    yield start
    problems = stop_berths(started)
    assert not problems, problems


@pytest.fixture
def rkit(pd):
    """Containers on the private dockerd, removed at the end (dockerd started
    again first if a test left it stopped)."""
    k = DockerKit(pd)
    yield k
    if not pd.answers():
        pd.start()
        k.client = pd.client()
        k.api = k.client.api
    errors = k.cleanup()
    assert not errors, errors


def D(c):
    return c.name + ".docker"


def docker_state(b):
    src = b.docker_source()
    return src.get("state") if src else None


def wait_pid_gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while os.path.exists("/proc/%d" % pid):
        assert time.monotonic() < deadline, "dockerd %d still there after %ds" % (pid, timeout)
        time.sleep(0.05)


def test_private_dockerd_leaves_the_shared_bridge_alone(pd):
    # A dockerd run with --bridge=none deletes docker0 as it starts; the
    # private one has a bridge of its own, so the shared one keeps its.
    if not pd.shared_bridge_before:
        pytest.skip("no docker0 on this machine before the private dockerd started")
    assert os.path.exists("/sys/class/net/docker0"), "the private dockerd removed docker0"


def test_dockerd_killed_and_restarted_no_stale_names(pd, rkit, berths):
    """dockerd dies (SIGKILL: no events, the stream just breaks): berth keeps
    answering what it knew. dockerd comes back without live-restore, so those
    containers are stopped: their names must go (a full re-list), and new and
    restarted containers must answer."""
    net = rkit.network("rs")
    c1 = rkit.create("rs1", network=net)
    c2 = rkit.create("rs2", network=net)
    ip1, ip2 = ip_of(c1, net), ip_of(c2, net)
    b = berths(pd.url)
    wait_for_answer(b, D(c1), "A", addrs_equal({ip1}), timeout=FOLLOW)
    wait_for_answer(b, D(c2), "A", addrs_equal({ip2}), timeout=FOLLOW)
    assert docker_state(b) == "ok"

    pid = pd.pid()
    assert pid, "no dockerd pid"
    os.kill(pid, signal.SIGKILL)
    wait_pid_gone(pid)
    # Known names keep answering while dockerd is away.
    assert_stays(b, D(c1), "A", addrs_equal({ip1}), duration=1.5)
    assert b.a(D(c2)) == {ip2}
    st = wait_until(lambda: docker_state(b) not in ("ok", None) and docker_state(b), timeout=5)
    assert st, "/status still says the docker source is %r with dockerd gone" % docker_state(b)
    print("docker source while dockerd is down: %r" % st)
    assert b.alive()

    t0 = time.monotonic()
    pd.start()
    # Without live-restore, dockerd's restore stops the containers it finds.
    c1.reload()
    c2.reload()
    assert c1.status != "running" and c2.status != "running", (c1.status, c2.status)
    wait_for_answer(b, D(c1), "A", nxdomain, timeout=RECONNECT)
    wait_for_answer(b, D(c2), "A", nxdomain, timeout=FOLLOW)
    print("stale names gone %.1f s after dockerd was started again" % (time.monotonic() - t0))
    assert nxdomain(b.ask(c1.id[:12] + ".docker"))
    assert wait_until(lambda: docker_state(b) == "ok", timeout=RECONNECT), docker_state(b)

    # New containers answer, and so does an old one started again.
    c3 = rkit.create("rs3", network=net)
    wait_for_answer(b, D(c3), "A", addrs_equal({ip_of(c3, net)}), timeout=FOLLOW)
    c1.start()
    wait_for_answer(b, D(c1), "A", addrs_equal({ip_of(c1, net)}), timeout=FOLLOW)
    assert nxdomain(b.ask(D(c2)))


def test_dockerd_stopped_and_started_under_berth(pd, rkit, berths):
    """scripts/dockerd stop (graceful: dockerd stops its containers and says
    so): their names go; berth keeps serving; after the start, new containers
    answer."""
    net = rkit.network("gs")
    c1 = rkit.create("gs1", network=net)
    b = berths(pd.url)
    wait_for_answer(b, D(c1), "A", addrs_equal({ip_of(c1, net)}), timeout=FOLLOW)

    pd.stop()
    wait_for_answer(b, D(c1), "A", nxdomain, timeout=RECONNECT)
    assert b.alive()
    b.wait_ready(timeout=2)

    pd.start()
    c2 = rkit.create("gs2", network=net)
    t0 = time.monotonic()
    wait_for_answer(b, D(c2), "A", addrs_equal({ip_of(c2, net)}), timeout=RECONNECT)
    print("new container answered %.1f s after it started" % (time.monotonic() - t0))
    assert nxdomain(b.ask(D(c1)))


def test_berth_started_while_dockerd_is_down(pd, rkit, berths):
    """README: berth starts without an engine, serves its other sources, and
    connects as soon as the engine appears."""
    pd.stop()
    b = berths(pd.url)          # wait_ready: it answers SOA docker. without dockerd
    assert b.alive()
    assert nxdomain(b.ask("nothing-here.docker")), summary(b.ask("nothing-here.docker"))
    assert docker_state(b) != "ok", b.docker_source()
    time.sleep(0.5)
    assert b.alive(), "berth exited while dockerd was down:\n" + b.stderr()

    pd.start()
    net = rkit.network("late")
    c = rkit.create("late1", network=net)
    t0 = time.monotonic()
    wait_for_answer(b, D(c), "A", addrs_equal({ip_of(c, net)}), timeout=RECONNECT)
    print("picked up %.1f s after the container started" % (time.monotonic() - t0))
    assert wait_until(lambda: docker_state(b) == "ok", timeout=FOLLOW), b.docker_source()
