# SPDX-License-Identifier: MIT
"""--records FILE: dnsmasq record lines (host-record=, txt-record=, srv-host=,
ptr-record=, cname=, mx-host=) with dnsmasq's meaning, including the seed's
txt-record lines unchanged; reloaded on change and on SIGHUP; errors name the
file and the line."""
import os
import re
import signal
import time

import dns.flags
import dns.rcode
import dns.reversename
import pytest

from conftest import SEED_ETCD_LONG, SEED_TXT, answer_texts, wait_until

RELOAD_WITHIN = 3.0


def txts(b, name, tcp=False):
    """TXT records of name as lists of str (each record's strings), sorted."""
    r = b.query(name, "TXT", tcp=tcp)
    if r.rcode() != dns.rcode.NOERROR:
        return None
    out = []
    for rs in r.answer:
        for rd in rs:
            out.append([s.decode() for s in rd.strings])
    return sorted(out)


def a_of(b, name, rdtype="A"):
    r = b.query(name, rdtype, timeout=1.0)
    if r.rcode() != dns.rcode.NOERROR:
        return None
    return sorted(answer_texts(r, rdtype))


def mentions(text, fname, line):
    for l in text.splitlines():
        if fname in l and (re.search(r"%s:%d\b" % (re.escape(fname), line), l)
                           or re.search(r"\bline[\s:=\"]*%d\b" % line, l)):
            return True
    return False


@pytest.fixture
def seed(tmp_path, start_berth):
    f = tmp_path / "seed.conf"
    f.write_text(SEED_TXT)
    b = start_berth("--records", str(f))
    b.file = f
    return b


# ---------------------------------------------------------------- the seed

def test_seed_container_list(seed, tcp):
    r = seed.query("containers.docker.will-desktop", "TXT", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA
    assert txts(seed, "containers.docker.will-desktop", tcp) == [
        ["bash-echoer"], ["bash-sleeper"], ["etcd"]]


def test_seed_container_commands(seed, tcp):
    assert txts(seed, "bash-sleeper.containers.docker.will-desktop", tcp) == [
        ["ubuntu:wily sleep 60"]]
    # The seed spells this one "echoerr"; it is served as written.
    assert txts(seed, "bash-echoerr.containers.docker.will-desktop", tcp) == [
        ["ubuntu:wily echo HelloDNS!"]]


def test_seed_long_txt_split_like_dnsmasq(seed, tcp):
    # Two records for etcd; the long one (317 characters) is split into
    # character-strings of at most 255 bytes, as dnsmasq does.
    r = seed.query("etcd.containers.docker.will-desktop", "TXT", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    joined = sorted(b"".join(rd.strings).decode() for rs in r.answer for rd in rs)
    assert joined == sorted(["quay.io/coreos/etcd", SEED_ETCD_LONG])
    for rs in r.answer:
        for rd in rs:
            assert all(len(s) <= 255 for s in rd.strings)


def test_seed_parent_names_not_claimed(seed, tcp):
    # Outside --domain berth owns the exact names of its files only: the
    # parents belong to the user's upstream (none here: REFUSED).
    for name in ("docker.will-desktop", "will-desktop."):
        r = seed.query(name, "TXT", tcp=tcp)
        assert r.rcode() == dns.rcode.REFUSED, "%s: %s" % (name, dns.rcode.to_text(r.rcode()))
        assert not r.answer


def test_seed_nodata_other_type(seed, tcp):
    r = seed.query("containers.docker.will-desktop", "A", tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.flags & dns.flags.AA


def test_seed_names_case_insensitive(seed):
    assert txts(seed, "CONTAINERS.Docker.Will-Desktop") == [
        ["bash-echoer"], ["bash-sleeper"], ["etcd"]]


# ---------------------------------------------------------------- reload

def test_reload_on_change(seed):
    with open(seed.file, "a") as fh:
        fh.write("txt-record=containers.docker.will-desktop,redis\n")
    assert wait_until(lambda: txts(seed, "containers.docker.will-desktop") == [
        ["bash-echoer"], ["bash-sleeper"], ["etcd"], ["redis"]], timeout=RELOAD_WITHIN), \
        txts(seed, "containers.docker.will-desktop")


def test_reload_on_rename_over(seed, tmp_path):
    tmp = tmp_path / "seed.conf.new"
    tmp.write_text(SEED_TXT.replace("bash-sleeper\n", "bash-waker\n", 1)
                   + "host-record=renamed.docker,192.0.2.150\n")
    os.rename(tmp, seed.file)
    assert wait_until(lambda: a_of(seed, "renamed.docker") == ["192.0.2.150"],
                      timeout=RELOAD_WITHIN)
    assert txts(seed, "containers.docker.will-desktop") == [
        ["bash-echoer"], ["bash-waker"], ["etcd"]]
    # Changes after the rename are still seen (the watch follows the new file).
    with open(seed.file, "a") as fh:
        fh.write("host-record=again.docker,192.0.2.151\n")
    assert wait_until(lambda: a_of(seed, "again.docker") == ["192.0.2.151"],
                      timeout=RELOAD_WITHIN)


def test_reload_removes_records(seed):
    seed.file.write_text("txt-record=containers.docker.will-desktop,etcd\n")
    assert wait_until(lambda: txts(seed, "containers.docker.will-desktop") == [["etcd"]],
                      timeout=RELOAD_WITHIN)
    r = seed.query("bash-sleeper.containers.docker.will-desktop", "TXT")
    assert not r.answer


def test_reload_on_sighup(seed, tmp_path):
    # Write through a hard link in another directory (same size): a watch on
    # the file's directory sees nothing, so only SIGHUP makes berth re-read it.
    other = tmp_path / "elsewhere"
    other.mkdir()
    os.link(seed.file, other / "link")
    data = (other / "link").read_bytes()
    i = data.find(b",bash-sleeper\n")
    assert i > 0
    with open(other / "link", "r+b") as fh:
        fh.seek(i)
        fh.write(b",bash-snoozer\n")
    assert b"bash-snoozer" in seed.file.read_bytes()
    time.sleep(0.5)
    if ["bash-snoozer"] in (txts(seed, "containers.docker.will-desktop") or []):
        pytest.skip("berth saw the change without SIGHUP: this test cannot tell")
    seed.send_signal(signal.SIGHUP)
    assert wait_until(lambda: txts(seed, "containers.docker.will-desktop") == [
        ["bash-echoer"], ["bash-snoozer"], ["etcd"]], timeout=RELOAD_WITHIN)
    assert seed.alive()


def test_sighup_many_times(seed):
    for _ in range(20):
        seed.send_signal(signal.SIGHUP)
        time.sleep(0.01)
    assert wait_until(lambda: txts(seed, "containers.docker.will-desktop") == [
        ["bash-echoer"], ["bash-sleeper"], ["etcd"]], timeout=RELOAD_WITHIN)
    assert seed.alive()


# ---------------------------------------------------------------- errors

BAD = """\
host-record=ok1.docker,192.0.2.160
server=192.0.2.53
host-record=nohost.docker
txt-record=ok2.docker,"fine"
cname=onlyone.docker
this line is nonsense
srv-host=_x._tcp.docker,t.docker,notaport
# comment
mx-host=mx.docker,mx1.docker,10
"""
BAD_LINES = (2, 3, 5, 6, 7)
GOOD_LINES = (1, 4, 8, 9)


def test_errors_name_file_and_line(tmp_path, start_berth):
    f = tmp_path / "broken.conf"
    f.write_text(BAD)
    b = start_berth("--records", str(f))
    assert wait_until(lambda: a_of(b, "ok1.docker") == ["192.0.2.160"], timeout=3)
    assert txts(b, "ok2.docker") == [["fine"]]
    assert answer_texts(b.query("mx.docker", "MX"), "MX") == ["10 mx1.docker."]
    assert a_of(b, "nohost.docker") is None
    assert b.query("onlyone.docker", "CNAME").answer == []
    err = b.stderr()
    for n in BAD_LINES:
        assert mentions(err, "broken.conf", n), "line %d not reported:\n%s" % (n, err)
    for n in GOOD_LINES:
        assert not mentions(err, "broken.conf", n), "good line %d reported:\n%s" % (n, err)


def test_bad_reload_keeps_serving(seed):
    with open(seed.file, "a") as fh:
        fh.write("bogus=1\n")
    n = SEED_TXT.count("\n") + 1
    assert wait_until(lambda: mentions(seed.stderr(), seed.file.name, n),
                      timeout=RELOAD_WITHIN), seed.stderr()
    assert txts(seed, "containers.docker.will-desktop") == [
        ["bash-echoer"], ["bash-sleeper"], ["etcd"]]


def test_several_records_files(tmp_path, start_berth):
    f1, f2 = tmp_path / "one.conf", tmp_path / "two.conf"
    f1.write_text("host-record=first.docker,192.0.2.170\n")
    f2.write_text("host-record=second.docker,192.0.2.171\n")
    b = start_berth("--records", str(f1), "--records", str(f2))
    assert wait_until(lambda: a_of(b, "first.docker") == ["192.0.2.170"]
                      and a_of(b, "second.docker") == ["192.0.2.171"], timeout=3)


def test_host_record_several_names_and_ptr(tmp_path, start_berth):
    f = tmp_path / "h.conf"
    f.write_text("host-record=main.docker,other.docker,192.0.2.180,2001:db8::180\n"
                 "host-record=ttl.docker,192.0.2.181,300\n")
    b = start_berth("--records", str(f))
    assert wait_until(lambda: a_of(b, "main.docker") == ["192.0.2.180"], timeout=3)
    assert a_of(b, "other.docker") == ["192.0.2.180"]
    assert a_of(b, "other.docker", "AAAA") == ["2001:db8::180"]
    r = b.query(dns.reversename.from_address("192.0.2.180"), "PTR")
    assert answer_texts(r, "PTR") == ["main.docker."]
    r = b.query(dns.reversename.from_address("2001:db8::180"), "PTR")
    assert answer_texts(r, "PTR") == ["main.docker."]
    # dnsmasq: a trailing number on host-record is the TTL.
    r = b.query("ttl.docker", "A")
    assert answer_texts(r, "A") == ["192.0.2.181"] and r.answer[0].ttl == 300

