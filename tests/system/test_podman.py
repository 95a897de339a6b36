# SPDX-License-Identifier: MIT
"""berth against Podman's Docker-compatible API (Debian's podman, `podman system
service` on a unix socket this module starts and stops by PID).

Podman answers GET /version with its own engine version (4.x) and API 1.41;
berth negotiates from that as it does with dockerd. Containers are made with
the Docker SDK for Python through the same socket, so they come and go as a
Docker user's would. The Podman store is a private one in a temporary
directory (vfs driver, file event log), removed at the end; the image is the
same static busybox the Docker tests import. DNS queries go to berth on
127.0.0.1 only; nothing is sent to a container.
"""
import io
import os
import secrets
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from docker_env import (addrs_equal, docker, nxdomain, start_docker_berth, stop_berths,
                        wait_for_answer)

IMAGE = "localhost/berth-test/busybox:latest"
# The sandbox's hard limits are below Podman's defaults for containers
# (RLIMIT_NOFILE, RLIMIT_NPROC): runc then refuses to start any container.
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
"""


def busybox_tar():
    """A rootfs of /bin/busybox (static) and its applet links, as a tar."""
    bb = Path("/bin/busybox")
    assert bb.exists(), "no /bin/busybox: install busybox-static (scripts/install-deps test)"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(str(bb), arcname="bin/busybox")
        for applet in ("sh", "sleep", "true"):
            info = tarfile.TarInfo("bin/" + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            t.addfile(info)
    return buf.getvalue()


class Podman:
    def __init__(self, top):
        self.top = Path(top)
        self.sock = str(self.top / "podman.sock")
        self.url = "unix://" + self.sock
        conf = self.top / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.base = ["podman", "--root", str(self.top / "root"), "--runroot",
                     str(self.top / "run"), "--storage-driver", "vfs",
                     "--events-backend", "file"]
        self.proc = None
        self.client = None

    def run(self, *args, data=None, timeout=120):
        r = subprocess.run(self.base + list(args), input=data, env=self.env,
                           capture_output=True, timeout=timeout)
        assert r.returncode == 0, "podman %s: %s" % (" ".join(args), r.stderr.decode()[-800:])
        return r.stdout

    def start(self):
        self.run("import", "-", IMAGE, data=busybox_tar())
        self.log = open(self.top / "service.log", "wb")
        self.proc = subprocess.Popen(self.base + ["system", "service", "--time=0", self.url],
                                     env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while True:
            try:    # the SDK asks for the version as it is made: not before it answers
                self.client = docker.DockerClient(base_url=self.url, timeout=60)
                self.client.ping()
                return self
            except Exception:  # noqa: BLE001 - not listening yet
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("podman system service did not answer: %s"
                                       % (self.top / "service.log").read_text()[-800:])
                time.sleep(0.1)

    def stop(self):
        problems = []
        if self.client is not None:
            try:
                for c in self.client.containers.list(all=True):
                    c.remove(force=True)
            except Exception as e:  # noqa: BLE001
                problems.append("removing containers: %s" % e)
            self.client.close()
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            self.log.close()
        # Whatever a failed test left: removed with Podman's own tools, so that
        # no network namespace or address lease outlives the store. (Not
        # `system reset`: Podman's network definitions are not in the store but
        # machine-wide, and it would remove them all.)
        subprocess.run(self.base + ["rm", "--all", "--force", "--time", "0"], env=self.env,
                       capture_output=True, timeout=120)
        shutil.rmtree(self.top, ignore_errors=True)
        return problems


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    assert shutil.which("podman"), "podman is not installed (scripts/install-deps test)"
    p = Podman(tmp_path_factory.mktemp("podman"))
    try:
        yield p.start()
    finally:
        problems = p.stop()
        assert not problems, problems


@pytest.fixture
def berths(tmp_path):
    started = []
    yield started
    problems = stop_berths(started)
    assert not problems, problems


def ip_of(c):
    c.reload()
    nets = c.attrs["NetworkSettings"]["Networks"]
    ips = [n["IPAddress"] for n in nets.values() if n.get("IPAddress")]
    assert ips, "container %s has no IPv4 address: %s" % (c.name, nets)
    return ips[0]


def run(podman, name, **kw):
    return podman.client.containers.run(IMAGE, ["sleep", "600"], name=name, detach=True, **kw)


def test_podman_sync_start_stop_and_labels(podman, tmp_path, berths):
    tag = "pm" + secrets.token_hex(2)
    early = run(podman, tag + "-early")
    b = start_docker_berth(tmp_path, podman.url)
    berths.append(b)
    # Running before berth: found by the initial list and inspect.
    wait_for_answer(b, tag + "-early.docker", "A", addrs_equal({ip_of(early)}), timeout=5)
    src = b.docker_source()
    assert src["state"] == "ok" and src["api_version"] == "1.41", src
    assert src["engine_version"] == podman.client.version()["Version"], src

    # Started while berth follows the event stream; a label override too.
    late = run(podman, tag + "-late", labels={"berth.alias": tag + "-other.docker"})
    ip = ip_of(late)
    wait_for_answer(b, tag + "-late.docker", "A", addrs_equal({ip}), timeout=5)
    wait_for_answer(b, tag + "-other.docker", "A", addrs_equal({ip}), timeout=5)

    # Stopped: its names go; removed: still gone; the other one stays.
    late.stop(timeout=0)
    wait_for_answer(b, tag + "-late.docker", "A", nxdomain, timeout=5)
    wait_for_answer(b, tag + "-other.docker", "A", nxdomain, timeout=5)
    late.remove(force=True)
    early.remove(force=True)
    wait_for_answer(b, tag + "-early.docker", "A", nxdomain, timeout=5)
