# SPDX-License-Identifier: MIT
"""berth's TLS to a remote Docker engine really verifies.

A private dockerd of this session (PrivateDockerd: own socket, data and exec
roots, a bridge of its own) also listens on tcp://127.0.0.1:<free port> with
--tlsverify, using certificates made here with the openssl CLI: a CA, a server
certificate (subjectAltName DNS:localhost, IP:127.0.0.1), a client certificate
signed by the CA, and a second, unrelated CA.

- berth with the right CA and client certificate connects and answers names of
  containers on that engine;
- berth with the unrelated CA never connects, and says why (certificate);
- DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH alone are enough.

Only 127.0.0.1 traffic; containers run with network_mode "none" and the name
checked needs no container address (joyride.host.name -> --host-ip).
"""
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import LOOP4, Berth, free_port, wait_until
from docker_env import (DockerBerth, DockerKit, PrivateDockerd, addrs_equal, stop_berths, running,
                        wait_for_answer)

pytestmark = pytest.mark.slow

HOST_IP = "192.0.2.55"
CONNECT = 15.0
NEVER = 5.0


# --------------------------------------------------------------------------
# certificates

def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "openssl %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr)


def _make_ca(d, name, cn):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-subj", "/CN=" + cn, "-keyout", name + "-key.pem", "-out", name + ".pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _make_signed(d, name, cn, ca, ext):
    (d / (name + ".ext")).write_text(ext)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", "/CN=" + cn,
             "-keyout", name + "-key.pem", "-out", name + ".csr", cwd=d)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + "-key.pem",
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", name + ".ext",
             "-out", name + "-cert.pem", cwd=d)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not found")
    d = tmp_path_factory.mktemp("tls")
    _make_ca(d, "ca", "berth-test CA")
    _make_ca(d, "other-ca", "berth-test unrelated CA")
    _make_signed(d, "server", "localhost", "ca",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                 "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    _make_signed(d, "client", "berth-test client", "ca",
                 "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    # DOCKER_CERT_PATH layout: ca.pem cert.pem key.pem
    cp = d / "certpath"
    cp.mkdir()
    shutil.copy(d / "ca.pem", cp / "ca.pem")
    shutil.copy(d / "client-cert.pem", cp / "cert.pem")
    shutil.copy(d / "client-key.pem", cp / "key.pem")
    return d


# --------------------------------------------------------------------------
# the private dockerd, with a TLS listener

class TlsDockerd(PrivateDockerd):
    def __init__(self, certs_dir, port):
        super().__init__("tls")
        self.tcp_port = port
        self.tcp_url = "tcp://%s:%d" % (LOOP4, port)
        self.env["BERTH_DOCKERD_ARGS"] = " ".join([
            "--bridge=" + self.bridge, "--host", self.tcp_url, "--tlsverify",
            "--tlscacert", str(certs_dir / "ca.pem"),
            "--tlscert", str(certs_dir / "server-cert.pem"),
            "--tlskey", str(certs_dir / "server-key.pem")])


@pytest.fixture(scope="module")
def td(certs):
    assert " " not in str(certs), "BERTH_DOCKERD_ARGS is split on spaces: %s" % certs
    # The TLS listener is up with the rest (dockerd opens all its listeners together).
    yield from running(TlsDockerd(certs, free_port(LOOP4)))


@pytest.fixture(scope="module")
def tls_container(td):
    """One container on the private engine (no network), with a host name label."""
    k = DockerKit(td)
    c = k.create("tls1", network_mode="none", labels={"joyride.host.name": "tls.example.test"})
    yield c
    errors = k.cleanup()
    assert not errors, errors


# --------------------------------------------------------------------------
# berth

class EnvBerth(DockerBerth):
    """berth with no --docker flag at all: the endpoint comes from the env."""

    def __init__(self, workdir, args=(), env=None):
        port = free_port(LOOP4)
        self.http_port = free_port(LOOP4)
        argv = ["--listen", "%s:%d" % (LOOP4, port), "--http", "%s:%d" % (LOOP4, self.http_port),
                "--upstream", "none", "--threads", "2",
                "--state-dir", str(Path(workdir) / ("state-%d" % port))] + list(args)
        Berth.__init__(self, workdir, argv, env=env, defaults=False, port=port)


@pytest.fixture
def berths():
    started = []
    yield started
    problems = stop_berths(started)
    assert not problems, problems


def _start(started, make):
    b = make()
    started.append(b)
    return b.wait_ready()


def _state(b):
    src = b.docker_source()
    return src if src else {}


def _assert_connects(b):
    ok = wait_until(lambda: _state(b).get("state") == "ok", timeout=CONNECT)
    src = _state(b)
    assert ok, "docker source not ok within %.0fs: %r\n%s" % (CONNECT, src, b.stderr())
    assert src.get("api_version"), "no api_version in %r" % src
    print("docker source: %r" % src)
    wait_for_answer(b, "tls.example.test.", "A", addrs_equal({HOST_IP}), timeout=CONNECT)





def test_tls_right_ca_connects(tmp_path, certs, td, tls_container, berths):
    t0 = time.monotonic()
    b = _start(berths, lambda: DockerBerth(tmp_path, td.tcp_url, [
        "--docker-tls-ca", str(certs / "ca.pem"),
        "--docker-tls-cert", str(certs / "client-cert.pem"),
        "--docker-tls-key", str(certs / "client-key.pem"),
        "--host-ip", HOST_IP]))
    _assert_connects(b)
    print("connected and answered in %.2f s" % (time.monotonic() - t0))


def test_tls_unrelated_ca_never_connects(tmp_path, certs, td, tls_container, berths):
    b = _start(berths, lambda: DockerBerth(tmp_path, td.tcp_url, [
        "--docker-tls-ca", str(certs / "other-ca.pem"),
        "--docker-tls-cert", str(certs / "client-cert.pem"),
        "--docker-tls-key", str(certs / "client-key.pem"),
        "--host-ip", HOST_IP]))
    deadline = time.monotonic() + NEVER
    while time.monotonic() < deadline:
        src = _state(b)
        assert src.get("state") != "ok", "connected with an unrelated CA: %r" % src
        assert b.alive(), b.stderr()
        time.sleep(0.1)
    src = _state(b)
    assert src.get("state") != "ok", src
    print("docker source with the unrelated CA: %r" % src)
    text = repr(src) + "\n" + b.stderr()
    assert re.search(r"certif|tls|ssl", text, re.I), \
        "no certificate/TLS/SSL error in /status or stderr:\n%s" % text
    assert b.a("tls.example.test.") != {HOST_IP}


def test_tls_from_docker_env(tmp_path, certs, td, tls_container, berths):
    t0 = time.monotonic()
    b = _start(berths, lambda: EnvBerth(tmp_path, ["--host-ip", HOST_IP], env={
        "DOCKER_HOST": td.tcp_url, "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(certs / "certpath")}))
    assert "--docker" not in " ".join(b.argv)
    _assert_connects(b)
    print("connected and answered in %.2f s" % (time.monotonic() - t0))
