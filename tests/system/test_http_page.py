# SPDX-License-Identifier: MIT
"""The status page in a real browser: tests/system/browser/page.test.js drives
Debian's headless Chromium through playwright-core against a berth started
here. Screenshots (light, dark, phone) go to $BERTH_SCREENSHOTS, else to the
test's temporary directory; their paths are printed.

Skipped, with the reason, when node, npm's playwright-core or /usr/bin/chromium
is missing. playwright-core is installed from package-lock.json (npm ci) the
first time.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import wait_until, write_zone
from docker_env import dockerd  # noqa: F401 (fixture)
from test_http import AUTH, TOKEN, get, request, start_http

BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _playwright_ready():
    """(ok, reason): node and playwright-core present, installing it if need be."""
    node = shutil.which("node")
    if node is None:
        return False, "node is not installed (apt-get install nodejs npm)"
    if not os.access(CHROMIUM, os.X_OK):
        return False, "%s is not installed (apt-get install chromium)" % CHROMIUM
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            return False, "npm is not installed, so playwright-core cannot be (apt-get install npm)"
        r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            return False, "npm ci in %s failed: %s" % (BROWSER_DIR, r.stderr[-500:])
    return True, ""


@pytest.mark.slow
def test_status_page_in_chromium(start_berth, tmp_path, dockerd):  # noqa: F811
    ok, why = _playwright_ready()
    if not ok:
        pytest.skip(why)
    hd, rec = write_zone(tmp_path / "zone")
    b = start_http(start_berth, tmp_path / "state", "--hosts-dir", str(hd), "--records", str(rec),
                   "--docker", dockerd.url,
                   # A HAProxy socket nobody listens on: its card lists the socket, in words.
                   "--http-domain", "local", "--haproxy-socket", str(tmp_path / "haproxy.sock"))

    def docker_synced():
        for src in get(b.http, "/status").json().get("sources", []):
            if src.get("kind") == "docker" and src.get("last_sync"):
                return True
        return False
    # The Docker card shows its last sync in words, not as JSON.
    assert wait_until(docker_synced, timeout=10), get(b.http, "/status").json()
    # A manual service too, so every kind of source shows.
    assert request(b.http, "PUT", "/services/web",
                   {"name": "web", "image": "nginx", "ips": ["10.1.2.3", "2001:db8::123"],
                    "aliases": ["www.example.test"]}, headers=AUTH).status == 201
    assert get(b.http, "/dns/records?name=alpha.docker").json()["total_records"] == 1

    shots = Path(os.environ.get("BERTH_SCREENSHOTS") or tmp_path / "screenshots")
    env = dict(os.environ, BERTH_URL="http://127.0.0.1:%d" % b.http, BERTH_TOKEN=TOKEN,
               EXPECT_NAME="alpha.docker", EXPECT_SOURCE_TEXT="containers in",
               SCREENSHOT_DIR=str(shots), CHROMIUM=CHROMIUM)
    r = subprocess.run(["node", "page.test.js"], cwd=BROWSER_DIR, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    print(r.stdout)
    print(r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 0 failed" in r.stdout
    for name in ("page-light.png", "page-dark.png", "page-phone-dark.png", "page-search.png"):
        png = shots / name
        assert png.is_file() and png.stat().st_size > 10000, png
        print("screenshot:", png)
