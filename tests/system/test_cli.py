# SPDX-License-Identifier: MIT
"""Operation: --help, --version, bad option values (exit 2 naming the option),
unbindable listen addresses, signals, BERTH_* environment variables, JSON logs,
IPv6 listening."""
import json
import re
import signal
import socket
import subprocess
import time

import dns.flags
import dns.rcode
import pytest

from conftest import (BERTH_BIN, LOOP4, LOOP6, answer_texts, clean_env, free_port,
                      hostport, ipv6_available, wait_until, write_zone)

ALL_OPTIONS = [
    "--listen", "--domain", "--hosts-dir", "--records", "--upstream", "--allow-recursion",
    "--miss", "--ttl", "--negative-ttl", "--max-udp-size", "--threads", "--http", "--docker",
    "--log-level", "--log-format", "--tcp-idle-timeout", "--resolv-conf", "--help",
    "--version", "--environment", "--host-ip", "--etcd", "--node", "--advertise",
    "--api-token", "--user", "--group", "--keep-net-bind-service",
]


def run(args, env=None, timeout=10):
    """Run berth to completion (it must exit by itself); returns CompletedProcess."""
    try:
        return subprocess.run([BERTH_BIN] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=clean_env(env),
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("berth %s did not exit within %ds" % (" ".join(args), timeout))


def safe_args(port=None):
    """Arguments that keep a berth that wrongly starts harmless and on loopback."""
    return ["--listen", "127.0.0.1:%d" % (port or free_port()), "--docker", "none",
            "--http", "none", "--upstream", "none"]


# ---------------------------------------------------------------- --help / --version

@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_lists_every_option(argv):
    p = run(argv)
    assert p.returncode == 0, p.stderr
    missing = [o for o in ALL_OPTIONS if not re.search(re.escape(o) + r"\b", p.stdout)]
    assert not missing, "--help does not list %s:\n%s" % (missing, p.stdout)


def test_help_mentions_environment_variables():
    p = run(["--help"])
    assert "BERTH_HOSTS_DIR" in p.stdout or "BERTH_<" in p.stdout, p.stdout


@pytest.mark.parametrize("argv", [["--version"], ["serve", "--version"]])
def test_version(argv):
    p = run(argv)
    assert p.returncode == 0, p.stderr
    assert re.search(r"berth.*\d+\.\d+", p.stdout, re.I | re.S), p.stdout


# ---------------------------------------------------------------- bad values

BAD_VALUES = [
    ("--ttl", "abc"), ("--ttl", "-1"), ("--ttl", "99999999999"), ("--ttl", ""),
    ("--negative-ttl", "x"), ("--miss", "maybe"), ("--listen", "nonsense"),
    ("--listen", "127.0.0.1:99999"), ("--listen", "300.1.1.1:53"), ("--upstream", "not an address"),
    ("--upstream", "127.0.0.1:70000"), ("--allow-recursion", "10.0.0.0/99"),
    ("--allow-recursion", "banana"), ("--log-format", "xml"), ("--log-level", "loud"),
    ("--max-udp-size", "abc"), ("--max-udp-size", "70000"), ("--threads", "abc"),
    ("--threads", "-2"), ("--tcp-idle-timeout", "soon"), ("--http", "bogus:port"),
]


@pytest.mark.parametrize("opt,value", BAD_VALUES, ids=["%s=%s" % ov for ov in BAD_VALUES])
def test_bad_value_exits_2(opt, value):
    p = run(["serve"] + safe_args() + [opt, value], timeout=5)
    assert p.returncode == 2, "exit %s for %s %r; stderr: %s" % (p.returncode, opt, value,
                                                                 p.stderr)
    assert opt.lstrip("-") in p.stderr, "message does not name %s: %r" % (opt, p.stderr)


def test_bad_value_equals_form():
    p = run(["serve"] + safe_args() + ["--ttl=abc"], timeout=5)
    assert p.returncode == 2 and "ttl" in p.stderr


def test_unknown_option():
    p = run(["serve"] + safe_args() + ["--no-such-option"], timeout=5)
    assert p.returncode == 2
    assert "no-such-option" in p.stderr


def test_missing_value():
    p = run(["serve"] + safe_args() + ["--ttl"], timeout=5)
    assert p.returncode == 2
    assert "ttl" in p.stderr


def test_unknown_subcommand():
    p = run(["no-such-command"], timeout=5)
    assert p.returncode == 2, p.stderr
    assert "no-such-command" in p.stderr


@pytest.mark.parametrize("var,value", [("BERTH_TTL", "abc"), ("BERTH_MISS", "maybe"),
                                       ("BERTH_LOG_FORMAT", "xml"),
                                       ("BERTH_ALLOW_RECURSION", "banana")])
def test_bad_env_value_exits_2(var, value):
    p = run(["serve"] + safe_args(), env={var: value}, timeout=5)
    assert p.returncode == 2, p.stderr
    name = var[len("BERTH_"):].lower()
    assert name in p.stderr.lower().replace("-", "_"), p.stderr


# ---------------------------------------------------------------- unbindable

def test_address_not_up_is_bound_anyway(start_berth):
    # 192.0.2.1 (TEST-NET-1) is not an address of this machine: like a bridge
    # address before dockerd made the bridge, it is bound anyway (IP_FREEBIND)
    # and berth says so, naming it; it would answer once the address appears.
    b = start_berth("--listen", "192.0.2.1:%d" % free_port())
    assert "192.0.2.1" in b.stderr() and "not on any interface (yet)" in b.stderr(), b.stderr()


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_port_in_use(proto):
    port = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    try:
        s.bind((LOOP4, port))
        if proto == "tcp":
            s.listen(1)
        p = run(["serve"] + safe_args(port), timeout=5)
    finally:
        s.close()
    assert p.returncode != 0
    assert "127.0.0.1" in p.stderr and str(port) in p.stderr, p.stderr
    assert "--listen" in p.stderr or "listen" in p.stderr.lower(), \
        "message does not say how to change it: %r" % p.stderr


def test_second_listen_unbindable_fails_whole_start(tmp_path):
    port, busy = free_port(), free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((LOOP4, busy))
        s.listen(1)
        p = run(["serve"] + safe_args(port) + ["--listen", "%s:%d" % (LOOP4, busy)], timeout=5)
    finally:
        s.close()
    assert p.returncode != 0 and "%s:%d" % (LOOP4, busy) in p.stderr, p.stderr


# ---------------------------------------------------------------- signals

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_clean_exit(start_berth, tmp_path, sig):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd))
    # Leave an idle TCP connection open: it must not delay the exit.
    s = b.tcp_connect()
    try:
        assert b.query("alpha.docker", "A").rcode() == dns.rcode.NOERROR
        t0 = time.monotonic()
        rc = b.stop(sig, timeout=5)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert rc == 0, "exit %s on %s; stderr:\n%s" % (rc, sig.name, b.stderr())
    assert took < 3, "took %.1fs to stop" % took


def test_sigterm_during_load(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd))
    q = b.make("many.docker", "A").to_wire()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(2000):
            c.sendto(q, (LOOP4, b.port))
        rc = b.stop(signal.SIGTERM, timeout=5)
    finally:
        c.close()
    assert rc == 0, b.stderr()


def test_bare_berth_is_serve(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), subcommand=None)
    assert answer_texts(b.query("alpha.docker", "A"), "A") == ["192.0.2.10"]


@pytest.mark.parametrize("threads", ["1", "4"])
def test_threads(start_berth, tmp_path, threads):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--threads", threads)
    for _ in range(10):
        assert answer_texts(b.query("alpha.docker", "A"), "A") == ["192.0.2.10"]
        assert answer_texts(b.query("alpha.docker", "A", tcp=True), "A") == ["192.0.2.10"]


def test_ttl_option(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--records", str(rec), "--ttl", "77")
    for name, t in (("alpha.docker", "A"), ("rec.docker", "A"), ("txt.docker", "TXT")):
        r = b.query(name, t)
        assert r.answer and r.answer[0].ttl == 77, (name, r.answer)


# ---------------------------------------------------------------- environment

def test_everything_from_environment(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    d2 = tmp_path / "d2"
    d2.mkdir()
    (d2 / "x").write_text("192.0.2.200 envtwo.docker\n")
    port = free_port()
    env = {
        "BERTH_LISTEN": "127.0.0.1:%d" % port, "BERTH_DOCKER": "none", "BERTH_HTTP": "none",
        "BERTH_UPSTREAM": "none", "BERTH_HOSTS_DIR": "%s,%s" % (hd, d2),
        "BERTH_RECORDS": str(rec), "BERTH_TTL": "42", "BERTH_NEGATIVE_TTL": "2",
        "BERTH_MISS": "servfail", "BERTH_THREADS": "1", "BERTH_LOG_FORMAT": "json",
        "BERTH_LOG_LEVEL": "debug", "BERTH_MAX_UDP_SIZE": "1232",
        "BERTH_TCP_IDLE_TIMEOUT": "5", "BERTH_DOMAIN": "docker",
    }
    b = start_berth(env=env, defaults=False, port=port)
    try:
        assert wait_until(lambda: b.query("envtwo.docker", "A").rcode() == dns.rcode.NOERROR,
                          timeout=3)
        r = b.query("alpha.docker", "A")
        assert answer_texts(r, "A") == ["192.0.2.10"] and r.answer[0].ttl == 42
        assert answer_texts(b.query("rec.docker", "A"), "A") == ["192.0.2.30"]
        assert b.query("nope.docker", "A").rcode() == dns.rcode.SERVFAIL
        r = b.query("alpha.docker", "AAAA")
        assert r.rcode() == dns.rcode.NOERROR and r.authority[0][0].minimum == 2
        assert b.query("www.example.test", "A").rcode() == dns.rcode.REFUSED
    finally:
        rc = b.stop()
    assert rc == 0, b.stderr()
    lines = [l for l in b.stderr().splitlines() if l.strip()]
    assert lines, "no log output at debug level"
    for l in lines:
        assert isinstance(json.loads(l), dict), l


def test_command_line_wins_over_environment(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), "--ttl", "7", env={"BERTH_TTL": "42"})
    r = b.query("alpha.docker", "A")
    assert r.answer[0].ttl == 7


def test_env_domain(start_berth, tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "f").write_text("192.0.2.201 web.envzone\n")
    b = start_berth("--hosts-dir", str(d), env={"BERTH_DOMAIN": "envzone"}, domain="envzone")
    r = b.query("envzone.", "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert b.query("nope.envzone", "A").rcode() == dns.rcode.NXDOMAIN


def test_env_allow_recursion(start_berth, dnsmasq):
    b = start_berth("--upstream", dnsmasq.addr, env={"BERTH_ALLOW_RECURSION": "10.0.0.0/8"})
    assert b.query("www.example.test", "A").rcode() == dns.rcode.REFUSED


# ---------------------------------------------------------------- logs

def test_json_log_format(start_berth, tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "broken").write_text("192.0.2.210 fine.docker\nnot an address line\n")
    b = start_berth("--hosts-dir", str(d), "--log-format", "json", "--log-level", "debug")
    assert wait_until(lambda: b.query("fine.docker", "A").rcode() == dns.rcode.NOERROR, timeout=3)
    for _ in range(5):
        b.query("nope.docker", "A")
    assert wait_until(lambda: "broken" in b.stderr(), timeout=2), b.stderr()
    lines = [l for l in b.stderr().splitlines() if l.strip()]
    objs = []
    for l in lines:
        try:
            o = json.loads(l)
        except ValueError:
            pytest.fail("log line is not JSON: %r" % l)
        assert isinstance(o, dict), l
        objs.append(o)
    # The bad line is a JSON object naming the file and line.
    bad = [o for o in objs if "broken" in json.dumps(o)]
    assert bad and any(re.search(r"\b2\b", json.dumps(o)) for o in bad), bad


def test_text_log_format_is_not_json(start_berth, tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "broken").write_text("garbage line\n")
    b = start_berth("--hosts-dir", str(d), "--log-format", "text")
    assert wait_until(lambda: "broken" in b.stderr(), timeout=3), b.stderr()
    line = [l for l in b.stderr().splitlines() if "broken" in l][0]
    assert not line.lstrip().startswith("{")


# ---------------------------------------------------------------- IPv6

needs_v6 = pytest.mark.skipif(not ipv6_available(), reason="::1 unavailable")


@needs_v6
def test_ipv6_listen(start_berth, tmp_path, tcp):
    hd, rec = write_zone(tmp_path / "z")
    b = start_berth("--hosts-dir", str(hd), host=LOOP6)
    r = b.query("alpha.docker", "A", tcp=tcp)
    assert answer_texts(r, "A") == ["192.0.2.10"]
    r = b.query("alpha6.docker", "AAAA", tcp=tcp)
    assert answer_texts(r, "AAAA") == ["2001:db8::10"]


@needs_v6
def test_ipv4_and_ipv6_listen_together(start_berth, tmp_path):
    hd, rec = write_zone(tmp_path / "z")
    p6 = free_port(LOOP6)
    b = start_berth("--hosts-dir", str(hd), "--listen", hostport(LOOP6, p6))
    for tcp in (False, True):
        assert answer_texts(b.query("alpha.docker", "A", tcp=tcp), "A") == ["192.0.2.10"]
        assert answer_texts(b.query("alpha.docker", "A", tcp=tcp, host=LOOP6, port=p6),
                            "A") == ["192.0.2.10"]


@needs_v6
def test_ipv6_client_may_forward(start_berth, dnsmasq):
    b = start_berth("--upstream", dnsmasq.addr, host=LOOP6)
    deadline = time.monotonic() + 10
    while True:
        r = b.query("v6client.example.test", "A", timeout=3)
        if r.rcode() != dns.rcode.SERVFAIL or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer_texts(r, "A") == ["192.0.2.7"]


# ---------------------------------------------------------------- resolv.conf

def test_resolv_conf_without_nameservers(start_berth, tmp_path):
    rc = tmp_path / "resolv.conf"
    rc.write_text("# no nameservers here\nsearch example.invalid\n")
    b = start_berth("--resolv-conf", str(rc), upstream_none=False)
    assert b.query("docker.", "SOA").rcode() == dns.rcode.NOERROR
    r = b.query("www.example.test", "A", timeout=5)
    assert r.rcode() in (dns.rcode.REFUSED, dns.rcode.SERVFAIL)
    assert not r.answer


def _levels(b):
    out = []
    for l in b.stderr().splitlines():
        if l.strip():
            o = json.loads(l)
            out.append(str(o.get("level", o.get("severity", o.get("lvl", "")))).lower())
    return out


def test_log_levels(start_berth, tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "broken").write_text("not an address\n192.0.2.211 ok.docker\n")
    quiet = start_berth("--hosts-dir", str(d), "--log-format", "json", "--log-level", "warn")
    loud = start_berth("--hosts-dir", str(d), "--log-format", "json", "--log-level", "debug")
    for b in (quiet, loud):
        assert wait_until(lambda: b.query("ok.docker", "A").rcode() == dns.rcode.NOERROR,
                          timeout=3)
        b.query("nope.docker", "A")
    assert wait_until(lambda: "warn" in _levels(quiet) or "warning" in _levels(quiet),
                      timeout=2), quiet.stderr()
    assert set(_levels(quiet)) <= {"warn", "warning", "error"}, quiet.stderr()
    assert "debug" in _levels(loud) and "info" in _levels(loud), loud.stderr()
