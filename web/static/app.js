// Floodgate buyer page: join the waiting room, follow the line live, take the
// hold when it is your turn, sign in, buy, see the order. Every piece of
// state lives on the server or in a cookie (the ticket), so a reload, a
// second tab or a reopened browser comes back to the same place.
(function () {
  "use strict";

  var app = document.getElementById("app");
  if (!app) return;
  var M = JSON.parse(document.getElementById("fg-i18n").textContent);
  var drop = app.dataset.drop;
  // Signed in or not; the session itself is an HttpOnly cookie the page
  // never sees, sent with the order call.
  var session = app.dataset.signedIn === "1";
  var customer = app.dataset.customer || "";
  var loginURL = app.dataset.login || "";
  var lang = app.dataset.lang;
  var limit = app.dataset.limit;
  var startsAt = Number(app.dataset.starts);
  // Server time minus local time, so countdowns do not depend on the
  // buyer's clock being right.
  var skew = Number(app.dataset.now) - Date.now();
  var ticketCookie = "fg_ticket_" + drop.replace(/[^A-Za-z0-9_-]/g, "_");
  var apiDrop = "/api/v1/drops/" + encodeURIComponent(drop);

  var current = null; // the view shown
  var stream = null; // EventSource while waiting
  var pollTimer = null;
  var tickTimer = null;
  var meTimer = null;
  var healthTimer = null;
  var hold = null;
  var holdTotalMs = Number(app.dataset.holdSeconds || 0) * 1000;
  var lastAnnounce = 0;
  var firstAhead = null;
  var buying = false;
  var isDraw = app.dataset.mode === "draw";
  var entryEnds = Number(app.dataset.entryEnds || 0);
  var drawTimer = null;

  function t(key, vars) {
    var s = M[key] || key;
    if (vars) Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  }
  function $(id) { return document.getElementById(id); }
  function now() { return Date.now() + skew; }

  // ---- the ticket cookie ----
  function getTicket() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split("=");
      if (kv[0] === ticketCookie) return decodeURIComponent(kv.slice(1).join("="));
    }
    return "";
  }
  function setTicket(v) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = ticketCookie + "=" + encodeURIComponent(v) + "; Path=/; Max-Age=" + (14 * 24 * 3600) + "; SameSite=Lax" + secure;
  }
  function clearTicket() {
    document.cookie = ticketCookie + "=; Path=/; Max-Age=0; SameSite=Lax";
  }

  // ---- the API ----
  // api answers {status, body, retryAfter}; status 0 is a network failure.
  function api(method, path, opts) {
    opts = opts || {};
    var headers = { "Accept": "application/json" };
    var ticket = getTicket();
    if (ticket && !opts.noTicket) headers["Authorization"] = "Bearer " + ticket;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.key) headers["Idempotency-Key"] = opts.key;
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined
    }).then(function (r) {
      var date = r.headers.get("Date");
      if (date) { var d = Date.parse(date); if (!isNaN(d)) skew = d - Date.now(); }
      return r.text().then(function (txt) {
        var body = null;
        try { body = txt ? JSON.parse(txt) : null; } catch (e) { body = null; }
        return { status: r.status, body: body, retryAfter: Number(r.headers.get("Retry-After") || 0) };
      });
    }, function () { return { status: 0, body: null, retryAfter: 2 }; });
  }
  function errCode(res) { return res.body && res.body.error ? res.body.error.code : ""; }

  // ---- views ----
  function show(name) {
    ["loading", "join", "draw", "waiting", "turn", "order", "message"].forEach(function (v) {
      $("view-" + v).hidden = v !== name;
    });
    if (name !== "waiting") stopStream();
    if (name !== "turn") { clearInterval(meTimer); meTimer = null; }
    if (name !== "draw") { clearTimeout(drawTimer); drawTimer = null; }
    if (current !== name) {
      var changed = current !== null && current !== "loading";
      current = name;
      // Move focus to the new view's heading so keyboard and screen reader
      // users learn that the page changed, but not on first load.
      if (changed) {
        var h = $("view-" + name).querySelector("h2");
        if (h) h.focus({ preventScroll: false });
      }
    }
  }

  function message(title, text, action, icon) {
    show("message");
    $("m-title").textContent = title;
    $("m-text").textContent = text;
    $("m-icon").className = "view-icon " + (icon || "icon-info");
    var b = $("m-action");
    if (action) {
      b.hidden = false; b.textContent = action.label; b.onclick = action.run; b.disabled = false;
    } else { b.hidden = true; b.onclick = null; }
  }

  var banner = $("banner");
  function setBanner(text, kind, retry) {
    if (!text) { banner.hidden = true; return; }
    banner.hidden = false;
    banner.className = "banner" + (kind ? " banner-" + kind : "");
    $("banner-text").textContent = text;
    var rb = $("banner-retry");
    rb.hidden = !retry;
    rb.onclick = retry || null;
  }

  // ---- before the start: countdown and join ----
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function showJoin(note) {
    if (isDraw) return drawRefresh();
    show("join");
    var box = $("countdown-box");
    clearInterval(tickTimer);
    var upcoming = startsAt > now();
    $("join-note").textContent = upcoming ? t("join_early_note") : t("join_open_note");
    if (note) { $("join-error").hidden = false; $("join-error").textContent = note; } else { $("join-error").hidden = true; }
    if (app.dataset.state === "sold_out") return message(t("sold_out_title"), t("sold_out"));
    if (app.dataset.state === "closed") return message(t("closed_title"), t("closed"));
    if (!upcoming) { box.hidden = true; return; }
    box.hidden = false;
    var tick = function () {
      var ms = Math.max(0, startsAt - now());
      if (ms <= 0) { clearInterval(tickTimer); box.hidden = true; $("join-note").textContent = t("join_open_note"); return; }
      var s = Math.floor(ms / 1000);
      var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
      var units = d > 0 ? [[d, t("days")], [pad(h), t("hours")], [pad(m), t("minutes")]] : [[pad(h), t("hours")], [pad(m), t("minutes")], [pad(sec), t("seconds")]];
      var el = $("countdown");
      el.textContent = "";
      units.forEach(function (u) {
        var span = document.createElement("span"); span.className = "unit";
        var n = document.createElement("span"); n.className = "num"; n.textContent = u[0];
        var l = document.createElement("span"); l.className = "lbl"; l.textContent = u[1];
        span.appendChild(n); span.appendChild(l); el.appendChild(span);
      });
    };
    tick();
    tickTimer = setInterval(tick, 1000);
  }

  // ---- the join challenge: a short proof of work, solved in a worker ----
  var powWorker = null;
  function stopPow() {
    if (powWorker) { powWorker.terminate(); powWorker = null; }
    $("pow").hidden = true;
  }
  // solveChallenge resolves with the nonce, or null if it cannot be solved
  // here (no Web Worker, or the worker failed).
  function solveChallenge(ch) {
    return new Promise(function (resolve) {
      var box = $("pow"), bar = $("pow-bar"), prog = $("pow-progress"), live = $("pow-live");
      var expected = Math.pow(2, ch.difficulty), lastSaid = 0, lastPct = -1;
      box.hidden = false;
      bar.style.width = "3%";
      prog.setAttribute("aria-valuenow", "0");
      live.textContent = t("pow_progress", { pct: 0 });
      if (!window.Worker) { resolve(null); return; }
      stopPowWorkerOnly();
      try { powWorker = new Worker("/static/pow.js"); } catch (e) { resolve(null); return; }
      powWorker.onmessage = function (ev) {
        var m = ev.data || {};
        if (m.error) { stopPow(); resolve(null); return; }
        // The chance that the answer would have turned up by now: it
        // rises smoothly and never claims to be done before it is.
        var pct = m.nonce ? 100 : Math.min(99, Math.floor(100 * (1 - Math.exp(-m.hashes / expected))));
        if (pct !== lastPct) {
          lastPct = pct;
          bar.style.width = Math.max(3, pct) + "%";
          prog.setAttribute("aria-valuenow", String(pct));
          $("pow-text").textContent = t("pow_progress", { pct: pct });
        }
        // Screen readers hear the progress at most every 3 s.
        if (m.nonce || Date.now() - lastSaid > 3000) {
          lastSaid = Date.now();
          live.textContent = m.nonce ? t("pow_done") : t("pow_progress", { pct: pct });
        }
        if (m.nonce) { stopPowWorkerOnly(); resolve(m.nonce); }
      };
      powWorker.onerror = function () { stopPow(); resolve(null); };
      powWorker.postMessage({ prefix: ch.prefix, difficulty: ch.difficulty });
    });
  }
  function stopPowWorkerOnly() { if (powWorker) { powWorker.terminate(); powWorker = null; } }

  // joinQueue posts the join, solving the challenge when the server asks
  // for one (at most a few rounds: a leader change asks for a fresh one).
  function joinQueue(body, rounds) {
    return api("POST", apiDrop + "/queue", { noTicket: true, body: body }).then(function (res) {
      if (res.status !== 428 || !res.body || !res.body.challenge || rounds >= 3) { stopPow(); return res; }
      var ch = res.body.challenge;
      return solveChallenge(ch).then(function (nonce) {
        if (nonce === null) { stopPow(); return { status: 428, body: res.body, retryAfter: 0, unsolved: true }; }
        return joinQueue({ challenge: { id: ch.id, nonce: nonce } }, rounds + 1);
      });
    });
  }

  $("join").addEventListener("click", function () {
    var btn = $("join");
    if (btn.disabled) return;
    btn.disabled = true; btn.textContent = t("joining");
    joinQueue(undefined, 0).then(function (res) {
      btn.disabled = false; btn.textContent = t("join");
      if (res.unsolved) return showJoin(t("pow_unsupported"));
      if ((res.status === 201 || res.status === 200) && res.body && res.body.ticket) {
        setTicket(res.body.ticket);
        firstAhead = null;
        return refresh();
      }
      if (res.status === 0 || res.status === 503 || res.status === 429) return showJoin(res.status === 0 ? t("network_error") : t("unavailable"));
      handleError(res);
    });
  });

  // ---- waiting: SSE with polling as the fallback ----
  function etaText(s) {
    if (s === undefined || s === null) return "—";
    if (s <= 2) return t("eta_now");
    if (s < 60) return t("eta_under_minute");
    var m = Math.round(s / 60);
    if (m < 60) return t("eta_minutes", { n: m });
    if (m % 60 === 0) return t("eta_hours_only", { h: m / 60 });
    return t("eta_hours", { h: Math.floor(m / 60), m: m % 60 });
  }
  function fmt(n) { return typeof n === "number" ? n.toLocaleString(lang === "ko" ? "ko-KR" : "en-US") : "—"; }

  function showWaiting(st) {
    if (current !== "waiting") show("waiting");
    // Early arrivals get their place drawn at the start; a visitor who
    // joined just after the start is placed at the opening, a moment later.
    var early = !st.position;
    var placing = early && !st.early;
    $("w-position").textContent = placing ? t("place_pending") : early ? t("place_drawn") : fmt(st.position);
    $("w-position").classList.toggle("drawn", early);
    $("w-ahead").textContent = early ? "—" : fmt(st.ahead);
    // Past the stock, an estimate would promise what may not come; before
    // the place is known there is nothing to estimate from.
    $("w-eta").textContent = st.beyond_stock || placing ? "—" : etaText(st.eta_seconds);
    $("w-beyond").hidden = !st.beyond_stock;
    // An operator paused admission: the place is kept, the line stands still.
    $("w-paused").hidden = !st.paused;
    $("w-paused-reason").textContent = st.paused && st.pause_reason ? t("pause_reason").replace("{reason}", st.pause_reason) : "";
    if (st.paused) $("w-eta").textContent = "—";
    // The progress bar measures from where this ticket first stood.
    var key = "fg_first_ahead_" + drop + "_" + getTicket().slice(-16);
    if (firstAhead === null && !early) {
      try { firstAhead = Number(localStorage.getItem(key) || 0); } catch (e) { firstAhead = 0; }
      if (!firstAhead && typeof st.ahead === "number") firstAhead = st.ahead;
    }
    if (!early && typeof st.ahead === "number" && st.ahead > firstAhead) firstAhead = st.ahead;
    if (!early) { try { localStorage.setItem(key, String(firstAhead)); } catch (e) { /* private mode */ } }
    var pct = early ? 0 : firstAhead > 0 ? Math.round(100 * (1 - st.ahead / firstAhead)) : 100;
    $("w-bar").style.width = Math.max(3, pct) + "%";
    $("w-progress").setAttribute("aria-valuenow", String(pct));
    // The live region speaks at most every 15 s, so a screen reader is not
    // flooded while the line moves.
    if (Date.now() - lastAnnounce > 15000) {
      lastAnnounce = Date.now();
      $("w-live").textContent = placing ? t("place_pending") + "."
        : early ? t("place_drawn") + ". " + t("join_early_note")
        : t("live_position", { position: fmt(st.position), ahead: fmt(st.ahead), eta: etaText(st.eta_seconds) });
    }
  }
  function connState(ok) {
    $("w-conn").className = "conn" + (ok ? "" : " lost");
    $("w-conn-text").textContent = ok ? t("live") : t("reconnecting");
  }

  function onStatus(st) {
    if (!st || !st.state) return;
    if (st.state === "waiting") return showWaiting(st);
    // Admitted, sold out or closed: the line is over for this ticket.
    stopStream();
    refresh();
  }

  function startStream() {
    if (stream || pollTimer) return;
    if (!window.EventSource) return startPolling();
    var es = new EventSource(apiDrop + "/queue?ticket=" + encodeURIComponent(getTicket()));
    stream = es;
    es.onopen = function () { connState(true); };
    es.onmessage = function (ev) {
      connState(true);
      try { onStatus(JSON.parse(ev.data)); } catch (e) { /* ignore a bad line */ }
    };
    es.onerror = function () {
      connState(false);
      // EventSource reconnects by itself; when it gives up (the server
      // answered with an error), poll instead and try the stream later.
      if (es.readyState === EventSource.CLOSED) {
        stream = null;
        startPolling();
      }
    };
  }
  function startPolling() {
    if (pollTimer) return;
    var tries = 0;
    var poll = function () {
      api("GET", apiDrop + "/queue").then(function (res) {
        tries++;
        if (res.status === 200 && res.body) {
          connState(true);
          onStatus(res.body);
          if (res.body.state === "waiting" && tries % 10 === 0 && window.EventSource) {
            stopStream(); startStream(); // try live updates again now and then
          }
          return;
        }
        connState(false);
        if (res.status === 401 || res.status === 404) { stopStream(); handleError(res); }
      });
    };
    poll();
    pollTimer = setInterval(poll, 3000);
  }
  function stopStream() {
    if (stream) { stream.close(); stream = null; }
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  // ---- your turn: the hold ----
  function idemKey(holdID) {
    // One key per hold, kept across reloads and tabs: a double click, a
    // retry or a second tab can only ever make the same one order.
    var k = "fg_idem_" + holdID;
    var v = null;
    try { v = localStorage.getItem(k); } catch (e) { /* private mode */ }
    if (!v) {
      var b = new Uint8Array(16);
      crypto.getRandomValues(b);
      v = Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
      try { localStorage.setItem(k, v); } catch (e) { /* private mode */ }
    }
    return v;
  }

  function takeHold() {
    return api("POST", apiDrop + "/holds", { body: { quantity: 1 } }).then(function (res) {
      if ((res.status === 201 || res.status === 200) && res.body) return showHold(res.body);
      if (res.status === 0 || res.status === 503 || res.status === 429) return retryLater(res, takeHold);
      handleError(res);
    });
  }

  function showHold(h) {
    hold = h;
    if (current !== "turn") show("turn");
    $("t-held").textContent = t("held_for_you", { n: h.quantity || 1 });
    var signedIn = !!session;
    $("t-signin").hidden = signedIn;
    $("t-buy").hidden = !signedIn;
    if (!signedIn && !loginURL) {
      $("t-error").hidden = false; $("t-error").textContent = t("login_off");
    }
    $("t-paused").hidden = !h.paused;
    $("t-paused-note").hidden = !h.paused;
    clearInterval(tickTimer);
    // While paused the server keeps moving the expiry out, so the clock
    // shows the time left when the pause was seen and does not run down.
    var pausedLeft = h.paused ? Math.max(0, Date.parse(h.expires_at) - now()) : null;
    var tick = function () {
      if (!hold) return;
      var left = pausedLeft !== null ? pausedLeft : Math.max(0, Date.parse(hold.expires_at) - now());
      var s = Math.floor(left / 1000);
      $("t-clock").textContent = pad(Math.floor(s / 60)) + ":" + pad(s % 60);
      if (!holdTotalMs || left > holdTotalMs) holdTotalMs = left;
      var pct = holdTotalMs ? Math.round(100 * left / holdTotalMs) : 0;
      $("t-bar").style.width = pct + "%";
      $("t-progress").setAttribute("aria-valuenow", String(pct));
      var low = left < 60000 && !hold.paused;
      $("t-progress").classList.toggle("low", low);
      document.querySelector(".timer").classList.toggle("low", low);
      if (left <= 0 && !hold.paused) { clearInterval(tickTimer); refresh(); }
    };
    tick();
    tickTimer = setInterval(tick, 1000);
    // Keep the hold fresh: the server may pause it or move its expiry.
    if (!meTimer) meTimer = setInterval(function () { refresh(true); }, 5000);
    if (!healthTimer && loginURL) { checkHealth(); healthTimer = setInterval(checkHealth, 3000); }
  }

  var idpWasDown = app.dataset.idpDown === "true";
  function checkHealth() {
    return fetch("/auth/health", { cache: "no-store", credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (hs) {
      if (hs.down) {
        idpWasDown = true;
        setBanner(t("idp_down"), "", checkHealth);
        $("signin").setAttribute("aria-disabled", "true");
        if (hold) { $("t-paused").hidden = false; $("t-paused-note").hidden = false; }
      } else {
        $("signin").removeAttribute("aria-disabled");
        if (idpWasDown) { idpWasDown = false; setBanner(t("idp_back"), "ok"); }
      }
    }, function () { /* the page's own server is unreachable; the API calls say so */ });
  }
  $("signin").addEventListener("click", function (ev) {
    if ($("signin").getAttribute("aria-disabled") === "true") { ev.preventDefault(); checkHealth(); }
  });

  $("buy").addEventListener("click", function () {
    if (buying || !hold) return;
    buying = true;
    var btn = $("buy");
    btn.disabled = true;
    var label = btn.textContent;
    btn.textContent = t("buying");
    $("t-error").hidden = true;
    var h = hold;
    var attempt = function () {
      api("POST", "/api/v1/holds/" + encodeURIComponent(h.id) + "/order", { key: idemKey(h.id), body: {} }).then(function (res) {
        if ((res.status === 201 || res.status === 200) && res.body) { buying = false; return showOrder(res.body); }
        if (res.status === 0 || res.status === 503 || res.status === 429) {
          // Safe to retry with the same key: it can only make one order.
          $("t-error").hidden = false; $("t-error").textContent = res.status === 0 ? t("network_error") : t("unavailable");
          return setTimeout(attempt, Math.max(1, res.retryAfter || 2) * 1000);
        }
        buying = false; btn.disabled = false; btn.textContent = label;
        var code = errCode(res);
        if (code === "already_ordered") return refresh();
        if (res.status === 401 && session) {
          // The session is no longer good: sign in again, the hold stays.
          session = false; $("t-buy").hidden = true; $("t-signin").hidden = false;
          $("t-error").hidden = false; $("t-error").textContent = t("login_failed");
          return;
        }
        handleError(res);
      });
    };
    attempt();
  });

  function releaseHold() {
    if (!hold || !window.confirm(t("release_confirm"))) return;
    api("DELETE", "/api/v1/holds/" + encodeURIComponent(hold.id)).then(function (res) {
      if (res.status === 204 || res.status === 200) { hold = null; clearInterval(tickTimer); return message(t("released_title"), t("released")); }
      handleError(res);
    });
  }
  $("release").addEventListener("click", releaseHold);

  // ---- the order ----
  var payClock = null, payPoll = null;
  function stopPayment() {
    clearInterval(payClock); payClock = null;
    clearInterval(payPoll); payPoll = null;
  }
  // showOrder shows an order; payUrl is the "pay now" link from /me (undefined
  // when the order came from the order call, which does not carry it).
  function showOrder(o, payUrl) {
    hold = null;
    clearInterval(tickTimer);
    clearInterval(healthTimer); healthTimer = null;
    stopPayment();
    if (o.status === "expired") return message(t("order_expired_title"), t("order_expired"), null, "icon-warn");
    if (o.status === "cancelled") return message(t("order_cancelled_title"), t("order_cancelled"), null, "icon-warn");
    show("order");
    showPayment(o, payUrl);
    $("o-id").textContent = o.id;
    $("o-customer").textContent = o.customer || customer;
    var at = Date.parse(o.created_at);
    $("o-at").textContent = isNaN(at) ? "" : new Date(at).toLocaleString(lang === "ko" ? "ko-KR" : "en-US", { dateStyle: "medium", timeStyle: "short" });
    $("o-voucher-box").hidden = !o.voucher;
    $("o-voucher").textContent = o.voucher || "";
    showReceipt(o);
    setBanner("");
  }

  // The signed receipt: shown to copy, and offered as a file. The order's
  // answer and later reads of it carry different receipts of the same
  // payload (docs/fairness-spec.md section 8), so the one shown stays while
  // its payload is the same: a copy in progress is not swapped under the
  // buyer.
  var receiptURL = null, receiptPayload = null;
  function showReceipt(o) {
    $("o-receipt-box").hidden = !o.receipt;
    if (!o.receipt) return;
    var payload = o.receipt.split(".")[1];
    if (payload === receiptPayload) return;
    receiptPayload = payload;
    $("o-receipt").value = o.receipt;
    if (receiptURL) URL.revokeObjectURL(receiptURL);
    receiptURL = URL.createObjectURL(new Blob([o.receipt + "\n"], { type: "application/jose" }));
    var a = $("o-receipt-download");
    a.href = receiptURL;
    a.download = "receipt-" + o.id + ".jws";
  }

  // ---- a draw: enter, wait for the draw, claim a win ----
  function fmtTime(ms) {
    return new Date(ms).toLocaleString(lang === "ko" ? "ko-KR" : "en-US", { dateStyle: "medium", timeStyle: "short" });
  }
  function drawView(title, text) {
    show("draw");
    $("d-title").textContent = title;
    $("d-text").textContent = text;
    $("d-ends").textContent = entryEnds ? t("draw_ends", { time: fmtTime(entryEnds) }) : "";
    $("d-signin").hidden = true; $("d-enter").hidden = true; $("d-claim").hidden = true;
    $("d-error").hidden = true;
  }
  function drawError(res) {
    var e = $("d-error");
    e.hidden = false;
    e.textContent = (res.body && res.body.error) ? res.body.error.message : t("error_generic");
  }
  function drawPoll(ms) {
    clearTimeout(drawTimer);
    drawTimer = setTimeout(drawRefresh, ms);
  }
  function drawRefresh() {
    if (!session) {
      drawView(t("draw_title"), t("draw_open"));
      $("d-signin").hidden = false;
      return;
    }
    return api("GET", apiDrop + "/entries/me", { noTicket: true }).then(function (res) {
      if (res.status === 404) {
        if (entryEnds && now() >= entryEnds) return message(t("closed_title"), t("draw_closed"));
        drawView(t("draw_title"), t("draw_open"));
        $("d-enter").hidden = false;
        return;
      }
      if (res.status === 401) { session = false; return drawRefresh(); }
      if (res.status !== 200 || !res.body) return retryLater(res, drawRefresh);
      var e = res.body;
      switch (e.state) {
        case "pending":
          drawView(t("draw_entered_title"), t("draw_entered"));
          return drawPoll(entryEnds && entryEnds - now() > 5000 ? 5000 : 1000);
        case "won":
          drawView(t("draw_won_title"), t("draw_won", { rank: e.rank, entries: e.entries, time: fmtTime(Date.parse(e.claim_by)) }));
          $("d-claim").hidden = false;
          $("d-claim").onclick = function () {
            $("d-claim").disabled = true;
            setTicket(e.ticket);
            refresh();
          };
          return drawPoll(5000);
        case "backup":
          drawView(t("draw_backup_title"), t("draw_backup", { rank: e.rank, entries: e.entries }));
          return drawPoll(3000);
        case "lost":
          return message(t("draw_lost_title"), t("draw_lost"));
        case "expired":
          return message(t("draw_expired_title"), t("draw_expired"), null, "icon-warn");
        case "ordered":
          return message(t("draw_ordered_title"), t("draw_ordered", { order: e.order }), null, "icon-ok");
      }
    });
  }
  $("d-enter").addEventListener("click", function () {
    var b = $("d-enter");
    b.disabled = true;
    api("POST", apiDrop + "/entries", { noTicket: true, body: {} }).then(function (res) {
      b.disabled = false;
      if (res.status === 201 || res.status === 200) return drawRefresh();
      drawError(res);
    });
  });

  // An order awaiting payment: the deadline counting down, the pay link,
  // and a look at the server every few seconds (paid, expired).
  function showPayment(o, payUrl) {
    var due = o.status === "awaiting_payment" && o.pay_by ? Date.parse(o.pay_by) : NaN;
    var awaiting = !isNaN(due);
    $("o-title").textContent = awaiting ? t("pay_title") : t("order_title");
    $("o-lead").hidden = awaiting;
    $("o-pay").hidden = !awaiting;
    if (!awaiting) return;
    if (payUrl === undefined) return refresh(true); // fetch the link
    $("o-pay-due").textContent = t("pay_due", { at: new Date(due).toLocaleString(lang === "ko" ? "ko-KR" : "en-US", { dateStyle: "medium", timeStyle: "short" }) });
    $("o-pay-link").hidden = !payUrl;
    $("o-pay-nolink").hidden = !!payUrl;
    if (payUrl) $("o-pay-link").href = payUrl;
    var tick = function () {
      var left = Math.max(0, due - now());
      var s = Math.floor(left / 1000), h = Math.floor(s / 3600);
      $("o-pay-clock").textContent = (h > 0 ? h + ":" : "") + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
      $("o-pay-clock").classList.toggle("low", left < 60000);
      if (left <= 0) { stopPayment(); refresh(true); }
    };
    tick();
    payClock = setInterval(tick, 1000);
    payPoll = setInterval(function () { refresh(true); }, 5000);
  }

  // ---- errors ----
  function retryLater(res, fn) {
    setBanner(res.status === 0 ? t("network_error") : t("unavailable"), "");
    setTimeout(function () { setBanner(""); fn(); }, Math.max(1, res.retryAfter || 2) * 1000);
  }

  function handleError(res) {
    var code = errCode(res);
    switch (code) {
      case "sold_out": setDropState("sold_out"); return message(t("sold_out_title"), t("sold_out"));
      case "limit_exceeded":
        // This account cannot buy more; offer to let the held item go to
        // the next person rather than leave it blocked until it expires.
        return message(t("limit_title"), t("limit_exceeded", { n: limit }), hold ? { label: t("release"), run: releaseHold } : null, "icon-warn");
      case "hold_expired":
        return message(t("expired_title"), t("hold_expired"), { label: t("try_hold_again"), run: function () { $("m-action").disabled = true; takeHold(); } }, "icon-warn");
      case "not_admitted": return refresh();
      case "unauthenticated":
      case "not_found":
      case "forbidden":
        // The ticket is damaged, expired or for another sale: start over
        // with a clear word rather than a dead end.
        clearTicket();
        return showJoin(t("ticket_invalid"));
      case "unavailable":
      case "rate_limited":
        return retryLater(res, function () { refresh(); });
    }
    if (res.status === 0) return retryLater(res, function () { refresh(); });
    message(t("error_generic"), (res.body && res.body.error && lang === "en") ? res.body.error.message : t("error_generic"),
      { label: t("retry"), run: function () { refresh(); } }, "icon-warn");
  }

  // The product's state pill was right when the page was made; keep it
  // right as the sale starts or sells out.
  function setDropState(state) {
    var pill = $("drop-state");
    if (!pill || !M["state_" + state]) return;
    app.dataset.state = state;
    pill.className = "pill pill-" + state;
    pill.textContent = t("state_" + state);
  }
  setInterval(function () {
    if (app.dataset.state === "scheduled" && now() >= startsAt) setDropState("open");
  }, 1000);

  // ---- where am I? ----
  function refresh(quiet) {
    var ticket = getTicket();
    if (!ticket) return showJoin();
    return api("GET", apiDrop + "/me").then(function (res) {
      if (res.status !== 200 || !res.body) {
        if (quiet && (res.status === 0 || res.status >= 500)) return; // keep showing the hold
        return handleError(res);
      }
      var me = res.body;
      if (me.order) return showOrder(me.order, me.pay_url || "");
      if (me.hold && me.hold.status === "active") return showHold(me.hold);
      if (me.hold && me.hold.status === "ordered") return showOrder(me.order || { id: me.hold.id });
      if (me.state === "sold_out" || me.state === "closed") {
        setDropState(me.state);
        return me.state === "sold_out" ? message(t("sold_out_title"), t("sold_out")) : message(t("closed_title"), t("closed"));
      }
      if (me.hold && me.hold.status === "expired") return handleError({ body: { error: { code: "hold_expired" } } });
      if (me.hold && me.hold.status === "released") return message(t("released_title"), t("released"));
      switch (me.state) {
        case "admitted": return takeHold();
        case "waiting": showWaiting(me); return startStream();
        case "sold_out": setDropState("sold_out"); return message(t("sold_out_title"), t("sold_out"));
        case "closed": setDropState("closed"); return message(t("closed_title"), t("closed"));
      }
      showJoin();
    });
  }

  // Sign-in results come back as ?login=…: show them once, then clean the
  // address so a reload does not repeat them.
  if (/[?&]login=/.test(location.search)) {
    var p = new URLSearchParams(location.search);
    p.delete("login");
    history.replaceState(null, "", location.pathname + (p.toString() ? "?" + p : ""));
    if (!banner.hidden) {
      var txt = $("banner-text").textContent;
      setBanner(txt, banner.classList.contains("banner-error") ? "error" : "", function () { setBanner(""); refresh(); });
    }
  }
  // A second tab that buys, or a tab that comes back from sleep, catches up.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && getTicket() && current !== "order") refresh(true);
  });

  refresh();
})();
