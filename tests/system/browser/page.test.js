// SPDX-License-Identifier: MIT
// berth's status page in headless Chromium: it loads, shows the records, the
// search box filters them, sorting works, a record added over the API appears
// without a reload, the theme toggles and is remembered across a reload, and
// nothing is fetched from another host. Screenshots go to SCREENSHOT_DIR.
//
// Run by tests/system/test_http_page.py, which starts berth. Environment:
//   BERTH_URL       http://127.0.0.1:PORT of a running berth (required)
//   BERTH_TOKEN     its --api-token (required: the test PUTs a service)
//   EXPECT_NAME     a hostname that must be listed (default alpha.docker)
//   EXPECT_SOURCE_TEXT  text that must show in the sources (optional)
//   SCREENSHOT_DIR  where the PNGs go (default: a temporary directory)
//   CHROMIUM        the browser (default /usr/bin/chromium)
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const BASE = (process.env.BERTH_URL || "").replace(/\/$/, "");
const TOKEN = process.env.BERTH_TOKEN || "";
const EXPECT = process.env.EXPECT_NAME || "alpha.docker";
const EXPECT_SOURCE = process.env.EXPECT_SOURCE_TEXT || "";
const SHOTS = process.env.SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "berth-shots-"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WAIT = 10000; // ms: every wait is bounded

const T0 = Date.now();
function step(msg) {
  console.log("ok - " + msg + " (" + ((Date.now() - T0) / 1000).toFixed(1) + " s)");
}

async function rowsText(page) {
  return page.$$eval("#records tr", (trs) => trs.map((tr) => tr.textContent));
}

async function main() {
  assert.ok(BASE.startsWith("http://"), "set BERTH_URL");
  assert.ok(TOKEN, "set BERTH_TOKEN");
  fs.mkdirSync(SHOTS, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "berth-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run",
    ],
    viewport: { width: 1280, height: 900 },
    colorScheme: "light",
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(WAIT);
    page.on("console", (m) => {
      if (m.type() === "error") problems.push("console: " + m.text());
    });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("request", (r) => {
      if (!r.url().startsWith(BASE + "/") && !r.url().startsWith("data:"))
        problems.push("request to another host: " + r.url());
    });

    // Loads, and shows the records.
    const resp = await page.goto(BASE + "/");
    assert.equal(resp.status(), 200);
    await page.waitForSelector("html[data-loaded='1']");
    assert.equal(await page.getAttribute("html", "data-theme"), "light");
    assert.match(await page.textContent("#version"), /^v\d/);
    assert.equal(await page.getAttribute("#health", "data-state"), "healthy");
    await page.waitForFunction((n) => document.querySelector("#records").textContent.includes(n), EXPECT);
    const all = await rowsText(page);
    assert.ok(all.length >= 3, "several records: " + all.length);
    assert.ok((await page.$$("#sources .card")).length >= 1, "source cards");
    if (EXPECT_SOURCE) {
      await page.waitForFunction((t) => document.querySelector("#sources").textContent.includes(t),
        EXPECT_SOURCE);
    }
    assert.ok(!(await page.textContent("#sources")).includes('{"'), "raw JSON in a source card");
    assert.ok((await page.$$("#nodes .node-item")).length >= 1, "cluster nodes");
    step("page loaded with " + all.length + " records");
    await page.screenshot({ path: path.join(SHOTS, "page-light.png") });

    // The search box filters.
    const word = EXPECT.split(".")[0];
    await page.fill("#search", word);
    await page.waitForFunction((n) => document.querySelectorAll("#records tr").length < n, all.length);
    const some = await rowsText(page);
    assert.ok(some.length >= 1);
    for (const t of some) assert.ok(t.toLowerCase().includes(word), "row matches: " + t);
    assert.match(await page.textContent("#records-count"), / of /);
    assert.ok((await page.$$("#records mark")).length >= 1, "matches are marked");
    step("search \"" + word + "\" left " + some.length + " rows");
    await page.screenshot({ path: path.join(SHOTS, "page-search.png") });

    // Nothing matches: a message says so.
    await page.fill("#search", "no-such-name-anywhere");
    await page.waitForSelector("#records-empty:not([hidden])");
    await page.fill("#search", "");
    await page.waitForFunction((n) => document.querySelectorAll("#records tr").length === n, all.length);
    step("an empty search shows everything again");

    // Sorting by type.
    await page.click("th[data-key='type'] button");
    assert.equal(await page.getAttribute("th[data-key='type']", "aria-sort"), "ascending");
    const types = await page.$$eval("#records td.type", (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(types, [...types].sort());
    await page.click("th[data-key='type'] button");
    assert.equal(await page.getAttribute("th[data-key='type']", "aria-sort"), "descending");
    await page.click("th[data-key='hostname'] button");
    step("sorting by type, both ways");

    // A service added over the API shows up without a reload.
    const put = await fetch(BASE + "/services/browser-live", {
      method: "PUT",
      headers: { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "live", image: "web", ips: ["10.77.0.1"] }),
    });
    assert.equal(put.status, 201);
    await page.waitForFunction(() => document.querySelector("#records").textContent.includes("live.web.docker"));
    step("a new service appeared while the page was open");

    // The theme toggles, is stored, and survives a reload (with the search).
    await page.fill("#search", word);
    await page.click("#theme");
    assert.equal(await page.getAttribute("html", "data-theme"), "dark");
    assert.equal(await page.evaluate(() => localStorage.getItem("berth-theme")), "dark");
    await page.reload();
    await page.waitForSelector("html[data-loaded='1']");
    assert.equal(await page.getAttribute("html", "data-theme"), "dark");
    assert.equal(await page.inputValue("#search"), word);
    step("dark theme and the search were remembered across a reload");
    await page.fill("#search", "");
    await page.waitForFunction(() => document.querySelector("#records").textContent.includes("live.web.docker"));
    await page.screenshot({ path: path.join(SHOTS, "page-dark.png") });

    // A phone.
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(BASE + "/");
    await phone.waitForSelector("html[data-loaded='1']");
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, "no sideways scrolling on a phone (" + overflow + "px)");
    await phone.screenshot({ path: path.join(SHOTS, "page-phone-dark.png") });
    await phone.click("#theme");
    await phone.screenshot({ path: path.join(SHOTS, "page-phone-light.png"), fullPage: false });
    step("phone layout without sideways scrolling");

    const del = await fetch(BASE + "/services/browser-live", {
      method: "DELETE",
      headers: { Authorization: "Bearer " + TOKEN },
    });
    assert.equal(del.status, 204);
    assert.deepEqual(problems, []);
    step("no console errors and no other hosts");
    console.log("screenshots in " + SHOTS);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => {
    console.log("1 passed, 0 failed");
  },
  (e) => {
    console.error("not ok - " + (e && e.stack ? e.stack : e));
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
