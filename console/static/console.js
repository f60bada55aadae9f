// The console's script: live figures over SSE with moving charts, the
// browser's time zone for time fields, confirmations, and printing.
(function () {
  "use strict";
  var off = String(-new Date().getTimezoneOffset());
  document.querySelectorAll(".tz-offset").forEach(function (el) { el.value = off; });

  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // One click, one request: a double click does not send twice.
  document.querySelectorAll("form[method=post]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (e.defaultPrevented) return;
      var b = f.querySelector("button[type=submit]");
      if (b) setTimeout(function () { b.disabled = true; }, 0);
    });
  });
  var pr = document.getElementById("print");
  if (pr) pr.addEventListener("click", function () { window.print(); });

  var figs = document.getElementById("figures");
  var i18nEl = document.getElementById("console-i18n");
  if (!figs || !i18nEl || !window.EventSource) return;
  var M = JSON.parse(i18nEl.textContent);
  var drop = figs.getAttribute("data-drop");
  var nf = new Intl.NumberFormat();
  function $(id) { return document.getElementById(id); }
  function set(id, v) { var el = $(id); if (el && el.textContent !== v) el.textContent = v; }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var ms = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < ms.length; i++) if (ms[i] * p >= v) return ms[i] * p;
    return 10 * p;
  }
  function tick(v) {
    if (v >= 1e6) return +(v / 1e6).toFixed(2) + "M";
    if (v >= 1e3) return +(v / 1e3).toFixed(2) + "k";
    return String(Math.round(v * 100) / 100);
  }
  // redraw puts new points into a chart drawn by the server (internal/chart).
  function redraw(id, xs, series) {
    var g = document.querySelector('[data-chart="' + id + '"]');
    if (!g || !xs.length) return;
    var plot = g.getAttribute("data-plot").split(" ").map(Number);
    var x0 = xs[0], x1 = xs[xs.length - 1];
    if (x1 <= x0) x1 = x0 + 1;
    var ymax = 0;
    series.forEach(function (s) { s.forEach(function (v) { if (v === v && v > ymax) ymax = v; }); });
    ymax = niceMax(ymax);
    var lines = g.querySelectorAll("polyline.series");
    series.forEach(function (s, k) {
      if (!lines[k]) return;
      var pts = [];
      for (var i = 0; i < xs.length; i++) {
        if (s[i] !== s[i]) continue;
        pts.push((plot[0] + (xs[i] - x0) / (x1 - x0) * plot[2]).toFixed(1) + "," + (plot[1] + plot[3] - s[i] / ymax * plot[3]).toFixed(1));
      }
      lines[k].setAttribute("points", pts.join(" "));
    });
    g.querySelectorAll("text.ytick").forEach(function (t, i) { t.textContent = tick(ymax * i / 4); });
    g.querySelectorAll("text.xtick").forEach(function (t, i) { t.textContent = tick(x0 + (x1 - x0) * i / 4); });
  }
  function rate(xs, vals) {
    return vals.map(function (v, i) {
      var j = i;
      while (j > 0 && xs[i] - xs[j] < 1) j--;
      var dt = xs[i] - xs[j];
      return dt > 0 ? (v - vals[j]) / dt : NaN;
    });
  }

  function show(lv) {
    var d = lv.drop;
    set("v-waiting", nf.format(lv.waiting));
    set("v-admitted", nf.format(lv.admitted));
    set("v-held", nf.format(d.held));
    set("v-awaiting", nf.format(d.awaiting_payment || 0));
    set("v-sold", nf.format(d.sold));
    set("v-available", nf.format(d.available));
    set("v-stock", nf.format(d.stock));
    set("v-admit-rate", lv.admitted_per_second.toFixed(1));
    set("v-admit-setting", nf.format(d.admit_per_second));
    set("v-joins", lv.joins_per_second.toFixed(1));
    set("v-errors", (100 * lv.error_rate).toFixed(1) + "%");
    set("v-p99", lv.p99_ms.toFixed(1));
    set("v-eta", lv.eta_seconds == null ? "—" : Math.ceil(lv.eta_seconds) + " s");
    var st = $("v-state");
    if (st) { st.textContent = M["state_" + d.state] || d.state; st.className = "badge state-" + d.state; }
    var p = $("v-paused");
    if (p) p.hidden = !d.paused;
    set("v-reason", d.paused && d.pause_reason ? ": " + d.pause_reason : "");
    var raw = lv.timeline || [], tl = [];
    // A step function: before a point after a quiet spell, the counters
    // stood where the previous point left them (as the server draws it).
    raw.forEach(function (q, i) {
      if (i > 0 && q.t - raw[i - 1].t > 0.5) {
        if (q.t - raw[i - 1].t > 1.2) tl.push(Object.assign({}, raw[i - 1], { t: raw[i - 1].t + 1 }));
        tl.push(Object.assign({}, raw[i - 1], { t: q.t - 0.1 }));
      }
      tl.push(q);
    });
    var xs = tl.map(function (q) { return q.t; });
    var joined = tl.map(function (q) { return q.joined; }), adm = tl.map(function (q) { return q.admitted; });
    var held = tl.map(function (q) { return q.held; }), sold = tl.map(function (q) { return q.sold; });
    var waiting = tl.map(function (q) { return Math.max(0, q.joined - q.admitted); });
    redraw("counts", xs, [waiting, adm, held, sold]);
    redraw("rates", xs, [rate(xs, joined), rate(xs, adm), rate(xs, sold)]);
  }

  var es = new EventSource("/admin/drops/" + encodeURIComponent(drop) + "/events");
  es.onmessage = function (e) {
    try { show(JSON.parse(e.data)); } catch (err) { return; }
    set("v-conn", M.live + " · " + new Date().toLocaleTimeString());
  };
  es.addEventListener("expired", function () { es.close(); set("v-conn", M.session_ended); });
  es.onerror = function () { set("v-conn", M.reconnecting); };
})();
