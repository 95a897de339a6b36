# SPDX-License-Identifier: MIT
"""System tests of `berth provision`: TXT records served by a real DNS server on
loopback (dnsmasq, or `berth serve --records`), containers on the real dockerd.

Every container name starts with a random token and every container is
force-removed at the end of its test; each test uses its own zone, so runs never
touch each other's containers. DNS goes to 127.0.0.1 only; nothing is sent to a
container. Containers get --network none (the test dockerd may have no bridge).
"""
import json
import os
import secrets
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

from conftest import BERTH_BIN, DNSMASQ, LOOP4, REPO, Berth, free_port

docker = pytest.importorskip("docker", reason="python3-docker (the Docker SDK) is not installed")

SOCK = os.environ.get("BERTH_DOCKERD_SOCK", "/run/berth-dockerd.sock")
DOCKER_URL = "unix://" + SOCK
IMAGE = "berth-test/busybox:latest"
LABEL = "berth.provision"


# --------------------------------------------------------------------------
# fixtures

def _answers():
    try:
        c = docker.DockerClient(base_url=DOCKER_URL, timeout=5)
        try:
            c.version()
        finally:
            c.close()
        return True
    except Exception:   # noqa: BLE001 - any failure means "does not answer"
        return False


@pytest.fixture(scope="module")
def dclient():
    if not _answers():
        p = subprocess.run([str(REPO / "scripts" / "dockerd"), "start"], capture_output=True,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        if p.returncode == 77:
            pytest.skip("dockerd cannot run here: " + p.stderr.strip())
        if p.returncode != 0:
            pytest.fail("scripts/dockerd start failed:\n" + p.stderr, pytrace=False)
    c = docker.DockerClient(base_url=DOCKER_URL, timeout=60)
    try:
        c.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        subprocess.run([str(REPO / "scripts" / "dockerd"), "image"], capture_output=True,
                       timeout=300, stdin=subprocess.DEVNULL)
        c.images.get(IMAGE)
    yield c
    c.close()


class Env:
    """One test's world: a token, a zone, dnsmasq serving TXT lines, and cleanup."""

    def __init__(self, dclient, tmp_path):
        self.d = dclient
        self.tmp = tmp_path
        self.tok = "pv" + secrets.token_hex(4)
        self.zone = self.tok + ".will-desktop"
        self.port = None
        self.proc = None

    def name(self, n):
        return "%s-%s" % (self.tok, n)

    def serve(self, names, commands, extra=""):
        """(Re)start dnsmasq with containers.ZONE listing names and commands {name: text}."""
        self.stop_dns()
        lines = ["txt-record=containers.%s,%s" % (self.zone, n) for n in names]
        lines += ['txt-record=%s.containers.%s,"%s"' % (n, self.zone, c)
                  for n, c in commands.items()]
        conf = self.tmp / "dnsmasq.conf"
        conf.write_text("\n".join(lines) + "\n" + extra)
        # The same port across restarts: a running `berth provision` keeps asking it.
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            [DNSMASQ, "-k", "--conf-file=" + str(conf), "--no-resolv", "--no-hosts",
             "--port=%d" % self.port, "--listen-address=" + LOOP4, "--bind-interfaces",
             "--pid-file=", "--user=root"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_txt(self.port, "containers." + self.zone, self.proc)

    def stop_dns(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def run(self, *args, port=None, timeout=120):
        argv = [BERTH_BIN, "provision", "--zone", self.zone,
                "--resolver", "%s:%d" % (LOOP4, port or self.port), "--docker", DOCKER_URL,
                "--network", "none", "--stop-timeout", "1", "--timeout", "3"] + list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=env)

    def containers(self):
        """{name: container} of this test's containers."""
        out = {}
        for c in self.d.containers.list(all=True, filters={"name": self.tok}):
            if c.name.startswith(self.tok + "-"):
                out[c.name] = c
        return out

    def cleanup(self):
        self.stop_dns()
        for c in self.d.containers.list(all=True, filters={"name": self.tok}):
            if c.name.startswith(self.tok):
                try:
                    c.remove(force=True)
                except docker.errors.NotFound:
                    pass


def wait_txt(port, name, proc, timeout=10):
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(name, dns.rdatatype.TXT)
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("DNS server exited: %s" % proc.stderr.read().decode(errors="replace"))
        try:
            dns.query.udp(q, LOOP4, port=port, timeout=0.3)
            return
        except Exception:   # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError("DNS server on port %d did not answer" % port)


@pytest.fixture
def env(dclient, tmp_path):
    e = Env(dclient, tmp_path)
    try:
        yield e
    finally:
        e.cleanup()


def ok(p):
    assert p.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout,
                                                                     p.stderr)
    return p


def seed(env, sleeper="%s sleep 60" % IMAGE):
    """The seed's three names, with the local image for its images."""
    names = [env.name("etcd"), env.name("bash-sleeper"), env.name("bash-echoer")]
    commands = {names[0]: "%s sleep 3600" % IMAGE, names[1]: sleeper,
                names[2]: "%s sh -c 'echo HelloDNS!; sleep 3600'" % IMAGE}
    return names, commands


# --------------------------------------------------------------------------
# tests

def test_seed_records_provision_its_containers(env):
    names, commands = seed(env)
    env.serve(names, commands)
    p = ok(env.run("--once"))
    assert "3 created" in p.stdout
    cs = env.containers()
    assert sorted(cs) == sorted(names)
    for n in names:
        c = cs[n]
        assert c.status == "running"
        assert c.labels[LABEL] == commands[n]
        assert c.labels["berth.provision.zone"] == env.zone
    assert cs[names[2]].attrs["Config"]["Cmd"] == ["sh", "-c", "echo HelloDNS!; sleep 3600"]
    assert cs[names[1]].attrs["Config"]["Cmd"] == ["sleep", "60"]
    # A second round keeps everything.
    p = ok(env.run("--once"))
    assert "3 kept" in p.stdout
    assert {n: c.id for n, c in env.containers().items()} == {n: c.id for n, c in cs.items()}


def test_edit_replaces_only_that_container(env):
    names, commands = seed(env)
    env.serve(names, commands)
    ok(env.run("--once"))
    before = {n: c.id for n, c in env.containers().items()}
    commands[names[1]] = "%s sleep 61" % IMAGE
    env.serve(names, commands)
    p = ok(env.run("--once"))
    assert "1 replaced" in p.stdout and "2 kept" in p.stdout
    after = env.containers()
    assert after[names[1]].id != before[names[1]]
    assert after[names[1]].labels[LABEL] == commands[names[1]]
    assert after[names[1]].status == "running"
    for n in (names[0], names[2]):
        assert after[n].id == before[n]


def test_removing_a_name_removes_only_that_container(env):
    names, commands = seed(env)
    env.serve(names, commands)
    ok(env.run("--once"))
    before = {n: c.id for n, c in env.containers().items()}
    env.serve(names[:2], {n: commands[n] for n in names[:2]})
    p = ok(env.run("--once"))
    assert "1 removed" in p.stdout
    after = env.containers()
    assert sorted(after) == sorted(names[:2])
    for n in names[:2]:
        assert after[n].id == before[n]


def test_unlabelled_container_left_alone_then_adopted(env, dclient):
    name = env.name("foreign")
    theirs = dclient.containers.run(IMAGE, ["sleep", "3600"], name=name, detach=True,
                                    network_mode="none")
    env.serve([name], {name: "%s sleep 3601" % IMAGE})
    p = env.run("--once")
    assert p.returncode == 1
    assert "foreign" in p.stdout and name in p.stdout
    assert env.containers()[name].id == theirs.id
    p = ok(env.run("--once", "--adopt"))
    c = env.containers()[name]
    assert c.id != theirs.id and c.labels[LABEL] == "%s sleep 3601" % IMAGE


def test_missing_command_record_and_bad_input_remove_nothing(env):
    names, commands = seed(env)
    env.serve(names, commands)
    ok(env.run("--once"))
    before = {n: c.id for n, c in env.containers().items()}
    # Still listed, but the command record is gone / unparsable / the name is invalid.
    broken = dict(commands)
    del broken[names[0]]
    broken[names[1]] = "%s sh -c 'unterminated" % IMAGE
    env.serve(names + ["bad/name", env.name("nocmd")], broken)
    p = env.run("--once")
    assert p.returncode == 1, p.stdout
    assert "no command record" in p.stdout and "unparsable" in p.stdout
    assert "not a valid container name" in p.stdout
    after = {n: c.id for n, c in env.containers().items()}
    assert after == before


def test_resolver_down_removes_nothing(env):
    names, commands = seed(env)
    env.serve(names, commands)
    ok(env.run("--once"))
    before = {n: c.id for n, c in env.containers().items()}
    env.stop_dns()
    t0 = time.monotonic()
    p = env.run("--once", "--json")
    assert p.returncode == 1
    assert time.monotonic() - t0 < 30
    doc = json.loads(p.stdout)
    assert doc["complete"] is False and doc["converged"] is False
    assert doc["errors"] and doc["summary"]["removed"] == 0
    assert all(a["action"] == "skip" for a in doc["plan"])
    assert {n: c.id for n, c in env.containers().items()} == before
    # SERVFAIL-free but NXDOMAIN listing (another zone's server): nothing removed either.
    env.serve([], {})
    p = env.run("--once")
    assert p.returncode == 1 and "incomplete" in p.stdout
    assert {n: c.id for n, c in env.containers().items()} == before


def test_dry_run_changes_nothing(env):
    names, commands = seed(env)
    env.serve(names, commands)
    p = env.run("--once", "--dry-run")
    assert p.returncode == 1
    assert p.stdout.count("plan: create") == 3
    assert env.containers() == {}
    ok(env.run("--once"))
    before = {n: c.id for n, c in env.containers().items()}
    commands[names[0]] = "%s sleep 7" % IMAGE
    env.serve(names[:1] + names[2:], commands)
    p = env.run("--once", "--dry-run", "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    kinds = {a["name"]: a["action"] for a in doc["plan"]}
    assert kinds == {names[0]: "replace", names[1]: "remove", names[2]: "keep"}
    assert doc["actions"] == []
    assert {n: c.id for n, c in env.containers().items()} == before
    # Nothing to do: a dry run is as listed.
    env.serve(names, seed(env)[1])
    ok(env.run("--once"))
    ok(env.run("--once", "--dry-run"))


def test_once_exit_codes_and_json(env):
    names, commands = seed(env)
    env.serve(names, commands)
    p = ok(env.run("--once", "--json"))
    doc = json.loads(p.stdout)
    assert doc["converged"] is True and doc["complete"] is True
    assert doc["summary"]["created"] == 3 and doc["summary"]["listed"] == 3
    assert sorted(a["name"] for a in doc["actions"] if a["ok"]) == sorted(names)
    # A stopped container of ours is started again.
    env.containers()[names[0]].stop(timeout=1)
    p = ok(env.run("--once"))
    assert "1 started" in p.stdout
    assert env.containers()[names[0]].status == "running"
    # An image that is not present: reported and skipped, exit 1.
    missing = env.name("noimage")
    env.serve(names + [missing], dict(commands, **{missing: "berth-test/absent:1 true"}))
    p = env.run("--once")
    assert p.returncode == 1 and "not present locally" in p.stdout
    assert missing not in env.containers()
    # Bad usage exits 2 and names the option.
    p = env.run("--interval", "zero")
    assert p.returncode == 2 and "--interval" in p.stderr


def test_berth_serve_records_as_resolver(env, tmp_path):
    names, commands = seed(env)
    rec = tmp_path / "records.conf"
    rec.write_text("".join("txt-record=containers.%s,%s\n" % (env.zone, n) for n in names) +
                   "".join('txt-record=%s.containers.%s,"%s"\n' % (n, env.zone, c)
                           for n, c in commands.items()))
    b = Berth(tmp_path, args=["--records", str(rec)])
    try:
        b.wait_ready()
        wait_txt(b.port, "containers." + env.zone, None)
        p = ok(env.run("--once", port=b.port))
        assert "3 created" in p.stdout
        assert sorted(env.containers()) == sorted(names)
    finally:
        b.stop()


def test_loop_mode_sighup_and_sigterm(env):
    names, commands = seed(env)
    env.serve(names[:1], commands)
    argv = [BERTH_BIN, "provision", "--zone", env.zone, "--resolver", "%s:%d" % (LOOP4, env.port),
            "--docker", DOCKER_URL, "--network", "none", "--stop-timeout", "1",
            "--interval", "3600", "--json"]
    out = env.tmp / "loop.out"
    with open(out, "w") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and names[0] not in env.containers():
            time.sleep(0.1)
        assert names[0] in env.containers()
        env.serve(names[:2], commands)
        os.kill(proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and names[1] not in env.containers():
            time.sleep(0.1)
        assert names[1] in env.containers()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0
        docs = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(docs) == 2 and docs[1]["summary"]["created"] == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
