# SPDX-License-Identifier: MIT
"""sd_notify: berth run as a Type=notify service says READY=1 once every listen
socket answers, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
The service manager's side is a datagram socket of the test ($NOTIFY_SOCKET)."""
import signal
import socket

import dns.rcode

from conftest import LOOP4, free_port, hostport


def recv_state(sock, timeout=5.0):
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)


def test_ready_reloading_stopping(start_berth, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        port2 = free_port()
        b = start_berth("--listen", hostport(LOOP4, port2), env={"NOTIFY_SOCKET": path},
                        wait=False)
        st = recv_state(sock, timeout=10)
        assert st.get("READY") == "1", st
        assert "STATUS" in st, st
        # READY=1 came after the sockets were bound: both addresses answer at once.
        assert b.query("docker.", "SOA", timeout=1).rcode() == dns.rcode.NOERROR
        assert b.query("docker.", "SOA", port=port2, timeout=1,
                       tcp=True).rcode() == dns.rcode.NOERROR
        b.send_signal(signal.SIGHUP)
        st = recv_state(sock)
        assert st.get("RELOADING") == "1" and int(st["MONOTONIC_USEC"]) > 0, st
        assert recv_state(sock).get("READY") == "1"
        b.send_signal(signal.SIGTERM)
        assert recv_state(sock).get("STOPPING") == "1"
        assert b.proc.wait(10) == 0, b.stderr()
    finally:
        sock.close()


def test_no_notify_socket_is_quiet(start_berth):
    """Without $NOTIFY_SOCKET nothing is sent and nothing is logged about it."""
    b = start_berth()
    assert "service manager" not in b.stderr()
