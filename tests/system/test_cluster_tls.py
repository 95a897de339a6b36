# SPDX-License-Identifier: MIT
"""berth nodes on an etcd that speaks only TLS and asks for client
certificates (--client-cert-auth), with certificates made here by the openssl
CLI: --etcd-ca/-cert/-key really verify, as for Docker.
"""
import http.client
import ssl
import time

import pytest

from cluster_env import nodes  # noqa: F401
from conftest import LOOP4
from etcd_env import Etcd
from test_docker_tls import _make_ca, _make_signed

TOKEN = "tls-token"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("etcd-tls")
    _make_ca(d, "ca", "berth-test etcd CA")
    _make_ca(d, "other-ca", "berth-test unrelated CA")
    # etcd 3.4's JSON gateway calls etcd's own gRPC with the server's certificate
    # as a client certificate: with --client-cert-auth it must allow clientAuth too.
    _make_signed(d, "server", "localhost", "ca",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                 "extendedKeyUsage=serverAuth,clientAuth\n"
                 "keyUsage=critical,digitalSignature,keyEncipherment\n")
    _make_signed(d, "client", "berth-test client", "ca",
                 "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    return d


class TlsEtcd(Etcd):
    """One member whose client URL is https, verifying client certificates."""

    def __init__(self, workdir, certs):
        self.certs = certs
        super().__init__(workdir, extra=[
            "--cert-file", str(certs / "server-cert.pem"),
            "--key-file", str(certs / "server-key.pem"),
            "--trusted-ca-file", str(certs / "ca.pem"),
            "--client-cert-auth"])

    @property
    def client_url(self):
        return "https://%s:%d" % (LOOP4, self.client_port)

    def wait_ready(self, timeout=15.0):
        ctx = ssl.create_default_context(cafile=str(self.certs / "ca.pem"))
        ctx.load_cert_chain(str(self.certs / "client-cert.pem"), str(self.certs / "client-key.pem"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive(), self.log_tail()
            try:
                c = http.client.HTTPSConnection(LOOP4, self.client_port, timeout=1, context=ctx)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("TLS etcd not ready:\n" + self.log_tail())


@pytest.fixture
def tls_etcd(tmp_path, certs):
    e = TlsEtcd(tmp_path / "etcd", certs)
    e.start()
    try:
        e.wait_ready()
        yield e
    finally:
        e.stop()
        e.remove_data()


def tls_args(certs, ca="ca.pem"):
    return ["--etcd-ca", str(certs / ca), "--etcd-cert", str(certs / "client-cert.pem"),
            "--etcd-key", str(certs / "client-key.pem")]


def test_tls_with_the_right_ca_shares_records(tls_etcd, certs, nodes):  # noqa: F811
    a = nodes("a", [tls_etcd.client_url], "198.51.100.1",
              args=tls_args(certs) + ["--api-token", TOKEN])
    b = nodes("b", [tls_etcd.client_url], "198.51.100.2", args=tls_args(certs))
    st, body = a.http("PUT", "/services/s", {"name": "secure", "image": "secure",
                                             "ips": ["192.0.2.91"]}, token=TOKEN)
    assert st in (200, 201), body
    b.wait_texts("secure.docker", "A", {"192.0.2.91"})
    assert b.cluster()["etcd"]["endpoint"] == tls_etcd.client_url


def test_tls_with_an_unrelated_ca_never_joins(tls_etcd, certs, nodes):  # noqa: F811
    a = nodes("a", [tls_etcd.client_url], "198.51.100.1",
              args=tls_args(certs, "other-ca.pem") + ["--api-token", TOKEN], wait=False)
    a.wait_ready()
    st, _ = a.http("PUT", "/services/s", {"name": "local", "image": "local",
                                          "ips": ["192.0.2.92"]}, token=TOKEN)
    assert st in (200, 201)
    a.wait_texts("local.docker", "A", {"192.0.2.92"})      # its own names answer
    time.sleep(2)
    link = a.cluster()["etcd"]
    assert link["state"] != "connected", link
    assert "certificate" in (link["last_error"] or "").lower() or "TLS" in (link["last_error"] or ""), link
    assert a.etcd_source()["state"] != "ok"
    # Nothing reached etcd: the other CA's node never wrote its key.
    assert "joined" not in a.stderr()


def test_a_plain_http_node_does_not_reach_a_tls_etcd(tls_etcd, certs, nodes):  # noqa: F811
    url = tls_etcd.client_url.replace("https://", "http://")
    a = nodes("a", [url], "198.51.100.1", wait=False)
    a.wait_ready()
    time.sleep(1.5)
    assert a.etcd_source()["state"] != "ok"
    assert a.cluster()["etcd"]["last_error"]
