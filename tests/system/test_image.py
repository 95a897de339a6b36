# SPDX-License-Identifier: MIT
"""The container image (make image: mmdebstrap + docker import, no registry),
run as docker-compose.yml says (socket read-only, network_mode host on a
loopback port, cap_drop ALL, read-only root) with the shared dockerd: a
container started afterwards answers by name on 127.0.0.1, the HEALTHCHECK
(berth health) turns healthy, and the process is not root."""
import json
import os
import secrets
import shutil
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import LOOP4, REPO, free_port, hostport
from package_env import berth_image

SESSION = "bi" + secrets.token_hex(3)
COMPOSE = REPO / "docker-compose.yml"


class Deployment:
    """The compose example, brought up by docker-compose (or, when it is not
    installed, by the docker run it amounts to)."""

    def __init__(self, docker_host, sock, image):
        self.host = docker_host
        self.project = SESSION
        self.dns_port, self.http_port = free_port(), free_port()
        self.env = dict(os.environ, DOCKER_HOST=docker_host, BERTH_IMAGE=image,
                        DOCKER_SOCKET=sock, DOCKER_GID=str(os.stat(sock).st_gid),
                        BERTH_LISTEN=hostport(LOOP4, self.dns_port),
                        BERTH_HTTP=hostport(LOOP4, self.http_port), BERTH_UPSTREAM="none")
        self.compose = shutil.which("docker-compose")
        if self.compose:
            self.name = "%s_berth_1" % self.project
            p = self.run([self.compose, "-p", self.project, "-f", str(COMPOSE), "up", "-d"])
        else:
            self.name = "%s-berth" % self.project
            p = self.docker("run", "-d", "--name", self.name, "--network", "host",
                            "--read-only", "--cap-drop", "ALL",
                            "--security-opt", "no-new-privileges:true",
                            "--group-add", self.env["DOCKER_GID"],
                            "-v", "%s:/var/run/docker.sock:ro" % sock,
                            "-v", "%s-state:/var/lib/berth" % self.project,
                            "-e", "BERTH_LISTEN=" + self.env["BERTH_LISTEN"],
                            "-e", "BERTH_HTTP=" + self.env["BERTH_HTTP"],
                            "-e", "BERTH_UPSTREAM=none", image)
        assert p.returncode == 0, p.stdout + p.stderr

    def run(self, argv, timeout=120):
        return subprocess.run(argv, capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def docker(self, *args, timeout=120):
        return self.run(["docker", "-H", self.host] + list(args), timeout=timeout)

    def inspect(self, what=None):
        p = self.docker("inspect", what or self.name)
        return json.loads(p.stdout)[0] if p.returncode == 0 else None

    def logs(self):
        p = self.docker("logs", self.name)
        return p.stdout + p.stderr

    def down(self):
        if self.compose:
            self.run([self.compose, "-p", self.project, "-f", str(COMPOSE), "down", "-v",
                      "--timeout", "10"])
        else:
            self.docker("rm", "-f", "-v", self.name)
            self.docker("volume", "rm", "%s-state" % self.project)


@pytest.fixture(scope="module")
def deployment():
    from docker_env import IMAGE, MAIN_SOCK, main_dockerd
    main_dockerd()
    host = "unix://" + MAIN_SOCK
    image = berth_image(host, "berth-test-image:%s" % SESSION)
    d = Deployment(host, MAIN_SOCK, image)
    d.busybox = IMAGE
    web = "%s-web" % SESSION
    try:
        yield d
    finally:
        print(d.logs())
        d.docker("rm", "-f", web)
        d.down()


def ask(port, name, rdtype="A"):
    try:
        return dns.query.udp(dns.message.make_query(name, rdtype), LOOP4, port=port, timeout=0.5)
    except dns.exception.Timeout:
        return None


def test_container_started_afterwards_answers_by_name(deployment):
    d = deployment
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and ask(d.dns_port, "docker.", "SOA") is None:
        time.sleep(0.2)
    assert ask(d.dns_port, "docker.", "SOA") is not None, d.logs()
    web = "%s-web" % SESSION
    p = d.docker("run", "-d", "--name", web, d.busybox, "sleep", "3600")
    assert p.returncode == 0, p.stderr
    ip = d.inspect(web)["NetworkSettings"]["IPAddress"]
    assert ip
    deadline = time.monotonic() + 10
    r = None
    while time.monotonic() < deadline:
        r = ask(d.dns_port, web + ".docker.")
        if r is not None and r.rcode() == dns.rcode.NOERROR and r.answer:
            break
        time.sleep(0.1)
    assert r is not None and r.answer and r.answer[0][0].address == ip, (r, d.logs())


def test_healthcheck_turns_healthy(deployment):
    d = deployment
    deadline = time.monotonic() + 45
    health = {}
    while time.monotonic() < deadline:
        health = d.inspect()["State"].get("Health") or {}
        if health.get("Status") == "healthy":
            break
        time.sleep(1)
    assert health.get("Status") == "healthy", (health, d.logs())


def test_runs_unprivileged_read_only(deployment):
    d = deployment
    info = d.inspect()
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert info["HostConfig"]["CapDrop"] == ["ALL"]
    assert info["Config"]["User"] == "berth"
    pid = info["State"]["Pid"]
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    assert int(st["Uid"].split()[0]) != 0 and int(st["Uid"].split()[1]) != 0, st["Uid"]
    assert int(st["CapEff"], 16) == 0, st["CapEff"]
    p = d.docker("exec", d.name, "stat", "-c", "%U", "/var/lib/berth")
    assert p.stdout.strip() == "berth", p.stdout + p.stderr
    # The state volume is writable by berth, the root is not.
    p = d.docker("exec", d.name, "sh", "-c", "touch /var/lib/berth/x && ! touch /x 2>/dev/null")
    assert p.returncode == 0, p.stdout + p.stderr
