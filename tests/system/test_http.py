# SPDX-License-Identifier: MIT
"""The HTTP API against the real binary: /health, /status, /dns/records,
/dns/cluster, /metrics, the page's files, dnsdock's /services API with its
token, manual services surviving a restart, and bad or slow clients.

Every berth here listens on random loopback ports, forwards nowhere
(--upstream none) and keeps its state in the test's own temporary directory.
"""
import http.client
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.rcode
import pytest

from conftest import LOOP4, free_port, wait_until, write_zone

TOKEN = "t0ken-for-tests"
AUTH = {"Authorization": "Bearer " + TOKEN}
SERVICE = {"name": "manual", "image": "m", "ips": ["10.5.5.5"]}  # dnsdock's own example


# --------------------------------------------------------------------------
# helpers

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def request(port, method, path, body=None, headers=None, timeout=5.0):
    """One request on a fresh connection; any status comes back as a Reply."""
    c = http.client.HTTPConnection(LOOP4, port, timeout=timeout)
    try:
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        c.close()


def get(port, path, **kw):
    return request(port, "GET", path, **kw)


def error_of(reply):
    """The {"error": "..."} every 4xx/5xx carries."""
    assert reply.header("content-type") == "application/json", reply
    v = reply.json()
    assert set(v) == {"error"}, v
    assert isinstance(v["error"], str) and v["error"], v
    return v["error"]


def start_http(start_berth, state_dir, *args, token=TOKEN, http_port=None, wait=True, **kw):
    """berth with HTTP on a random loopback port; b.http is the port."""
    http_port = http_port or free_port()
    argv = ["--http", "%s:%d" % (LOOP4, http_port), "--state-dir", str(state_dir)]
    if token:
        argv += ["--api-token", token]
    b = start_berth(*(argv + list(args)), wait=wait, **kw)
    b.http = http_port
    if wait:
        assert wait_until(lambda: _health_answers(b), timeout=5), b.stderr()
    return b


def _health_answers(b):
    try:
        return get(b.http, "/health", timeout=0.5).status in (200, 503)
    except OSError:
        return False


def addresses(b, name, rdtype="A"):
    r = b.query(name, rdtype)
    if r.rcode() != dns.rcode.NOERROR:
        return dns.rcode.to_text(r.rcode())
    return sorted(rd.to_text() for rs in r.answer for rd in rs)


def ttl_of(b, name, rdtype="A"):
    r = b.query(name, rdtype)
    assert r.answer, r
    return r.answer[0].ttl


@pytest.fixture
def zone_dir(tmp_path):
    hd, rec = write_zone(tmp_path / "zone")
    return hd, rec


@pytest.fixture
def berth(start_berth, tmp_path, zone_dir):
    """berth with the standard hosts dir and records file, HTTP and a token."""
    hd, rec = zone_dir
    b = start_http(start_berth, tmp_path / "state", "--hosts-dir", str(hd), "--records", str(rec))
    b.state = tmp_path / "state"
    b.hosts_dir = hd
    wait_until(lambda: any(r["hostname"] == "alpha.docker"
                           for r in get(b.http, "/dns/records").json()["records"]), timeout=5)
    return b


# --------------------------------------------------------------------------
# read-only endpoints

def test_health(berth):
    r = get(berth.http, "/health")
    assert r.status == 200
    assert r.header("content-type") == "application/json"
    v = r.json()
    assert v["status"] == "healthy"
    assert v["service"] == "berth"
    assert re.match(r"^\d+\.\d+\.\d+", v["version"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", v["timestamp"])


def test_head_has_no_body(berth):
    r = request(berth.http, "HEAD", "/health")
    assert r.status == 200 and r.body == b""
    assert r.header("content-type") == "application/json"


def test_status(berth):
    berth.query("alpha.docker.", "A")
    berth.query("nope.docker.", "A")
    v = get(berth.http, "/status").json()
    assert v["status"] == "healthy"
    assert v["service"] == "berth"
    assert v["uptime_seconds"] >= 0
    assert "%s:%d" % (LOOP4, berth.port) in v["listen"]
    assert v["domain"] == "docker"
    assert v["records"]["total"] > 100
    assert v["records"]["by_source"]["hosts"]["records"] > 0
    assert v["records"]["by_source"]["records"]["origins"] == 1
    assert v["queries"]["total"] >= 2
    assert v["queries"]["by_rcode"]["NXDOMAIN"] >= 1
    assert v["forwarding"]["enabled"] is False
    assert v["http"]["writable"] is True
    assert v["http"]["address"] == "%s:%d" % (LOOP4, berth.http)
    kinds = {s["kind"] for s in v["sources"]}
    assert "manual" in kinds
    for s in v["sources"]:
        assert {"name", "kind", "state", "required"} <= set(s), s
        assert s["state"] in ("ok", "starting", "degraded", "down"), s
    assert v["problems"] == []


def test_status_reports_file_sources(berth):
    hosts = [s for s in get(berth.http, "/status").json()["sources"] if s["kind"] == "hosts"]
    assert len(hosts) == 1 and hosts[0]["state"] == "ok" and hosts[0]["records"] > 0
    # a bad line makes the source degraded, naming file and line; its good lines stay
    (berth.hosts_dir / "broken").write_text("10.9.9.9 fine.docker\nnot-an-address oops\n")
    def degraded():
        s = [s for s in get(berth.http, "/status").json()["sources"] if s["kind"] == "hosts"][0]
        return s if s["state"] == "degraded" else None
    s = wait_until(degraded, timeout=5)
    assert s["bad_lines"] == 1 and "broken:2" in s["error"], s
    assert berth.query("fine.docker.", "A").answer
    assert get(berth.http, "/health").json()["status"] == "healthy"  # not a required source


def test_records_shape(berth):
    r = get(berth.http, "/dns/records")
    assert r.status == 200
    v = r.json()
    assert v["status"] == "success"
    assert v["total_records"] == len(v["records"]) > 100
    for rec in v["records"]:
        assert {"hostname", "ip_address", "ttl", "type", "value", "source"} == set(rec), rec
    alpha = [x for x in v["records"] if x["hostname"] == "alpha.docker" and x["type"] == "A"]
    assert alpha == [{"hostname": "alpha.docker", "ip_address": "192.0.2.10", "ttl": 10,
                      "type": "A", "value": "192.0.2.10",
                      "source": "hosts:%s/main" % berth.hosts_dir}]
    txt = [x for x in v["records"] if x["hostname"] == "txt.docker"]
    assert txt[0]["type"] == "TXT" and txt[0]["ip_address"] is None
    assert txt[0]["value"] == '"hello world"'
    # A stable order: by name.
    names = [x["hostname"] for x in v["records"]]
    assert names == sorted(names)


def test_records_filters(berth):
    b = berth
    def recs(q):
        r = get(b.http, "/dns/records?" + q)
        assert r.status == 200, r
        v = r.json()
        assert v["total_records"] == len(v["records"])
        return v["records"]

    exact = recs("name=alpha.docker")
    assert {(x["hostname"], x["type"]) for x in exact} == {("alpha.docker", "A")}
    assert recs("name=ALPHA.docker.") == exact
    glob = recs("name=alpha*.docker")
    assert {x["hostname"] for x in glob} == {"alpha.docker", "alpha-alias.docker", "alpha6.docker"}
    aaaa = recs("type=aaaa")
    assert aaaa and all(x["type"] == "AAAA" and ":" in x["ip_address"] for x in aaaa)
    by_kind = recs("source=records")
    assert by_kind and all(x["source"].startswith("records:") for x in by_kind)
    origin = "hosts:%s/rr" % b.hosts_dir
    by_origin = recs("source=" + origin)
    assert len(by_origin) == 4 + 4  # four A and their PTRs
    assert recs("name=rr.docker&type=A&source=hosts") == \
        [x for x in by_origin if x["type"] == "A"]
    assert recs("name=nothing.here") == []


@pytest.mark.parametrize("query,word", [
    ("type=BOGUS", "BOGUS"), ("type=", "type"), ("colour=red", "colour"),
])
def test_records_bad_filters(berth, query, word):
    r = get(berth.http, "/dns/records?" + query)
    assert r.status == 400
    assert word in error_of(r)


def test_cluster(berth):
    v = get(berth.http, "/dns/cluster").json()
    assert v["status"] == "success"
    assert v["total_nodes"] == 1 == len(v["nodes"])
    node = v["nodes"][0]
    assert node["self"] is True
    assert node["name"] == v["node"]
    assert node["state"] == "alive"
    assert node["records"] > 100


METRIC_LINE = re.compile(r'^([a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? '
                         r'(-?[0-9.e+]+)$')


def parse_metrics(text):
    """{name: {labels: value}}; checks the exposition format as it goes."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in typed, "TYPE twice: " + line
            typed.add(name)
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = METRIC_LINE.match(line)
        assert m, "bad sample line: %r" % line
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in typed or base in typed, "sample before its TYPE: %r" % line
        out.setdefault(m.group(1), {})[m.group(2) or ""] = float(m.group(3))
    return out


def test_metrics(berth):
    before = parse_metrics(get(berth.http, "/metrics").body.decode())
    for _ in range(3):
        berth.query("alpha.docker.", "A")
    berth.query("nope.docker.", "A")
    r = get(berth.http, "/metrics")
    assert r.status == 200
    assert r.header("content-type") == "text/plain; version=0.0.4; charset=utf-8"
    m = parse_metrics(r.body.decode())
    noerror = '{rcode="NOERROR"}'
    assert m["berth_queries_total"][noerror] - before["berth_queries_total"][noerror] >= 3
    assert m["berth_queries_total"]['{rcode="NXDOMAIN"}'] >= 1
    assert m["berth_queries_received_total"][""] >= 4
    assert m["berth_records"]['{source="hosts"}'] > 0
    assert m["berth_records"]['{source="records"}'] > 0
    assert m["berth_http_requests_total"]['{code="200"}'] >= 2
    assert m["berth_source_up"]['{source="manual",kind="manual"}'] == 1
    assert m["berth_build_info"]
    a_type = '{type="A"}'
    assert m["berth_queries_by_type_total"][a_type] - before["berth_queries_by_type_total"][a_type] >= 4
    # the latency histogram counts every UDP answer, cumulative up to +Inf
    hist = m["berth_answer_duration_seconds_bucket"]
    assert hist['{le="+Inf"}'] >= 4
    assert hist['{le="5e-05"}'] <= hist['{le="0.001"}'] <= hist['{le="+Inf"}']
    assert m["berth_answer_duration_seconds_count"][""] == hist['{le="+Inf"}']
    for name in ("berth_forwarded_total", "berth_dropped_total", "berth_truncated_total",
                 "berth_uptime_seconds", "berth_http_connections", "berth_manual_services"):
        assert name in m, name


def test_page_and_assets(berth):
    r = get(berth.http, "/")
    assert r.status == 200
    assert r.header("content-type") == "text/html; charset=utf-8"
    csp = r.header("content-security-policy")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert r.header("x-frame-options") == "DENY"
    page = r.body.decode()
    assert "<title>berth</title>" in page
    for path, ctype in (("/app.css", "text/css"), ("/app.js", "text/javascript"),
                        ("/favicon.svg", "image/svg+xml")):
        a = get(berth.http, path)
        assert a.status == 200, path
        assert a.header("content-type").startswith(ctype), path
        assert len(a.body) > 100
        if path != "/favicon.svg":
            # Nothing is loaded from another host.
            assert not re.search(rb"(src|href)=[\"']?(https?:)?//", a.body), path
            assert not re.search(rb"url\((\"|')?(https?:)?//", a.body), path
            assert not re.search(rb"fetch\([\"']https?:", a.body), path
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page)
    # Revalidation: same ETag, 304 without a body.
    tag = r.header("etag")
    again = get(berth.http, "/", headers={"If-None-Match": tag})
    assert again.status == 304 and again.body == b""


def test_json_etag(berth):
    r = get(berth.http, "/dns/records")
    tag = r.header("etag")
    assert tag and r.header("cache-control") == "no-cache"
    assert get(berth.http, "/dns/records", headers={"If-None-Match": tag}).status == 304
    request(berth.http, "PUT", "/services/etag", SERVICE, headers=AUTH)
    changed = wait_until(lambda: get(berth.http, "/dns/records",
                                     headers={"If-None-Match": tag}).status == 200)
    assert changed


# --------------------------------------------------------------------------
# bad requests

def test_unknown_path(berth):
    for path in ("/nope", "/health/", "/dns", "/services/", "/set", "/set/ttl/x", "/%00"):
        r = get(berth.http, path)
        assert r.status in (400, 404), (path, r)
        error_of(r)
    r = get(berth.http, "/nope")
    assert r.status == 404 and "/nope" in error_of(r)


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/health", "GET, HEAD"),
    ("DELETE", "/status", "GET, HEAD"),
    ("PUT", "/dns/records", "GET, HEAD"),
    ("POST", "/services", "GET, HEAD"),
    ("POST", "/services/x", "GET, HEAD, PUT, PATCH, DELETE"),
    ("GET", "/set/ttl", "PUT"),
    ("DELETE", "/", "GET, HEAD"),
    ("OPTIONS", "/metrics", "GET, HEAD"),
])
def test_wrong_method(berth, method, path, allow):
    r = request(berth.http, method, path, body="{}", headers=AUTH)
    assert r.status == 405, r
    assert r.header("allow") == allow
    assert method in error_of(r)


@pytest.mark.parametrize("body,word", [
    ("{", "not valid JSON"),
    ("", "empty"),
    ("[1,2]", "JSON object"),
    ('{"name":"a","name":"b"}', "not valid JSON"),  # duplicate keys
    ('{"name":"m","image":"m"}', '"ips" is required'),
    ('{"name":"m","image":"m","ips":["10.0.0.999"]}', "10.0.0.999"),
    ('{"name":"m m","image":"m","ips":["10.0.0.1"]}', '"name"'),
    ('{"name":"m","image":"m","ips":["10.0.0.1"],"extra":1}', 'unknown field "extra"'),
    ('{"name":"m","image":"m","ips":["10.0.0.1"],"ttl":"x"}', '"ttl"'),
    ('{"name":"m","image":"m","ips":["10.0.0.1"],"http_port":0}', '"http_port" must be a port'),
])
def test_bad_service_bodies(berth, body, word):
    r = request(berth.http, "PUT", "/services/bad", body, headers=AUTH)
    assert r.status == 400, r
    assert word in error_of(r)
    assert get(berth.http, "/services/bad").status == 404


def test_bad_service_id(berth):
    r = request(berth.http, "PUT", "/services/a%20b", SERVICE, headers=AUTH)
    assert r.status == 400 and "service ID" in error_of(r)
    r = get(berth.http, "/services/" + "x" * 200)
    assert r.status == 400


def test_body_too_large(berth):
    big = json.dumps({"name": "x" * 70000, "image": "m", "ips": ["10.0.0.1"]})
    r = request(berth.http, "PUT", "/services/big", big, headers=AUTH)
    assert r.status == 413
    assert "at most" in error_of(r)
    # Far over the limit: the connection is cut with a 413 (or reset mid-send).
    try:
        r = request(berth.http, "PUT", "/services/big", b"x" * (4 << 20), headers=AUTH)
        assert r.status == 413
    except (ConnectionError, http.client.HTTPException):
        pass
    assert get(berth.http, "/health").status == 200


def test_set_ttl_bad(berth):
    for body in ('"x"', "-1", "1.5", '{"ttl":-1}', '{"ttl":5,"x":1}', "{}", "4294967296"):
        r = request(berth.http, "PUT", "/set/ttl", body, headers=AUTH)
        assert r.status == 400, (body, r)
        assert "TTL" in error_of(r)


# --------------------------------------------------------------------------
# dnsdock's API

def test_services_lifecycle(berth):
    b = berth
    assert get(b.http, "/services").json() == {}
    assert addresses(b, "manual.m.docker.") == "NXDOMAIN"

    r = request(b.http, "PUT", "/services/m1", SERVICE, headers=AUTH)
    assert r.status == 201, r
    assert r.json() == {"name": "manual", "image": "m", "ips": ["10.5.5.5"], "ttl": -1,
                        "aliases": []}
    # dnsdock's names: N.I.D, I.D and anything further left of N.I.D.
    assert wait_until(lambda: addresses(b, "manual.m.docker.") == ["10.5.5.5"])
    assert addresses(b, "m.docker.") == ["10.5.5.5"]
    assert addresses(b, "anything.manual.m.docker.") == ["10.5.5.5"]
    assert ttl_of(b, "manual.m.docker.") == 10  # --ttl's default

    assert get(b.http, "/services").json() == {"m1": r.json()}
    assert get(b.http, "/services/m1").json() == r.json()
    assert get(b.http, "/services/m2").status == 404

    # Replace: two addresses, IPv6, an alias, a TTL.
    svc = {"name": "manual", "image": "m", "ips": ["10.5.5.6", "2001:db8::5"], "ttl": 30,
           "aliases": ["manual.example.test"]}
    r = request(b.http, "PUT", "/services/m1", svc, headers=AUTH)
    assert r.status == 200, r
    assert wait_until(lambda: addresses(b, "manual.m.docker.") == ["10.5.5.6"])
    assert addresses(b, "manual.m.docker.", "AAAA") == ["2001:db8::5"]
    assert addresses(b, "manual.example.test.") == ["10.5.5.6"]
    assert ttl_of(b, "manual.m.docker.") == 30

    # Patch: only what is given changes.
    r = request(b.http, "PATCH", "/services/m1", {"ttl": 0}, headers=AUTH)
    assert r.status == 200, r
    assert r.json()["ips"] == ["10.5.5.6", "2001:db8::5"] and r.json()["ttl"] == 0
    assert wait_until(lambda: ttl_of(b, "manual.m.docker.") == 0)
    r = request(b.http, "PATCH", "/services/nope", {"ttl": 0}, headers=AUTH)
    assert r.status == 404 and "nope" in error_of(r)
    r = request(b.http, "PATCH", "/services/m1", {"ips": []}, headers=AUTH)
    assert r.status == 400

    # Older dnsdock's single "ip" and its capitalised keys.
    r = request(b.http, "PUT", "/services/old", {"Name": "old", "Image": "img", "ip": "10.6.6.6"},
                headers=AUTH)
    assert r.status == 201, r
    assert wait_until(lambda: addresses(b, "old.img.docker.") == ["10.6.6.6"])

    # The records list shows them with their origin.
    recs = get(b.http, "/dns/records?source=manual").json()["records"]
    assert {"manual:m1", "manual:old"} == {x["source"] for x in recs}

    r = request(b.http, "DELETE", "/services/m1", headers=AUTH)
    assert r.status == 204 and r.body == b""
    assert wait_until(lambda: addresses(b, "manual.m.docker.") == "NXDOMAIN")
    assert addresses(b, "manual.example.test.") != ["10.5.5.6"]
    r = request(b.http, "DELETE", "/services/m1", headers=AUTH)
    assert r.status == 404
    assert set(get(b.http, "/services").json()) == {"old"}


def test_set_ttl(berth):
    b = berth
    request(b.http, "PUT", "/services/d", SERVICE, headers=AUTH)
    request(b.http, "PUT", "/services/fixed",
            {"name": "fixed", "image": "m", "ips": ["10.5.5.7"], "ttl": 7}, headers=AUTH)
    r = request(b.http, "PUT", "/set/ttl", {"ttl": 33}, headers=AUTH)
    assert r.status == 200 and r.json() == {"ttl": 33}
    assert wait_until(lambda: ttl_of(b, "manual.m.docker.") == 33)
    assert ttl_of(b, "fixed.m.docker.") == 7
    # dnsdock sends a bare number.
    r = request(b.http, "PUT", "/set/ttl", "44", headers=AUTH)
    assert r.status == 200 and r.json() == {"ttl": 44}
    assert wait_until(lambda: ttl_of(b, "manual.m.docker.") == 44)
    # Hosts files keep --ttl.
    assert ttl_of(b, "alpha.docker.") == 10
    status = get(b.http, "/status").json()
    manual = [s for s in status["sources"] if s["kind"] == "manual"][0]
    assert manual["default_ttl"] == 44 and manual["services"] == 2


def test_token_required(berth):
    b = berth
    writes = [("PUT", "/services/t", SERVICE), ("PATCH", "/services/t", {"ttl": 1}),
              ("DELETE", "/services/t", None), ("PUT", "/set/ttl", {"ttl": 1})]
    for method, path, body in writes:
        r = request(b.http, method, path, body)
        assert r.status == 401, (method, path, r)
        assert "Authorization: Bearer" in error_of(r)
        assert r.header("www-authenticate").startswith("Bearer")
        for bad in ("Bearer wrong", "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN,
                    "Bearer " + TOKEN[:-1]):
            r = request(b.http, method, path, body, headers={"Authorization": bad})
            assert r.status == 401, (method, path, bad, r)
            assert "token" in error_of(r).lower()
    assert get(b.http, "/services").json() == {}
    # The scheme is case-insensitive; the token is not.
    r = request(b.http, "PUT", "/services/t", SERVICE, headers={"Authorization": "bearer " + TOKEN})
    assert r.status == 201
    r = request(b.http, "PUT", "/services/t", SERVICE,
                headers={"Authorization": "Bearer " + TOKEN.upper()})
    assert r.status == 401


def test_read_only_without_token(start_berth, tmp_path):
    b = start_http(start_berth, tmp_path / "state", token=None)
    for method, path, body in [("PUT", "/services/t", SERVICE), ("PATCH", "/services/t", {}),
                               ("DELETE", "/services/t", None), ("PUT", "/set/ttl", "5")]:
        for headers in ({}, AUTH):
            r = request(b.http, method, path, body, headers=headers)
            assert r.status == 403, (method, path, r)
            assert "read-only" in error_of(r) and "--api-token" in error_of(r)
    assert get(b.http, "/services").json() == {}
    assert get(b.http, "/status").json()["http"]["writable"] is False
    assert not (tmp_path / "state" / "manual.json").exists()


# --------------------------------------------------------------------------
# state across restarts

def test_manual_services_survive_restart(start_berth, tmp_path):
    state = tmp_path / "state"
    b = start_http(start_berth, state)
    svc = {"name": "keep", "image": "me", "ips": ["10.8.8.8", "2001:db8::8"],
           "aliases": ["keep.example.test"]}
    assert request(b.http, "PUT", "/services/k", svc, headers=AUTH).status == 201
    assert request(b.http, "PUT", "/services/gone", SERVICE, headers=AUTH).status == 201
    assert request(b.http, "DELETE", "/services/gone", headers=AUTH).status == 204
    assert request(b.http, "PUT", "/set/ttl", {"ttl": 21}, headers=AUTH).status == 200
    services = get(b.http, "/services").json()
    assert b.stop() == 0

    # The file is complete JSON, written atomically (no temporary left over).
    saved = json.loads((state / "manual.json").read_text())
    assert saved["version"] == 1 and saved["ttl"] == 21
    assert set(saved["services"]) == {"k"}
    assert [p.name for p in state.iterdir()] == ["manual.json"]
    assert oct((state / "manual.json").stat().st_mode & 0o777) == "0o600"

    b2 = start_http(start_berth, state)
    assert get(b2.http, "/services").json() == services
    assert addresses(b2, "keep.me.docker.") == ["10.8.8.8"]
    assert addresses(b2, "keep.me.docker.", "AAAA") == ["2001:db8::8"]
    assert addresses(b2, "keep.example.test.") == ["10.8.8.8"]
    assert ttl_of(b2, "keep.me.docker.") == 21
    assert addresses(b2, "manual.m.docker.") == "NXDOMAIN"


def test_corrupt_state_file(start_berth, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "manual.json").write_text('{"version": 1, "services": {')
    b = start_http(start_berth, state)
    # Still serving; the file was moved aside, not destroyed; /status says so.
    assert get(b.http, "/services").json() == {}
    bad = [p.name for p in state.iterdir() if p.name.startswith("manual.json.bad-")]
    assert len(bad) == 1
    assert (state / bad[0]).read_text() == '{"version": 1, "services": {'
    manual = [s for s in get(b.http, "/status").json()["sources"] if s["kind"] == "manual"][0]
    assert manual["state"] == "degraded" and "not valid JSON" in manual["error"]
    assert "not valid JSON" in b.stderr()
    # Not required: berth stays healthy.
    assert get(b.http, "/health").status == 200
    assert request(b.http, "PUT", "/services/k", SERVICE, headers=AUTH).status == 201


def test_unwritable_state_dir(start_berth, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    b = start_http(start_berth, blocker / "state")
    r = request(b.http, "PUT", "/services/k", SERVICE, headers=AUTH)
    assert r.status == 500
    assert "not saved" in error_of(r)
    # Nothing changed: not listed, not answered.
    assert get(b.http, "/services").json() == {}
    assert addresses(b, "manual.m.docker.") == "NXDOMAIN"


# --------------------------------------------------------------------------
# the server itself

def test_http_address_in_use(start_berth, tmp_path):
    s = socket.socket()
    s.bind((LOOP4, 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        b = start_http(start_berth, tmp_path / "state", http_port=port, wait=False)
        b.proc.wait(10)
        b.expect_rc = b.proc.returncode
        assert b.proc.returncode != 0
        err = b.stderr()
        assert "%s:%d" % (LOOP4, port) in err and "--http" in err, err
    finally:
        s.close()


def raw_get(port, path="/health"):
    s = socket.create_connection((LOOP4, port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
    return s


def read_response(s, timeout):
    """Headers and body of one response on s, or None if nothing came in time."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return data or None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
        while len(body) < n:
            body += s.recv(4096)
        return head + b"\r\n\r\n" + body
    except socket.timeout:
        return None


@pytest.mark.slow
def test_slow_client_is_cut(berth):
    s = socket.create_connection((LOOP4, berth.http), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
    t0 = time.monotonic()
    # Meanwhile everything else works.
    assert get(berth.http, "/health").status == 200
    assert addresses(berth, "alpha.docker.") == ["192.0.2.10"]
    s.settimeout(20)
    try:
        rest = s.recv(4096)
    except ConnectionResetError:
        rest = b""
    elapsed = time.monotonic() - t0
    s.close()
    assert not rest.startswith(b"HTTP/1.1 200"), rest
    assert 5 <= elapsed <= 15, elapsed


@pytest.mark.slow
def test_connection_cap(berth):
    # 64 clients that keep their connections open after a request.
    held = []
    try:
        for _ in range(64):
            s = raw_get(berth.http)
            assert read_response(s, 5).startswith(b"HTTP/1.1 200")
            held.append(s)
        # One more waits: berth accepts no more connections for now...
        extra = raw_get(berth.http)
        assert read_response(extra, 1.0) is None
        # ...while DNS is not affected.
        assert addresses(berth, "alpha.docker.") == ["192.0.2.10"]
        # When some go, the waiting one is served.
        for s in held[:8]:
            s.close()
        got = read_response(extra, 5)
        assert got is not None and got.startswith(b"HTTP/1.1 200"), got
        extra.close()
    finally:
        for s in held:
            s.close()
    assert wait_until(lambda: get(berth.http, "/status").json()["http"]["connections"] <= 2,
                      timeout=5)


def test_embedded_page_is_up_to_date():
    """src/http/page_assets.inc is generated from src/http/page/: run embed.py after editing."""
    embed = Path(__file__).resolve().parents[2] / "src" / "http" / "page" / "embed.py"
    r = subprocess.run([sys.executable, str(embed), "--check"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
