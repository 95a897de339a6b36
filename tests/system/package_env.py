# SPDX-License-Identifier: MIT
"""The Debian package, built once per test session by scripts/deb from a clean
copy of the tree (the unit tests already ran in the normal build: nocheck)."""
import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO

BUILD_TOOLS = ["dpkg-buildpackage", "dh", "help2man", "git"]


@functools.lru_cache(maxsize=None)
def _build():
    """(deb path or None, log text)."""
    out = Path(tempfile.mkdtemp(prefix="berth-deb-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    p = subprocess.run([str(REPO / "scripts" / "deb"), str(out)], capture_output=True, text=True,
                       env=env, timeout=600)
    debs = sorted(out.glob("berth_*.deb"))
    log = p.stdout + p.stderr
    if (out / "build.log").exists():
        log += (out / "build.log").read_text(errors="replace")[-6000:]
    return (debs[0] if p.returncode == 0 and debs else None), log


def build_deb():
    """The .deb's path; skips when a build tool is missing, fails when the build does."""
    missing = [t for t in BUILD_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip("the package cannot be built here: %s not installed "
                    "(scripts/install-deps test installs them)" % ", ".join(missing))
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: scripts/deb copies the files git knows")
    deb, log = _build()
    if deb is None:
        pytest.fail("scripts/deb failed:\n" + log)
    return deb
