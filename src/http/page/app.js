/* berth status page: polls the JSON endpoints and redraws what changed. */
"use strict";

(function () {
  var THEME_KEY = "berth-theme";
  var POLL_MS = 2000;
  var PAGE_ROWS = 500;

  /* The theme is set before the body is drawn, so there is no flash. */
  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }
  function systemTheme() {
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function applyTheme(t) {
    document.documentElement.setAttribute("data-theme", t);
  }
  applyTheme(storedTheme() || systemTheme());

  var state = {
    records: [],
    recordsText: "",
    sort: { key: "hostname", dir: 1 },
    query: "",
    type: "",
    shown: PAGE_ROWS,
    timer: null,
    lastOk: 0,
    busy: false
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmtInt(n) {
    if (typeof n !== "number") return "\u2013";
    return n.toLocaleString("en-US");
  }

  function fmtCompact(n) {
    if (typeof n !== "number") return "\u2013";
    if (n < 10000) return n.toLocaleString("en-US");
    if (n < 1e6) return (n / 1e3).toFixed(n < 1e5 ? 1 : 0) + "k";
    if (n < 1e9) return (n / 1e6).toFixed(1) + "M";
    return (n / 1e9).toFixed(1) + "G";
  }

  function fmtUptime(s) {
    if (typeof s !== "number") return "\u2013";
    s = Math.floor(s);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + sec + "s";
    return sec + "s";
  }

  /* "/very/long/path/to/hosts.d/main" -> ".../hosts.d/main"; the title keeps it whole. */
  function shortPath(s) {
    s = String(s);
    if (s.length <= 28 || s.indexOf("/") < 0) return s;
    var parts = s.split("/");
    return "\u2026/" + parts.slice(-2).join("/");
  }

  function getJSON(path) {
    /* no-cache: revalidate with the ETag; unchanged answers come back as 304. */
    return fetch(path, { cache: "no-cache", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok && r.status !== 503) throw new Error(path + ": " + r.status);
        return r.text();
      });
  }

  /* --- Summary and header --- */

  function drawStatus(s) {
    $("version").textContent = "v" + s.version;
    document.title = "berth \u00b7 " + (s.node || "status");
    $("node").textContent = s.node || "";
    var pill = $("health");
    pill.setAttribute("data-state", s.status);
    $("health-text").textContent = s.status === "healthy" ? "Healthy" : "Unhealthy";
    if (s.problems && s.problems.length) pill.title = s.problems.join("\n");
    else pill.removeAttribute("title");

    var rec = s.records || {};
    $("s-records").textContent = fmtCompact(rec.total);
    var kinds = Object.keys(rec.by_source || {}).sort();
    $("s-origins").textContent = kinds.length
      ? kinds.map(function (k) { return k + " " + fmtInt(rec.by_source[k].records); }).join(" \u00b7 ")
      : "no sources with records";

    var q = s.queries || {};
    $("s-queries").textContent = fmtCompact(q.total);
    var rc = q.by_rcode || {};
    $("s-rcodes").textContent = "NXDOMAIN " + fmtInt(rc.NXDOMAIN || 0) + " \u00b7 SERVFAIL " + fmtInt(rc.SERVFAIL || 0);

    var f = s.forwarding || {};
    $("s-forwarded").textContent = f.enabled ? fmtCompact(q.forwarded) : "off";
    $("s-upstreams").textContent = f.enabled
      ? (f.upstreams || []).join(", ") + (f.failed ? " \u00b7 " + fmtInt(f.failed) + " failed" : "")
      : "no upstreams";

    $("s-uptime").textContent = fmtUptime(s.uptime_seconds);
    $("s-listen").textContent = (s.listen || []).join(", ");

    drawSources(s.sources || []);
  }

  var HIDDEN_SOURCE_KEYS = { name: 1, kind: 1, state: 1, required: 1, error: 1, counters: 1 };

  /* One object of a source's status (a HAProxy socket, say) in words: its name and
   * state, then its other fields as "key value", its counters last. */
  function describe(o) {
    if (o === null || typeof o !== "object") return String(o);
    var words = [];
    if (o.name) words.push(shortPath(String(o.name)) + (o.state ? " " + o.state : ""));
    Object.keys(o).forEach(function (k) {
      var x = o[k];
      if (k === "name" || k === "state" || k === "kind" || k === "required" || x === null || x === "") return;
      if (typeof x === "object") {
        Object.keys(x).forEach(function (kk) {
          if (typeof x[kk] !== "object") words.push(kk.replace(/_/g, " ") + " " + x[kk]);
        });
        return;
      }
      words.push(k.replace(/_/g, " ") + " " + (typeof x === "number" ? fmtInt(x) : x));
    });
    return words.join(", ");
  }

  function drawSources(list) {
    var box = $("sources");
    box.textContent = "";
    $("sources-count").textContent = list.length ? String(list.length) : "";
    if (!list.length) {
      box.appendChild(el("p", "empty", "No sources configured."));
      return;
    }
    list.forEach(function (src) {
      var card = el("article", "card");
      var head = el("div", "card-head");
      var left = el("div");
      left.style.minWidth = "0";
      var nm = el("div", "card-name", shortPath(src.name || "?"));
      nm.title = src.name || "";
      left.appendChild(nm);
      left.appendChild(el("div", "kind", (src.kind || "") + (src.required ? " \u00b7 required" : "")));
      head.appendChild(left);
      var st = el("span", "state");
      st.setAttribute("data-state", src.state || "unknown");
      st.appendChild(el("span", "dot"));
      st.appendChild(document.createTextNode(src.state || "unknown"));
      head.appendChild(st);
      card.appendChild(head);

      var dl = el("dl");
      Object.keys(src).forEach(function (k) {
        if (HIDDEN_SOURCE_KEYS[k] || src[k] === null || src[k] === undefined || src[k] === "") return;
        var v = src[k];
        if (k === "last_sync" && typeof v === "object") {
          v = fmtInt(v.containers) + (v.containers === 1 ? " container" : " containers") +
              " in " + fmtInt(Math.round(v.ms)) + " ms";
        } else if (k === "last_event_ns" && typeof v === "number") {
          v = v > 0 ? new Date(v / 1e6).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "none yet";
        } else if (k === "event_lag" && typeof v === "object") {
          var n = (v.counts || []).reduce(function (a, b) { return a + b; }, 0);
          v = n ? fmtInt(n) + " events, mean " + (v.sum_ms / n).toFixed(2) + " ms" : "no events yet";
        } else if (Array.isArray(v)) {
          v = v.map(describe).join("; ") || "none";
        } else if (typeof v === "object") {
          v = describe(v);
        }
        dl.appendChild(el("dt", null, k === "last_event_ns" ? "last event" : k.replace(/_/g, " ")));
        dl.appendChild(el("dd", null, typeof v === "number" ? fmtInt(v) : v));
      });
      var c = src.counters || {};
      Object.keys(c).forEach(function (k) {
        dl.appendChild(el("dt", null, k.replace(/_/g, " ")));
        dl.appendChild(el("dd", null, fmtInt(c[k])));
      });
      if (dl.childNodes.length) card.appendChild(dl);
      if (src.error) card.appendChild(el("div", "err", src.error));
      box.appendChild(card);
    });
  }

  function drawCluster(c) {
    var ul = $("nodes");
    var nodes = c.nodes || [];
    ul.textContent = "";
    $("cluster-count").textContent = nodes.length ? nodes.length + (nodes.length === 1 ? " node" : " nodes") : "";
    if (c.etcd) {
      /* This node's link to etcd: endpoint, state, revision, the last error. */
      var link = el("li", "node-item etcd-link");
      var lm = el("div", "node-main");
      var ln = el("div", "node-name");
      var ls = el("span", "state");
      ls.setAttribute("data-state", c.etcd.state === "connected" ? "ok" : (c.etcd.state === "joining" ? "starting" : "degraded"));
      ls.appendChild(el("span", "dot"));
      ln.appendChild(ls);
      ln.appendChild(document.createTextNode("etcd " + (c.etcd.state || "")));
      lm.appendChild(ln);
      lm.appendChild(el("div", "node-addr", (c.etcd.endpoint || "") + " \u00b7 revision " + fmtInt(c.etcd.revision || 0)));
      if (c.etcd.last_error) lm.appendChild(el("div", "err", c.etcd.last_error));
      link.appendChild(lm);
      ul.appendChild(link);
    }
    if (!nodes.length) {
      ul.appendChild(el("li", "empty", "No nodes."));
      return;
    }
    nodes.forEach(function (n) {
      var li = el("li", "node-item");
      var main = el("div", "node-main");
      var name = el("div", "node-name");
      var st = el("span", "state");
      var s = n.state === "alive" ? "ok" : (n.state || "unknown");
      st.setAttribute("data-state", s);
      st.title = n.state || "";
      st.appendChild(el("span", "dot"));
      name.appendChild(st);
      name.appendChild(document.createTextNode(n.name || "?"));
      if (n.self) name.appendChild(el("span", "tag", "this node"));
      main.appendChild(name);
      main.appendChild(el("div", "node-addr", (n.address || "") + (n.version ? " \u00b7 berth " + n.version : "") +
                                             (n.state && n.state !== "alive" ? " \u00b7 " + n.state : "")));
      li.appendChild(main);
      li.appendChild(el("div", "node-recs", typeof n.records === "number" ? fmtInt(n.records) + " records" : ""));
      ul.appendChild(li);
    });
  }

  /* --- Records --- */

  function terms() {
    return state.query.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function matches(r, ts) {
    if (state.type && r.type !== state.type) return false;
    if (!ts.length) return true;
    var hay = (r.hostname + " " + r.type + " " + r.value + " " + r.source).toLowerCase();
    for (var i = 0; i < ts.length; i++) if (hay.indexOf(ts[i]) < 0) return false;
    return true;
  }

  /* Reverse-lookup names (in-addr.arpa, ip6.arpa) go after the others. */
  function isArpa(name) { return /\.arpa$/.test(name); }

  function byName(a, b) {
    var ra = isArpa(a.hostname), rb = isArpa(b.hostname);
    if (ra !== rb) return ra ? 1 : -1;
    return a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0;
  }

  function compare(a, b) {
    var k = state.sort.key, c;
    if (k === "ttl") c = a.ttl - b.ttl;
    else if (k === "hostname") c = byName(a, b);
    else {
      var x = String(a[k]), y = String(b[k]);
      c = x < y ? -1 : x > y ? 1 : 0;
    }
    if (!c && k !== "hostname") return byName(a, b);
    return c * state.sort.dir;
  }

  /* Text with every search term marked. */
  function marked(text, ts) {
    var frag = document.createDocumentFragment();
    text = String(text);
    if (!ts.length) { frag.appendChild(document.createTextNode(text)); return frag; }
    var low = text.toLowerCase(), i = 0;
    while (i < text.length) {
      var best = -1, len = 0;
      for (var j = 0; j < ts.length; j++) {
        var p = low.indexOf(ts[j], i);
        if (p >= 0 && (best < 0 || p < best)) { best = p; len = ts[j].length; }
      }
      if (best < 0) { frag.appendChild(document.createTextNode(text.slice(i))); break; }
      if (best > i) frag.appendChild(document.createTextNode(text.slice(i, best)));
      frag.appendChild(el("mark", null, text.slice(best, best + len)));
      i = best + len;
    }
    return frag;
  }

  function drawRecords() {
    var ts = terms();
    var rows = state.records.filter(function (r) { return matches(r, ts); });
    rows.sort(compare);
    var body = $("records");
    body.textContent = "";
    var shown = rows.slice(0, state.shown);
    shown.forEach(function (r) {
      var tr = el("tr");
      var host = el("td", "host");
      host.appendChild(marked(r.hostname, ts));
      var type = el("td", "type");
      type.appendChild(el("span", "t t-" + r.type, r.type));
      var val = el("td", "val");
      val.appendChild(marked(r.value, ts));
      var ttl = el("td", "num", r.ttl);
      var src = el("td", "src");
      var cut = r.source.indexOf(":");
      src.title = r.source;
      if (cut > 0) {
        var kind = el("span", "src-kind");
        kind.appendChild(marked(r.source.slice(0, cut), ts));
        var det = el("span", "src-detail");
        det.appendChild(marked(shortPath(r.source.slice(cut + 1)), ts));
        src.appendChild(kind);
        src.appendChild(det);
      } else {
        src.appendChild(marked(r.source, ts));
      }
      tr.appendChild(host); tr.appendChild(type); tr.appendChild(val); tr.appendChild(ttl); tr.appendChild(src);
      body.appendChild(tr);
    });
    var total = state.records.length;
    $("records-count").textContent = rows.length === total
      ? fmtInt(total) + (total === 1 ? " record" : " records")
      : fmtInt(rows.length) + " of " + fmtInt(total);
    var empty = $("records-empty");
    if (!rows.length) {
      empty.hidden = false;
      empty.textContent = total
        ? "No records match \u201c" + state.query + "\u201d" + (state.type ? " of type " + state.type : "") + "."
        : "No records yet. Start a container, add a hosts file, or PUT a service.";
    } else {
      empty.hidden = true;
    }
    var more = $("more");
    more.hidden = rows.length <= shown.length;
    more.textContent = "Show more (" + fmtInt(rows.length - shown.length) + " hidden)";
    $("records-table").hidden = !rows.length;
  }

  function drawTypeOptions() {
    var sel = $("type");
    var types = {};
    state.records.forEach(function (r) { types[r.type] = 1; });
    var want = Object.keys(types).sort();
    if (state.type && !types[state.type]) want.push(state.type);
    var have = Array.prototype.slice.call(sel.options, 1).map(function (o) { return o.value; });
    if (have.join() === want.join()) return;
    while (sel.options.length > 1) sel.remove(1);
    want.forEach(function (t) {
      var o = el("option", null, t);
      o.value = t;
      sel.appendChild(o);
    });
    sel.value = state.type;
  }

  function setSort(key) {
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else { state.sort.key = key; state.sort.dir = 1; }
    Array.prototype.forEach.call(document.querySelectorAll("#records-table th"), function (th) {
      if (th.getAttribute("data-key") === key)
        th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    drawRecords();
  }

  /* The search lives in the URL (#q=...) so a reload or a shared link keeps it. */
  function saveQuery() {
    var h = [];
    if (state.query) h.push("q=" + encodeURIComponent(state.query));
    if (state.type) h.push("type=" + encodeURIComponent(state.type));
    var url = location.pathname + location.search + (h.length ? "#" + h.join("&") : "");
    history.replaceState(null, "", url);
  }

  function loadQuery() {
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i < 0) return;
      var k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
      if (k === "q") state.query = v;
      if (k === "type") state.type = v;
    });
  }

  /* --- Polling --- */

  function setOnline(ok) {
    $("offline").hidden = ok;
    if (!ok) {
      $("health").setAttribute("data-state", "offline");
      $("health-text").textContent = "Offline";
    }
  }

  function tickUpdated() {
    if (!state.lastOk) return;
    var s = Math.round((Date.now() - state.lastOk) / 1000);
    $("updated").textContent = s < 2 ? "Updated just now" : "Updated " + s + "s ago";
  }

  function poll() {
    if (state.busy) return;
    state.busy = true;
    clearTimeout(state.timer);
    Promise.all([getJSON("/status"), getJSON("/dns/records"), getJSON("/dns/cluster")])
      .then(function (res) {
        drawStatus(JSON.parse(res[0]));
        if (res[1] !== state.recordsText) {
          state.recordsText = res[1];
          state.records = JSON.parse(res[1]).records || [];
          drawTypeOptions();
          drawRecords();
        }
        drawCluster(JSON.parse(res[2]));
        state.lastOk = Date.now();
        setOnline(true);
        document.documentElement.setAttribute("data-loaded", "1");
        tickUpdated();
      })
      .catch(function () { setOnline(false); })
      .then(function () {
        state.busy = false;
        if (!document.hidden) state.timer = setTimeout(poll, POLL_MS);
      });
  }

  function start() {
    loadQuery();
    var search = $("search");
    search.value = state.query;
    $("type").value = state.type;

    search.addEventListener("input", function () {
      state.query = search.value.trim();
      state.shown = PAGE_ROWS;
      saveQuery();
      drawRecords();
    });
    $("type").addEventListener("change", function (e) {
      state.type = e.target.value;
      state.shown = PAGE_ROWS;
      saveQuery();
      drawRecords();
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "/" && document.activeElement !== search && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        search.focus();
        search.select();
      } else if (e.key === "Escape" && document.activeElement === search) {
        search.value = "";
        search.dispatchEvent(new Event("input"));
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("#records-table th"), function (th) {
      th.querySelector("button").addEventListener("click", function () { setSort(th.getAttribute("data-key")); });
    });
    $("more").addEventListener("click", function () {
      state.shown += PAGE_ROWS;
      drawRecords();
    });
    $("theme").addEventListener("click", function () {
      var t = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
      applyTheme(t);
      try { localStorage.setItem(THEME_KEY, t); } catch (e) { /* private mode: not remembered */ }
    });
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      var follow = function () { if (!storedTheme()) applyTheme(systemTheme()); };
      if (mq.addEventListener) mq.addEventListener("change", follow);
    }
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) poll();
    });
    setInterval(tickUpdated, 1000);
    drawRecords();
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
