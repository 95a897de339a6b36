# SPDX-License-Identifier: MIT
"""berth against a real dockerd that fails for a while: a small proxy on a unix
socket stands between berth and the session's dockerd, passes every request
through, and answers HTTP 500 to the inspects of chosen containers for as long
as a test says (an engine busy for a moment answers so under load).

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
            if self._failing(head):
                body = b'{"message":"injected by the test: engine busy"}'
                conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
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
