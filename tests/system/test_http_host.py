# SPDX-License-Identifier: MIT
"""The HTTP API against DNS rebinding: a request whose Host is not the listen
address, localhost or a --http-host name gets 421 with a JSON error, and no
response ever carries a CORS header, so a page in the user's browser can
neither read /dns/records nor write /services."""
import json
import re
import socket

import pytest

from conftest import LOOP4, free_port, wait_until

TOKEN = "t0ken-for-tests"


def raw(port, method, path, host, body=b"", extra=(), version="1.1", addr=LOOP4):
    """One request with exactly these headers; (status, headers, body)."""
    lines = ["%s %s HTTP/%s" % (method, path, version)]
    if host is not None:
        lines.append("Host: " + host)
    lines += list(extra)
    if body:
        lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    s = socket.create_connection((addr, port), timeout=5)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    head, _, rest = got.partition(b"\r\n\r\n")
    status_line, *hdrs = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers = {}
    for h in hdrs:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def no_cors(headers):
    return not [k for k in headers if k.startswith("access-control-")]


@pytest.fixture
def api(start_berth, tmp_path):
    port = free_port()
    b = start_berth("--http", "%s:%d" % (LOOP4, port), "--state-dir", str(tmp_path / "st"),
                    "--api-token", TOKEN, "--http-host", "berth.lan",
                    "--http-host", "Dns.Example.")
    b.http = port
    assert wait_until(lambda: _up(port), timeout=5), b.stderr()
    return b


def _up(port):
    try:
        return raw(port, "GET", "/health", "127.0.0.1")[0] == 200
    except OSError:
        return False


FOREIGN = ["evil.example", "evil.example:%(port)d", "127.0.0.1.evil.example",
           "localhost.evil.example", "berth.lan.evil.example", "127.0.0.2:%(port)d",
           "[::1]:%(port)d", "evil.example:80", "", "a b", "127.0.0.1:x", "berth.lan:99999"]
ALLOWED = ["127.0.0.1", "127.0.0.1:%(port)d", "localhost", "localhost:%(port)d", "LOCALHOST.",
           "berth.lan", "berth.lan:8080", "BERTH.LAN:%(port)d", "dns.example", "dns.example."]


@pytest.mark.parametrize("host", FOREIGN)
def test_foreign_host_421(api, host):
    host = host % {"port": api.http}
    for path in ("/dns/records", "/health", "/", "/metrics"):
        status, headers, body = raw(api.http, "GET", path, host)
        assert status == 421, (host, path, status)
        assert headers.get("content-type") == "application/json"
        err = json.loads(body)
        assert set(err) == {"error"} and "Host" in err["error"], err
        assert no_cors(headers)


@pytest.mark.parametrize("host", ALLOWED)
def test_allowed_host(api, host):
    host = host % {"port": api.http}
    status, headers, body = raw(api.http, "GET", "/dns/records", host)
    assert status == 200, (host, status, body)
    assert no_cors(headers)


def test_write_with_foreign_host_refused(api):
    svc = json.dumps({"name": "rebound", "image": "m", "ips": ["10.5.5.6"]}).encode()
    auth = ["Authorization: Bearer " + TOKEN, "Content-Type: application/json",
            "Origin: http://evil.example"]
    status, headers, _ = raw(api.http, "PUT", "/services/x1", "evil.example", svc, auth)
    assert status == 421 and no_cors(headers)
    status, _, body = raw(api.http, "GET", "/services", "127.0.0.1")
    assert status == 200 and b"rebound" not in body
    # From an allowed Host, the same write works.
    status, headers, _ = raw(api.http, "PUT", "/services/x1", "localhost", svc, auth)
    assert status in (200, 201) and no_cors(headers)


def test_no_cors_even_for_preflight(api):
    extra = ["Origin: http://evil.example", "Access-Control-Request-Method: PUT",
             "Access-Control-Request-Headers: authorization"]
    for host in ("127.0.0.1", "evil.example"):
        status, headers, _ = raw(api.http, "OPTIONS", "/services/x1", host, extra=extra)
        assert status in (405, 421) and no_cors(headers), (host, status, headers)
        status, headers, _ = raw(api.http, "GET", "/dns/records", host,
                                 extra=["Origin: http://evil.example"])
        assert no_cors(headers), headers


def test_missing_host(api):
    # HTTP/1.1 requires Host (RFC 9112 3.2): 400. HTTP/1.0 had none: served
    # (no browser leaves it out).
    status, headers, body = raw(api.http, "GET", "/health", None)
    assert status == 400 and "Host" in json.loads(body)["error"]
    status, _, _ = raw(api.http, "GET", "/health", None, version="1.0")
    assert status == 200


def test_http_host_from_env_and_wildcard_listen(start_berth, tmp_path):
    port = free_port()
    b = start_berth("--http", "0.0.0.0:%d" % port, "--state-dir", str(tmp_path / "st"),
                    env={"BERTH_HTTP_HOST": "one.lan,two.lan"})
    assert wait_until(lambda: _up(port), timeout=5), b.stderr()
    # A wildcard listener is reached at any of the host's addresses: any IP
    # literal is fine (a rebinding page has a name, never an address).
    for host in ("127.0.0.1:%d" % port, "127.0.0.5", "[::1]:%d" % port, "one.lan", "two.lan"):
        assert raw(port, "GET", "/health", host)[0] == 200, host
    assert raw(port, "GET", "/health", "three.lan")[0] == 421


def test_bad_http_host_option(tmp_path):
    import subprocess
    from conftest import BERTH_BIN, clean_env
    p = subprocess.run([BERTH_BIN, "--http-host", "evil example", "--docker", "none"],
                       env=clean_env(), capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "--http-host" in p.stderr
