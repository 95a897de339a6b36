# SPDX-License-Identifier: MIT
"""The etcd harness itself, against real etcd members on loopback: the
gateway client's kv, lease, txn, compaction and auth calls, and a three-member
cluster that loses a member to SIGKILL and takes it back."""
import signal
import time

import pytest

from conftest import wait_until
from etcd_env import (GRPC_INVALID_ARGUMENT, EtcdClient, EtcdError,  # noqa: F401 (fixtures)
                      EtcdPermissionDenied, EtcdUnavailable, etcd, etcd3, prefix_end, until_ok)


def test_put_get_prefix_delete(etcd):
    (m,) = etcd.members
    assert m.client_port not in (2379, 2380) and m.peer_port not in (2379, 2380)
    assert m.data_dir.is_dir() and str(m.data_dir).startswith(str(etcd.workdir))
    c = etcd.client()

    r0 = c.revision()
    r1 = c.put("/berth/a", "one")
    assert r1 == r0 + 1 == c.revision()
    assert c.get("/berth/a") == b"one"
    assert c.get("/berth/missing") is None

    c.put(b"/berth/bin", b"\x00\xff\x80 raw")
    c.put("/berth/dir/x", "")
    c.put("/berth0", "sibling past the prefix")
    c.put("/bert", "before the prefix")
    assert c.get("/berth/bin") == b"\x00\xff\x80 raw"
    assert c.get("/berth/dir/x") == b""
    assert c.get_prefix("/berth/") == {b"/berth/a": b"one", b"/berth/bin": b"\x00\xff\x80 raw",
                                       b"/berth/dir/x": b""}
    assert c.get_prefix("/nothing/") == {}
    assert "kvs" not in c.range("/nothing/", prefix_end("/nothing/"))

    assert c.delete("/berth/a") == 1
    assert c.delete("/berth/a") == 0
    assert c.get("/berth/a") is None
    assert c.delete_prefix("/berth/") == 2
    assert c.get_prefix("/berth/") == {}
    assert c.get("/berth0") == b"sibling past the prefix"

    # create-if-absent through a txn: a failed compare has no "succeeded".
    assert c.create("/lock", "first")
    assert not c.create("/lock", "second")
    assert c.get("/lock") == b"first"

    # Compaction: physical, then older revisions are gone; a future one is refused.
    rev = c.revision()
    c.compact(rev)
    with pytest.raises(EtcdError) as e:
        c.range("/lock", revision=str(rev - 1))
    assert "compacted" in e.value.message
    with pytest.raises(EtcdError) as e:
        c.compact(rev + 100)
    assert "future revision" in e.value.message


def test_lease_revoke_and_expiry(etcd):
    c = etcd.client()
    lease = c.lease_grant(60)
    assert isinstance(lease, str) and int(lease) > 0
    c.put("/svc/a", "1", lease=lease)
    c.put("/svc/b", "2", lease=lease)
    c.put("/svc/keep", "3")
    assert len(c.get_prefix("/svc/")) == 3
    assert int(c.lease_ttl(lease)["TTL"]) > 50
    c.lease_revoke(lease)
    assert c.get_prefix("/svc/") == {b"/svc/keep": b"3"}
    assert c.lease_ttl(lease)["TTL"] == "-1"
    with pytest.raises(EtcdError) as e:
        c.lease_revoke(lease)
    assert "lease not found" in e.value.message

    # A lease nobody keeps alive expires by itself (etcd's minimum TTL is ~2 s).
    short = c.lease_grant(2)
    c.put("/svc/short", "x", lease=short)
    assert c.get("/svc/short") == b"x"
    assert wait_until(lambda: c.get("/svc/short") is None, timeout=10, interval=0.2)


def test_cluster_survives_sigkill_and_member_rejoins(etcd3):
    assert len(etcd3.members) == 3 and len(set(etcd3.urls)) == 3
    # A short timeout: a put that a follower forwarded to the leader just
    # killed hangs until etcd's request timeout (7 s); the client moves on.
    c = etcd3.client(timeout=2)
    c.put("/k/before", "1")
    for m in etcd3.members:          # every member serves it
        assert m.client().get("/k/before") == b"1"

    victim = etcd3.leader()          # the hardest one to lose
    victim.stop(signal.SIGKILL)
    assert not victim.alive()
    rest = [m for m in etcd3.members if m is not victim]

    # The client skips the dead URL; the two left elect a leader and go on.
    t0 = time.monotonic()
    until_ok(lambda: c.put("/k/during", "2"), timeout=10)
    assert time.monotonic() - t0 < 10
    for m in rest:
        assert until_ok(lambda: m.client().get("/k/during"), timeout=5) == b"2"
    with pytest.raises(EtcdUnavailable):
        victim.client(timeout=1).get("/k/during")
    assert until_ok(lambda: c.get("/k/before")) == b"1"

    # Same ports, same data dir: it rejoins and catches up (a linearizable
    # read on it alone sees what was written while it was dead).
    victim.restart(timeout=15)
    vc = victim.client()
    assert until_ok(lambda: vc.get("/k/during"), timeout=5) == b"2"
    until_ok(lambda: vc.put("/k/after", "3"), timeout=5)
    for m in rest:
        assert until_ok(lambda: m.client().get("/k/after"), timeout=5) == b"3"
    assert len(c.member_list()) == 3
    assert "=== start 2:" in victim.log()


def test_auth_user_limited_to_prefix(etcd):
    root = etcd.client()
    root.setup_root("rootpw")
    root.user_add("berth", "berthpw")
    root.role_add("berth-rw")
    root.role_grant_permission("berth-rw", "/berth/", prefix_end("/berth/"), "READWRITE")
    root.user_grant_role("berth", "berth-rw")
    root.put("/other/x", "outside")
    root.auth_enable()

    u = etcd.client()
    token = u.authenticate("berth", "berthpw")
    assert token and u.token == token
    u.put("/berth/node1", "10.0.0.1")
    assert u.get("/berth/node1") == b"10.0.0.1"
    assert u.get_prefix("/berth/") == {b"/berth/node1": b"10.0.0.1"}

    with pytest.raises(EtcdPermissionDenied):
        u.put("/other/y", "no")
    with pytest.raises(PermissionError):     # the builtin catches it too
        u.get("/other/x")
    with pytest.raises(EtcdPermissionDenied):
        u.put("/berth0", "just past the prefix")

    # Without a token: refused (etcd 3.4 says "user name is empty", code 3).
    with pytest.raises(EtcdError) as e:
        EtcdClient(etcd.urls).get("/berth/node1")
    assert e.value.code == GRPC_INVALID_ARGUMENT
    with pytest.raises(EtcdError):
        EtcdClient(etcd.urls).authenticate("berth", "wrong")

    root.authenticate("root", "rootpw")
    assert root.get("/other/x") == b"outside"
    assert root.get("/other/y") is None
    assert etcd.members[0].healthy()
