# SPDX-License-Identifier: MIT
"""berth against a real dockerd seen through a small proxy on a unix socket,
which passes every request through but: answers HTTP 500 to the inspects of
chosen containers for as long as a test says (an engine busy for a moment
answers so under load); or, in front of it, plays a current engine's version
rules (GET /version says API 1.47, anything below 1.44 is refused).

Nothing here stands in for Docker: the containers, the list, the events and
the inspects that do get through are the real dockerd's. DNS queries go to
berth on 127.0.0.1 only.
"""
import os
import re
import socket
import threading
import time

from conftest import answer_texts
from docker_env import (dockerd, docker_berth, kit,  # noqa: F401 (fixtures)
                        DockerKit, wait_for_answer)

INSPECT = re.compile(rb"^GET /(?:v[0-9.]+/)?containers/([0-9a-f]{12,64})/json[ ?]")


class FaultProxy:
    """unix socket -> dockerd. One request per connection: the request goes to
    dockerd with "Connection: close" and the answer comes back until dockerd
    closes (the event stream too), so each request is seen on its own."""

    def __init__(self, path, upstream):
        self.path, self.upstream = path, upstream
        self.fail_for = {}       # container ID -> seconds of failing
        self.first = {}          # container ID -> monotonic time of its first inspect
        self.failed = {}         # container ID -> 500s sent
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(64)
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def fail_inspects(self, cid, seconds):
        """Answer 500 to cid's inspects for `seconds` from the first one."""
        with self.lock:
            self.fail_for[cid] = seconds

    def close(self):
        self.closing = True
        self.srv.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _failing(self, head):
        m = INSPECT.match(head)
        if not m:
            return False
        cid = m.group(1).decode()
        now = time.monotonic()
        with self.lock:
            for full, seconds in self.fail_for.items():
                if full.startswith(cid) and now < self.first.setdefault(full, now) + seconds:
                    self.failed[full] = self.failed.get(full, 0) + 1
                    return True
        return False

    def _filter(self, head):
        """(request head to pass on, None) or (head, (status line, body)) to answer
        here instead."""
        if self._failing(head):
            return head, (b"500 Internal Server Error",
                          b'{"message":"injected by the test: engine busy"}')
        return head, None

    def _serve(self, conn):
        up = None
        try:
            conn.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            head, reply = self._filter(head)
            if reply is not None:
                status, body = reply
                conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                             % (status, len(body)) + body)
                return
            lines = head.split(b"\r\n")
            lines = [ln for ln in lines if not ln.lower().startswith(b"connection:")]
            head = b"\r\n".join(lines[:1] + [b"Connection: close"] + lines[1:])
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(self.upstream)
            up.sendall(head)
            conn.settimeout(None)
            while True:
                data = up.recv(65536)
                if not data:
                    return
                conn.sendall(data)
        except OSError:
            return
        finally:
            conn.close()
            if up is not None:
                up.close()


VERSIONED = re.compile(rb"^([A-Z]+) /v1\.([0-9]+)(/[^ ]*) HTTP")


class NewerEngineProxy(FaultProxy):
    """The session's dockerd (API 1.41) made to look like a current engine: its
    GET /version says API 1.47, minimum 1.44; a request for an API below 1.44
    is refused as current engines refuse it (HTTP 400); one for 1.47 goes to
    dockerd as 1.41. Containers, lists, inspects and events are dockerd's."""

    VERSION = (b'{"Version":"27.3.1","ApiVersion":"1.47","MinAPIVersion":"1.44",'
               b'"Os":"linux","Arch":"amd64"}')

    def __init__(self, path, upstream):
        super().__init__(path, upstream)
        self.versions = {}      # API minor version -> requests seen
        self.refused = []       # request lines refused as too old

    def _filter(self, head):
        line = head.split(b"\r\n", 1)[0]
        if re.match(rb"^GET /version[ ?]", line):
            return head, (b"200 OK", self.VERSION)
        m = VERSIONED.match(line)
        if m is None:
            return head, None   # unversioned: the engine's own (newest) API
        minor = int(m.group(2))
        with self.lock:
            self.versions[minor] = self.versions.get(minor, 0) + 1
            if minor < 44:
                self.refused.append(line.decode(errors="replace"))
        if minor < 44:
            return head, (b"400 Bad Request",
                          b'{"message":"client version 1.%d is too old. Minimum supported '
                          b'API version is 1.44, please upgrade your client to a newer '
                          b'version"}' % minor)
        rest = head[len(line):]
        return b"%s /v1.41%s HTTP/1.1" % (m.group(1), m.group(3)) + rest, None


def test_engine_that_refuses_old_api_versions(dockerd, kit, docker_berth, tmp_path):
    # Current engines refuse API versions below 1.44; berth must speak the
    # version the engine gives in GET /version, for the list, the inspects and
    # the event stream alike.
    proxy = NewerEngineProxy(str(tmp_path / "newer.sock"), dockerd.sock)
    try:
        net = kit.network("newer")
        early = kit.create("early", network=net)
        b = docker_berth(url="unix://" + proxy.path)
        wait_for_answer(b, early.name + ".docker", "A", lambda m: bool(answer_texts(m, "A")),
                        timeout=5)
        late = kit.create("late", network=net)      # found through the event stream
        wait_for_answer(b, late.name + ".docker", "A", lambda m: bool(answer_texts(m, "A")),
                        timeout=5)
        src = b.docker_source()
        assert src["api_version"] == "1.47" and src["engine_version"] == "27.3.1", src
        assert not proxy.refused, "berth asked for an API the engine refuses: %s" % (
            proxy.refused[:3])
        assert set(proxy.versions) == {47}, proxy.versions
    finally:
        proxy.close()


def test_inspect_failing_for_a_while_is_asked_again(dockerd, kit, docker_berth, tmp_path):
    # The engine answers 500 to a starting container's inspects for 1.2 s from
    # the first one.
    # berth must ask again later (100 ms, doubling), not give up at once, and
    # answer the name once the engine answers; nothing else is disturbed.
    proxy = FaultProxy(str(tmp_path / "proxy.sock"), dockerd.sock)
    try:
        b = docker_berth(url="unix://" + proxy.path)
        net = kit.network("faults")
        kit.create("steady", network=net)
        wait_for_answer(b, DockerKit.name("steady") + ".docker", "A",
                        lambda m: bool(answer_texts(m, "A")), timeout=5)
        c = kit.create("busy", network=net, start=False)
        proxy.fail_inspects(c.id, 1.2)
        c.start()
        name = c.name + ".docker"
        wait_for_answer(b, name, "A", lambda m: bool(answer_texts(m, "A")), timeout=10)
        took = time.monotonic() - proxy.first[c.id]
        print("answered %.0f ms after the first inspect, after %d failed ones"
              % (took * 1e3, proxy.failed.get(c.id, 0)))
        assert proxy.failed.get(c.id, 0) >= 2, "the fault was not hit: %s" % proxy.failed
        assert proxy.failed[c.id] <= 8, "inspects asked in a tight loop: %d" % proxy.failed[c.id]
        assert took >= 1.2, "answered while the engine was failing?"
        assert answer_texts(b.ask(DockerKit.name("steady") + ".docker"), "A")
    finally:
        proxy.close()


def test_sync_is_over_only_when_every_container_answered(dockerd, kit, docker_berth, tmp_path):
    # A container whose inspects fail for 1 s when berth starts: the sync
    # (log line, /status last_sync) is not over until it has been asked again
    # and answered, so that "synced" means every listed container has records.
    proxy = FaultProxy(str(tmp_path / "sync.sock"), dockerd.sock)
    try:
        net = kit.network("syncfault")
        c = kit.create("slowsync", network=net)
        proxy.fail_inspects(c.id, 1.0)
        b = docker_berth(url="unix://" + proxy.path)
        sync = b.wait_last_sync(10)
        assert sync is not None, "no last_sync in /status after 10 s: %s" % b.docker_source()
        assert answer_texts(b.ask(c.name + ".docker"), "A"), \
            "sync said over before the failing container answered: %s" % sync
        assert proxy.failed.get(c.id, 0) >= 2, "the fault was not hit: %s" % proxy.failed
        assert sync["ms"] >= 1000, sync
    finally:
        proxy.close()


def test_sync_ends_when_the_container_it_waits_for_is_removed(dockerd, kit, docker_berth,
                                                              tmp_path):
    # The sync waits for a container whose inspects fail (it is asked again
    # later); when that container is removed meanwhile, nothing is left to
    # wait for and the sync must end then, not at some later event.
    proxy = FaultProxy(str(tmp_path / "gone.sock"), dockerd.sock)
    try:
        net = kit.network("syncgone")
        c = kit.create("syncgone", network=net)
        proxy.fail_inspects(c.id, 60)
        b = docker_berth(url="unix://" + proxy.path)
        end = time.monotonic() + 5
        while proxy.failed.get(c.id, 0) < 2 and time.monotonic() < end:
            time.sleep(0.02)
        assert proxy.failed.get(c.id, 0) >= 2, "the fault was not hit: %s" % proxy.failed
        assert b.docker_source().get("last_sync") is None, "synced while an inspect failed"
        kit.remove(c)
        sync = b.wait_last_sync(5)
        assert sync is not None, "the sync never ended after its container went: %s" % (
            b.docker_source())
    finally:
        proxy.close()
