# SPDX-License-Identifier: MIT
"""Logs that cannot flood: a bad file logs its first 10 bad lines and then one
line with the count, however big it is (a 3 MB file of random bytes); a
warning repeated from one place in berth is cut off after 10 lines too, and
reloads do not multiply either. Good lines are served all the while."""
import os
import random
import re
import signal

import dns.rcode
import pytest

from conftest import answer_texts, wait_until

pytestmark = pytest.mark.slow


def lines_about(b, name):
    return [l for l in b.stderr().splitlines() if name in l]


def served(b, name, want):
    r = b.query(name, "A", timeout=1)
    return r.rcode() == dns.rcode.NOERROR and answer_texts(r, "A") == [want]


def garbage(size, seed):
    rng = random.Random(seed)
    return bytes(rng.getrandbits(8) for _ in range(size))


def test_random_bytes_hosts_file(tmp_path, start_berth):
    d = tmp_path / "h"
    d.mkdir()
    (d / "good").write_text("192.0.2.71 good.docker\n")
    (d / "junk").write_bytes(os.urandom(3 * 1024 * 1024))
    b = start_berth("--hosts-dir", str(d))
    assert wait_until(lambda: served(b, "good.docker", "192.0.2.71"), timeout=10)
    assert wait_until(lambda: any(re.search(r"junk: \d+ bad lines", l)
                                  for l in lines_about(b, "junk")), timeout=10), b.stderr()[-3000:]
    about = lines_about(b, "junk")
    bad = [l for l in about if re.search(r"junk:\d+:", l)]
    count = [l for l in about if re.search(r"junk: \d+ bad lines", l)]
    assert len(bad) == 10, "%d bad-line lines for one file" % len(bad)
    assert len(count) == 1, count
    n = int(re.search(r"junk: (\d+) bad lines", count[0]).group(1))
    assert n > 1000
    assert len(b.stderr().splitlines()) < 40, "%d log lines" % len(b.stderr().splitlines())


def test_bad_records_file_and_reloads(tmp_path, start_berth):
    rec = tmp_path / "records.conf"
    rec.write_text("host-record=fine.docker,192.0.2.72\n" +
                   "".join("nonsense-%d=x\n" % i for i in range(5000)))
    b = start_berth("--records", str(rec))
    assert wait_until(lambda: served(b, "fine.docker", "192.0.2.72"), timeout=5)
    assert wait_until(lambda: any("5000 bad lines" in l for l in lines_about(b, "records.conf")),
                      timeout=5), b.stderr()[-3000:]
    bad = [l for l in lines_about(b, "records.conf") if re.search(r"records\.conf:\d+:", l)]
    assert len(bad) == 10, bad
    # Reloads re-read the file: its bad lines stay capped across them.
    for i in range(4):
        b.send_signal(signal.SIGHUP)
        assert wait_until(lambda: sum("5000 bad lines" in l
                                      for l in lines_about(b, "records.conf")) == i + 2,
                          timeout=5), b.stderr()[-3000:]
    bad = [l for l in lines_about(b, "records.conf") if re.search(r"records\.conf:\d+:", l)]
    assert len(bad) <= 11, "%d bad-line lines after 4 reloads" % len(bad)
    assert served(b, "fine.docker", "192.0.2.72")


def test_repeated_warning_from_many_files_capped(tmp_path, start_berth):
    # 60 files with one bad line each: one warning, from one place, 60 times.
    d = tmp_path / "h"
    d.mkdir()
    for i in range(60):
        (d / ("f%02d" % i)).write_text("192.0.2.%d ok%d.docker\nbad line here\n" % (i + 1, i))
    b = start_berth("--hosts-dir", str(d))
    assert wait_until(lambda: served(b, "ok59.docker", "192.0.2.60"), timeout=10)
    bad = [l for l in b.stderr().splitlines() if re.search(r"/f\d\d:2:", l)]
    assert 1 <= len(bad) <= 10, "%d lines of one repeated warning" % len(bad)
    assert any("not logged" in l or "held back" in l for l in b.stderr().splitlines()), \
        b.stderr()[-3000:]
