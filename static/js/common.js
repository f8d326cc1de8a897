// Shared by every shopper page: CSRF from the cookie, JSON calls, the server clock, status
// messages, the shop's times and money, and paying an order. Plain JavaScript, no build step.
// Words come from the page's catalog (/jsi18n/<language>.js: gettext, ngettext, interpolate).
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});

  // Without its catalog (it failed to load) a page still works, in English.
  if (typeof window.gettext !== "function") {
    window.gettext = function (text) { return text; };
    window.ngettext = function (one, many, n) { return n === 1 ? one : many; };
    window.interpolate = function (fmt, obj) {
      return fmt.replace(/%\(\w+\)s/g, function (m) { return String(obj[m.slice(2, -2)]); });
    };
  }
  FS.lang = document.documentElement.lang || "en";
  FS.shopZone = document.body.dataset.shopTz || undefined;
  FS.t = function (text, values) { return values ? interpolate(text, values, true) : text; };

  FS.cookie = function (name) {
    var found = document.cookie.split("; ").find(function (c) { return c.indexOf(name + "=") === 0; });
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  };

  // fetch() with JSON in and out. Resolves {status, ok, data, headers}; rejects only when the
  // request got no answer (network down), so the caller can tell "refused" from "unknown".
  FS.api = function (method, url, body, headers) {
    var h = Object.assign({ Accept: "application/json" }, headers || {});
    if (method !== "GET") {
      h["Content-Type"] = "application/json";
      h["X-CSRFToken"] = FS.cookie("csrftoken");  // the page set it (ensure_csrf_cookie)
    }
    return fetch(url, {
      method: method, headers: h, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (FS.clock) FS.clock.observe(response.headers.get("Date"));
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data || {}, headers: response.headers };
      });
    });
  };

  FS.newKey = function () {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  };

  FS.sleep = function (ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); };

  // The server's clock. The page carries the server's "now" in ms; from then on time advances by
  // performance.now() (monotonic), so a wrong or changed browser clock never moves a countdown.
  // A response's Date header (1 s precision) re-anchors it only if it drifted by seconds, e.g.
  // after the computer slept.
  FS.clock = (function () {
    var serverNow = Number(document.body.dataset.serverNow);
    if (!serverNow) return null;
    var nav = performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    var anchor = nav && nav.responseStart > 0 ? nav.responseStart : performance.now();
    var clock = {
      now: function () { return serverNow + (performance.now() - anchor); },
      observe: function (dateHeader) {
        var at = Date.parse(dateHeader || "");
        if (!at) return;
        var now = clock.now();
        if (now < at - 1000 || now > at + 3000) { serverNow = at + 500; anchor = performance.now(); }
      },
    };
    return clock;
  })();

  // One polite live region per page: #status with #status-text.
  FS.say = function (tone, text) {
    var box = document.getElementById("status");
    var line = document.getElementById("status-text");
    if (!box || !line) return;
    // The region stays in the page (a live region added or unhidden late is often not read out).
    box.className = "status tone-" + tone + (text ? "" : " is-empty");
    if (line.textContent !== text) line.textContent = text;
  };

  // A time in the shop's zone (not the device's) and the page's language: 12月1日 20:45, 1 Dec, 20:45.
  function shopTime(ms, opts) {
    opts = Object.assign({ hourCycle: "h23" }, opts);
    try {
      return new Date(ms).toLocaleString(FS.lang, Object.assign({ timeZone: FS.shopZone }, opts));
    } catch (e) {  // a zone this browser does not know: its own zone rather than nothing
      return new Date(ms).toLocaleString(FS.lang, opts);
    }
  }

  FS.localTime = function (ms, withSeconds) {
    var opts = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    if (withSeconds) opts.second = "2-digit";
    return shopTime(ms, opts);
  };

  FS.timeOfDay = function (ms) {
    return shopTime(ms, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  };

  // An amount as the server writes it (config/money.py gives the page the symbol and decimals): NT$9,999.
  FS.money = function (amount, symbol, decimals) {
    var n = Number(amount);
    if (!isFinite(n) || symbol === undefined) return String(amount);
    var digits = Number(decimals) || 0;
    var text = Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return (n < 0 ? "-" : "") + symbol + text;
  };

  // Pay an order. Resolves one of: paid | closed | unavailable (no payment endpoint) | error.
  FS.pay = function (number) {
    return FS.api("POST", "/api/orders/" + number + "/pay", {}).then(function (r) {
      var n = { number: number };
      if (r.ok) return { state: "paid", text: FS.t(gettext("Paid: order %(number)s is confirmed. Thank you!"), n) };
      if (r.data.code === "already_paid") return { state: "paid", text: FS.t(gettext("Order %(number)s is already paid."), n) };
      if (r.data.code === "order_closed") return { state: "closed", text: FS.t(gettext("Order %(number)s can no longer be paid: it expired or was cancelled."), n) };
      if (r.data.code === "payment_declined") return { state: "error", text: gettext("The payment was declined. Your order still awaits payment: please try again.") };
      if (r.status === 404 || r.status === 405) return { state: "unavailable", text: gettext("Online payment is not open yet. Your order is kept in My orders until its deadline.") };
      if (r.status === 401) { window.location.href = "/login/?next=" + encodeURIComponent(location.pathname); }
      return { state: "error", text: r.data.message || gettext("Payment failed. Please try again.") };
    }, function () {
      return { state: "error", text: gettext("Network problem: we could not reach the shop. Please try again.") };
    });
  };

  FS.payLink = function () {
    var link = document.createElement("a");
    link.href = "/orders/";
    link.className = "button";
    link.textContent = gettext("Go to My orders");
    return link;
  };

  function wirePayButtons() {
    document.querySelectorAll("[data-pay-order]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.disabled) return;
        button.disabled = true;
        FS.pay(button.dataset.payOrder).then(function (result) {
          FS.say(result.state === "paid" ? "done" : "error", result.text);
          var badge = button.closest("li") && button.closest("li").querySelector("[data-order-status]");
          if (result.state === "paid" && badge) badge.textContent = gettext("Paid");
          if (result.state === "error") { button.disabled = false; return; }
          var card = button.closest("li");  // paid or closed: nothing left to cancel either
          if (card) card.querySelectorAll("[data-cancel-order]").forEach(function (el) { el.remove(); });
          button.remove();
        });
      });
    });
  }

  // Cancel an unpaid order from My orders, after the shopper confirms (the POST carries the CSRF token).
  function wireCancelButtons() {
    document.querySelectorAll("[data-cancel-order]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.disabled) return;
        if (!window.confirm(button.dataset.confirm)) return;
        button.disabled = true;
        var number = button.dataset.cancelOrder;
        FS.api("POST", "/api/orders/" + number + "/cancel", {}).then(function (r) {
          var card = button.closest("li");
          if (r.ok && card) {
            var badge = card.querySelector("[data-order-status]");
            if (badge) { badge.textContent = gettext("Cancelled"); badge.className = "badge status-cancelled"; }
            card.querySelectorAll("[data-pay-order], [data-cancel-order], .order-deadline").forEach(function (el) { el.remove(); });
            FS.say("done", FS.t(gettext("Order %(number)s is cancelled. Nothing was charged."), { number: number }));
          } else {
            FS.say("error", (r.data && r.data.message) || gettext("The order could not be cancelled. Please try again."));
            button.disabled = false;
          }
        }, function () {
          FS.say("error", gettext("Network problem: we could not reach the shop. Please try again."));
          button.disabled = false;
        });
      });
    });
  }

  // The pages write their times in the shop's zone already (the server renders them): nothing to rewrite.
  document.addEventListener("DOMContentLoaded", function () {
    wirePayButtons();
    wireCancelButtons();
  });

  // Cached pages carry no CSRF token in their HTML: forms get it from the cookie when sent.
  document.addEventListener("submit", function (event) {
    var field = event.target.querySelector("input[data-csrf]");
    if (field) field.value = FS.cookie("csrftoken");
  });
})();
