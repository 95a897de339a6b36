# SPDX-License-Identifier: MIT
"""The package's systemd unit: systemd-analyze verify and security (offline,
exposure at most 2.0); then under a real systemd 252 as PID 1, in a container
of the shared dockerd (image made with mmdebstrap, the .deb installed): the
unit reaches active (running) through Type=notify, answers on the container's
own loopback, runs as the system user berth with only CAP_NET_BIND_SERVICE,
reloads, and stops cleanly; with berth-resolved enabled, systemd-resolved sends
*.docker, and only that, to berth, and no longer once berth stops."""
import re
import secrets
import shutil
import subprocess
import time

import pytest

from conftest import BERTH_BIN, REPO
from package_env import build_deb, systemd_image

UNIT = REPO / "debian" / "berth.service"
RESOLVED_UNIT = REPO / "debian" / "berth.berth-resolved.service"
MAX_EXPOSURE = 2.0
CAP_NET_BIND_SERVICE = 1 << 10


def analyze(*args):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    return subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True,
                          timeout=60)


def exposure(text):
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", text)
    assert m, text
    return float(m.group(1))


@pytest.mark.parametrize("unit", [UNIT, RESOLVED_UNIT], ids=["berth", "berth-resolved"])
def test_unit_security_offline(unit):
    p = analyze("security", "--offline=true", "--no-pager", str(unit))
    assert p.returncode == 0, p.stdout + p.stderr
    assert exposure(p.stdout) <= MAX_EXPOSURE, p.stdout


def test_unit_verifies(tmp_path):
    """Every directive parses (a typo is only a warning: stderr must be empty).
    ExecStart points at the berth under test, since /usr/bin/berth may be absent."""
    text = UNIT.read_text()
    assert "ExecStart=/usr/bin/berth " in text
    unit = tmp_path / "berth.service"
    unit.write_text(text.replace("ExecStart=/usr/bin/berth ", "ExecStart=%s " % BERTH_BIN))
    p = analyze("verify", "--man=no", str(unit))
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr


# ---------------------------------------------------------------- real systemd

SESSION = secrets.token_hex(3)
HOSTS = "10.9.8.7 web.internal\n10.9.8.8 api.docker\n"
DEFAULTS = """\
BERTH_UPSTREAM=none
BERTH_DOCKER=none
BERTH_HOSTS_DIR=/etc/berth/hosts
BERTH_LOG_LEVEL=debug
"""


class Box:
    """A container of the shared dockerd booting systemd, on no network but its loopback."""

    def __init__(self, host, image, name):
        self.host, self.name = host, name
        p = self.docker("run", "-d", "--name", name, "--cgroupns=private",
                        "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
                        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--network", "none",
                        "-e", "container=docker", image, "/sbin/init")
        assert p.returncode == 0, p.stderr

    def docker(self, *args, timeout=120):
        return subprocess.run(["docker", "-H", self.host] + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def sh(self, script, timeout=60):
        return self.docker("exec", self.name, "sh", "-c", script, timeout=timeout)

    def show(self, *props):
        p = self.docker("exec", self.name, "systemctl", "show", "berth",
                        *["-p" + x for x in props])
        return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)

    def journal(self):
        return self.sh("journalctl -u berth --no-pager -o cat").stdout

    def pid(self):
        out = self.docker("inspect", "-f", "{{.State.Pid}}", self.name).stdout.strip()
        return int(out)

    def dig(self, name, rdtype="A", tcp=False):
        """dig of the host, run in the container's network namespace: its loopback."""
        args = ["nsenter", "-t", str(self.pid()), "-n", "dig", "+time=2", "+tries=1",
                "@127.0.0.1", name, rdtype] + (["+tcp"] if tcp else [])
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout

    def metric(self, name):
        """Sum of a counter of berth's /metrics, read in the container's network namespace."""
        code = ("import urllib.request; print(urllib.request.urlopen("
                "'http://127.0.0.1:8053/metrics', timeout=5).read().decode())")
        p = subprocess.run(["nsenter", "-t", str(self.pid()), "-n", "/usr/bin/python3", "-c", code],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, p.stderr
        return sum(float(line.split()[-1]) for line in p.stdout.splitlines()
                   if line.startswith(name + " ") or line.startswith(name + "{"))

    def remove(self):
        self.docker("rm", "-f", self.name)


@pytest.fixture(scope="module")
def box():
    from docker_env import MAIN_SOCK, main_dockerd
    main_dockerd()
    host = "unix://" + MAIN_SOCK
    image = systemd_image(host, "berth-test-systemd:%s" % SESSION)
    b = Box(host, image, "berth-test-systemd-%s" % SESSION)
    try:
        deadline = time.monotonic() + 90
        state = ""
        while time.monotonic() < deadline:
            state = b.docker("exec", b.name, "systemctl", "is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        assert state in ("running", "degraded"), (state, b.docker("logs", b.name).stdout)
        yield b
    finally:
        print(b.journal())
        b.remove()


def wait_active(box, timeout=20):
    deadline = time.monotonic() + timeout
    st = {}
    while time.monotonic() < deadline:
        st = box.show("ActiveState", "SubState", "MainPID", "Type", "StatusText", "Result")
        if st.get("ActiveState") == "active" or st.get("ActiveState") == "failed":
            break
        time.sleep(0.2)
    return st


def test_enabled_and_started_on_install(box):
    st = wait_active(box)
    assert st["ActiveState"] == "active" and st["SubState"] == "running", (st, box.journal())
    assert st["Type"] == "notify"
    assert st["StatusText"] == "answering DNS"
    # The image has no docker group: the unit starts all the same.
    assert box.sh("getent group docker").returncode != 0


def test_configured_through_etc_default_and_answers(box):
    p = box.sh("mkdir -p /etc/berth/hosts && printf '%s' '" + HOSTS + "' >/etc/berth/hosts/lab "
               "&& printf '%s' '" + DEFAULTS + "' >/etc/default/berth && systemctl restart berth")
    assert p.returncode == 0, p.stderr + box.journal()
    st = wait_active(box)
    assert st["ActiveState"] == "active", (st, box.journal())
    # Type=notify: once restart returned, berth is already answering.
    out = box.dig("web.internal")
    assert "status: NOERROR" in out and "10.9.8.7" in out, out
    out = box.dig("web.internal", tcp=True)
    assert "10.9.8.7" in out, out
    assert "status: NXDOMAIN" in box.dig("nothing.docker")


def test_runs_as_system_user_with_only_net_bind_service(box):
    pid = box.show("MainPID")["MainPID"]
    p = box.sh("id -u berth; for t in /proc/%s/task/*; do cat $t/status; echo ---; done" % pid)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n", 1)
    uid = int(lines[0])
    assert uid != 0
    tasks = [t for t in lines[1].split("---\n") if t.strip()]
    assert len(tasks) >= 3, tasks
    for t in tasks:
        s = dict(line.split(":\t", 1) for line in t.splitlines() if ":\t" in line)
        assert [int(x) for x in s["Uid"].split()] == [uid] * 4, s["Uid"]
        for key in ("CapEff", "CapPrm", "CapBnd"):
            assert int(s[key], 16) == CAP_NET_BIND_SERVICE, (key, s[key])
        assert s["NoNewPrivs"].strip() == "1"
    assert box.sh("test -d /var/lib/berth && stat -c %U /var/lib/berth").stdout.strip() == "berth"


def test_security_as_loaded(box):
    p = box.docker("exec", box.name, "systemd-analyze", "security", "--no-pager", "berth")
    assert p.returncode == 0, p.stderr
    assert exposure(p.stdout) <= MAX_EXPOSURE, p.stdout


def test_reload(box):
    pid = box.show("MainPID")["MainPID"]
    p = box.docker("exec", box.name, "systemctl", "reload", "berth", timeout=30)
    assert p.returncode == 0, p.stderr + box.journal()
    st = wait_active(box)
    assert st["MainPID"] == pid and st["ActiveState"] == "active", st
    assert "SIGHUP: reloading" in box.journal()
    assert "10.9.8.7" in box.dig("web.internal")


def test_resolved_sends_only_the_zone_to_berth(box):
    p = box.sh("systemctl enable --now berth-resolved", timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr + box.sh("journalctl -u berth-resolved "
                                                           "--no-pager -o cat").stdout
    p = box.sh("resolvectl query api.docker")
    assert p.returncode == 0 and "10.9.8.8" in p.stdout, p.stdout + p.stderr
    before = box.metric("berth_queries_received_total")
    assert before > 0
    # Another name takes its own way (here: nowhere, the container has no network),
    # never berth's.
    box.sh("resolvectl query example.com; resolvectl query web.internal")
    assert box.metric("berth_queries_received_total") == before
    # berth stops: resolved no longer sends it anything (the link is gone) ...
    assert box.sh("systemctl stop berth").returncode == 0
    assert box.sh("systemctl is-active berth-resolved").stdout.strip() == "inactive"
    assert box.sh("ip link show berth0").returncode != 0
    assert box.sh("resolvectl query api.docker").returncode != 0
    # ... and starting berth brings it back.
    assert box.sh("systemctl start berth").returncode == 0
    assert wait_active(box)["ActiveState"] == "active"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and box.sh("resolvectl query api.docker").returncode:
        time.sleep(0.2)
    assert "10.9.8.8" in box.sh("resolvectl query api.docker").stdout
    assert box.sh("systemctl disable --now berth-resolved").returncode == 0
    assert box.sh("ip link show berth0").returncode != 0


def test_fresh_install_joins_the_docker_group(box):
    """Installed where a docker group exists, the service user joins it, and the
    service runs with it as a supplementary group (the socket's group)."""
    deb = build_deb()
    assert box.docker("cp", str(deb), box.name + ":/tmp/berth.deb").returncode == 0
    p = box.sh("dpkg --purge berth && groupadd --system docker && dpkg -i /tmp/berth.deb",
               timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    st = wait_active(box)
    assert st["ActiveState"] == "active", (st, box.journal())
    gid = int(box.sh("getent group docker | cut -d: -f3").stdout)
    pid = st["MainPID"]
    groups = box.sh("sed -n 's/^Groups:\\t//p' /proc/%s/status" % pid).stdout.split()
    assert str(gid) in groups, (gid, groups)


def test_stop_is_clean(box):
    p = box.docker("exec", box.name, "systemctl", "stop", "berth", timeout=60)
    assert p.returncode == 0, p.stderr
    st = box.show("ActiveState", "Result", "ExecMainStatus")
    assert st["ActiveState"] == "inactive" and st["Result"] == "success", st
    assert st["ExecMainStatus"] == "0", st
    assert "SIGTERM: stopping" in box.journal()
