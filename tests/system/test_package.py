# SPDX-License-Identifier: MIT
"""The Debian package: built from a clean copy of the tree (scripts/deb, what
`make deb` runs), lintian --pedantic clean, dependencies from dh_shlibdeps,
man pages, /etc/default/berth as a conffile."""
import shutil
import subprocess

import pytest

from package_env import build_deb


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_deb_builds_with_computed_dependencies():
    deb = build_deb()
    depends = deb_field(deb, "Depends")
    for lib in ["libc6", "libcurl4", "libevent-2.1-7", "libjansson4", "libknot13",
                "libunbound8", "liburcu8"]:
        assert lib + " " in depends or depends.endswith(lib), (lib, depends)
    files = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                           check=True).stdout
    for path in ["./usr/bin/berth", "./etc/default/berth", "./usr/share/doc/berth/copyright",
                 "./usr/share/man/man1/berth.1.gz", "./usr/share/man/man1/berth-serve.1.gz",
                 "./usr/share/man/man1/berth-provision.1.gz",
                 "./usr/share/man/man1/berth-health.1.gz"]:
        assert path in files, (path, files)
    conffiles = subprocess.run(["sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar -xO ./conffiles",
                                "-", str(deb)], capture_output=True, text=True).stdout
    assert "/etc/default/berth" in conffiles.split(), conffiles


def test_man_pages_document_every_option(tmp_path):
    deb = build_deb()
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True)
    page = subprocess.run(["sh", "-c", "zcat \"$1\"", "-",
                           str(tmp_path / "usr/share/man/man1/berth-serve.1.gz")],
                          capture_output=True, text=True, check=True).stdout.replace("\\-", "-")
    for opt in ["--listen", "--docker", "--user", "--state-dir"]:
        assert opt in page, opt
    assert "BERTH_LISTEN" in page


def test_lintian_pedantic_is_clean():
    deb = build_deb()
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (scripts/install-deps test installs it)")
    changes = sorted(deb.parent.glob("berth_*.changes"))
    assert changes, list(deb.parent.iterdir())
    p = subprocess.run(["lintian", "--pedantic", "--display-info", "--display-experimental",
                        "--tag-display-limit", "0", str(changes[0])],
                       capture_output=True, text=True, timeout=300)
    tags = [line for line in p.stdout.splitlines() if line.strip()]
    assert p.returncode == 0 and not tags, p.stdout + p.stderr
