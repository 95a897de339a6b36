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


# --------------------------------------------------------------------------
# An image with systemd as PID 1 (and systemd-resolved) and the package installed, made with
# mmdebstrap from Debian's mirror (no registry), once per session.

MIRROR = os.environ.get("BERTH_TEST_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"


def _mirror_reachable():
    import urllib.request
    try:
        with urllib.request.urlopen("%s/dists/%s/InRelease" % (MIRROR, SUITE), timeout=10):
            return True
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def _systemd_image(deb, docker_host, name):
    """(image name or None, log)."""
    work = Path(tempfile.mkdtemp(prefix="berth-sdimg-"))
    try:
        tar = work / "root.tar"
        # A .deb path and package names cannot share one --include; a local .deb
        # needs the file-mirror-automount hook.
        p = subprocess.run(["mmdebstrap", "--variant=essential", "--include=systemd,systemd-sysv,systemd-resolved,iproute2",
                            "--include=" + str(deb),
                            "--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount",
                            SUITE, str(tar), MIRROR],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            return None, "mmdebstrap failed:\n" + (p.stdout + p.stderr)[-6000:]
        p = subprocess.run(["docker", "-H", docker_host, "import", str(tar), name],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            return None, "docker import failed:\n" + p.stdout + p.stderr
        atexit.register(subprocess.run, ["docker", "-H", docker_host, "rmi", "-f", name],
                        capture_output=True, timeout=120)
        return name, ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def systemd_image(docker_host, name):
    """Name of an image (Debian 12, systemd, berth's .deb installed), removed by
    that name when the session ends. Skips when mmdebstrap or the mirror is
    unavailable; fails when building it fails."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (scripts/install-deps test installs it)")
    if shutil.which("docker") is None:
        pytest.skip("the docker command is not installed")
    deb = build_deb()
    if not _mirror_reachable():
        pytest.skip("Debian's mirror %s is not reachable: mmdebstrap cannot make the image"
                    % MIRROR)
    image, log = _systemd_image(deb, docker_host, name)
    if image is None:
        pytest.fail(log)
    return image


@functools.lru_cache(maxsize=None)
def _berth_image(deb, docker_host, name):
    env = dict(os.environ, DOCKER_HOST=docker_host, MIRROR=MIRROR)
    p = subprocess.run([str(REPO / "scripts" / "image"), "--deb", str(deb), name],
                       capture_output=True, text=True, env=env, timeout=900)
    if p.returncode != 0:
        return None, "scripts/image failed:\n" + p.stdout + p.stderr
    atexit.register(subprocess.run, ["docker", "-H", docker_host, "rmi", "-f", name],
                    capture_output=True, timeout=120)
    return name, p.stdout


def berth_image(docker_host, name):
    """berth's image as `make image` builds it (scripts/image with the session's
    .deb), once per session, removed by name at the end."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (scripts/install-deps test installs it)")
    if shutil.which("docker") is None:
        pytest.skip("the docker command is not installed")
    deb = build_deb()
    if not _mirror_reachable():
        pytest.skip("Debian's mirror %s is not reachable: mmdebstrap cannot make the image"
                    % MIRROR)
    image, log = _berth_image(deb, docker_host, name)
    if image is None:
        pytest.fail(log)
    return image
