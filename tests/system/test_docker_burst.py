# SPDX-License-Identifier: MIT
"""200 containers created and started in a burst (threads), every name checked
once the start phase is over; then all removed in a burst, every name checked
NXDOMAIN. SLOW: dockerd itself needs minutes for 200 starts on a small machine.

BERTH_DOCKER_BURST=N changes the count (default 200, the issue's figure).
DNS goes to berth on 127.0.0.1 only; container addresses come from inspect.
"""
import concurrent.futures
import os
import time

import dns.rcode
import pytest

from conftest import answer_texts
from docker_env import (DockerKit, dockerd, docker_berth, ip_of, summary,  # noqa: F401,F811
                        wait_for_answer, nxdomain)

pytestmark = pytest.mark.slow

COUNT = int(os.environ.get("BERTH_DOCKER_BURST", "200"))
WORKERS = 16
# Once dockerd says every container runs, berth has had all the events: every
# name must answer within this (the target is milliseconds).
SETTLE = 5.0


def check_all(b, names, ok, deadline):
    """Names for which ok(msg) does not hold by the deadline (each re-asked)."""
    pending = dict(names)
    while pending:
        for n, want in list(pending.items()):
            m = b.ask(n, timeout=1.0)
            if ok(m, want):
                del pending[n]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    out = {}
    for n in pending:
        out[n] = summary(b.ask(n))
    return out


def test_burst_of_containers_started_and_removed(dockerd, docker_berth):  # noqa: F811
    kit = DockerKit(dockerd)
    try:
        net = kit.network("burst", prefixlen=23)        # 510 addresses, ours alone
        b = docker_berth()

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
            made = list(ex.map(lambda i: kit.create("b%03d" % i, network=net), range(COUNT)))
        t_started = time.monotonic()
        expect = {c.name + ".docker": ip_of(c, net) for c in made}
        assert len(set(expect.values())) == COUNT, "addresses not distinct"
        print("%d containers created and started in %.1f s (%d threads)"
              % (COUNT, t_started - t0, WORKERS))

        def answers(m, ip):
            return m.rcode() == dns.rcode.NOERROR and answer_texts(m, "A") == [ip]
        missing = check_all(b, expect, answers, time.monotonic() + SETTLE)
        print("all names checked %.2f s after the start phase" % (time.monotonic() - t_started))
        assert not missing, "%d of %d names wrong after the start phase, e.g. %s" % (
            len(missing), COUNT, sorted(missing.items())[:5])
        # A second berth started now finds them all in its initial sync (list,
        # then an inspect each), and /status says how long that took.
        t2 = time.monotonic()
        b2 = docker_berth()
        missing = check_all(b2, expect, answers, time.monotonic() + SETTLE)
        assert not missing, "%d of %d names wrong after a fresh berth's sync, e.g. %s" % (
            len(missing), COUNT, sorted(missing.items())[:5])
        sync = b2.wait_last_sync(SETTLE)    # other containers may be inspected last
        assert sync and sync["containers"] >= COUNT and sync["ms"] > 0, b2.docker_source()
        print("a fresh berth synced %d containers in %.0f ms (its own figure); all checked "
              "%.2f s after it was started" % (sync["containers"], sync["ms"],
                                               time.monotonic() - t2))
        # README: `*.docker` answers every distinct address of every match.
        # Checked after the removal phase, so that a failure here does not hide
        # the rest.
        problems = []
        every = set(answer_texts(b.ask("*.docker", timeout=3.0, tcp=True), "A"))
        lost = set(expect.values()) - every
        if lost:
            problems.append("*.docker (over TCP) lacks %d of our %d addresses; it has %d in all"
                            % (len(lost), COUNT, len(every)))

        t1 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
            list(ex.map(kit.remove, made))
        t_removed = time.monotonic()
        print("%d containers removed in %.1f s" % (COUNT, t_removed - t1))
        left = check_all(b, expect, lambda m, ip: nxdomain(m), time.monotonic() + SETTLE)
        assert not left, "%d of %d names still answer after removal, e.g. %s" % (
            len(left), COUNT, sorted(left.items())[:5])
        every = set(answer_texts(b.ask("*.docker", timeout=3.0, tcp=True), "A"))
        assert not (set(expect.values()) & every), "removed addresses still in *.docker"
        # A name that was never there, to be sure the zone still answers.
        wait_for_answer(b, "nothing-%d.docker" % COUNT, "A", nxdomain, timeout=1)
        assert not problems, problems
    finally:
        errors = kit.cleanup()
        assert not errors, errors
