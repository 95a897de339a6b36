# SPDX-License-Identifier: MIT
"""berth health: asks a running berth's /health (the same --http option,
BERTH_HTTP variable and default as serve), exits 0 only when it is healthy."""
import subprocess

from conftest import BERTH_BIN, LOOP4, clean_env, dead_port, free_port, hostport


def health(*args, env=None):
    return subprocess.run([BERTH_BIN, "health"] + list(args), capture_output=True, text=True,
                          env=clean_env(env), timeout=20)


def test_healthy_by_option_and_by_variable(start_berth):
    port = free_port()
    start_berth("--http", hostport(LOOP4, port))
    p = health("--http", hostport(LOOP4, port))
    assert p.returncode == 0 and p.stdout.strip() == "healthy", p.stderr
    # serve's variable is health's too: an image sets BERTH_HTTP once for both.
    p = health(env={"BERTH_HTTP": hostport(LOOP4, port)})
    assert p.returncode == 0, p.stderr
    # A wildcard (what serve may listen on) is asked on loopback.
    p = health("--http", "0.0.0.0:%d" % port)
    assert p.returncode == 0, p.stderr


def test_unhealthy_exits_1_with_the_reason(start_berth, tmp_path):
    """A required source that is down (a Docker endpoint nobody answers) is unhealthy."""
    port = free_port()
    start_berth("--http", hostport(LOOP4, port), "--docker", "tcp://%s" % hostport(LOOP4, dead_port()))
    p = health("--http", hostport(LOOP4, port))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "not healthy (HTTP 503)" in p.stderr and "docker" in p.stderr, p.stderr


def test_nothing_listening_exits_1():
    p = health("--http", hostport(LOOP4, dead_port()), "--timeout", "2")
    assert p.returncode == 1
    assert "no berth answers HTTP on 127.0.0.1:" in p.stderr, p.stderr


def test_bad_usage_exits_2():
    p = health("--http", "nonsense")
    assert p.returncode == 2 and "--http" in p.stderr, p.stderr
    p = health("--help")
    assert p.returncode == 0 and "BERTH_HTTP" in p.stdout
