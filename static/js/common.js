// Shared by every shopper page: CSRF from the cookie, JSON calls, the server clock, status
// messages, local times, and paying an order. Plain JavaScript, no build step.
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});

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

  FS.localTime = function (ms, withSeconds) {
    var opts = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    if (withSeconds) opts.second = "2-digit";
    return new Date(ms).toLocaleString([], opts);
  };

  // Pay an order. Resolves one of: paid | closed | unavailable (no payment endpoint) | error.
  FS.pay = function (number) {
    return FS.api("POST", "/api/orders/" + number + "/pay", {}).then(function (r) {
      if (r.ok) return { state: "paid", text: "Paid: order " + number + " is confirmed. Thank you!" };
      if (r.data.code === "already_paid") return { state: "paid", text: "Order " + number + " is already paid." };
      if (r.data.code === "order_closed") return { state: "closed", text: "Order " + number + " can no longer be paid: it expired or was cancelled." };
      if (r.data.code === "payment_declined") return { state: "error", text: "The payment was declined. Your order still awaits payment: please try again." };
      if (r.status === 404 || r.status === 405) return { state: "unavailable", text: "Online payment is not open yet. Your order is kept in My orders until its deadline." };
      if (r.status === 401) { window.location.href = "/login/?next=" + encodeURIComponent(location.pathname); }
      return { state: "error", text: r.data.message || "Payment failed. Please try again." };
    }, function () {
      return { state: "error", text: "Network problem: we could not reach the shop. Please try again." };
    });
  };

  FS.payLink = function () {
    var link = document.createElement("a");
    link.href = "/orders/";
    link.className = "button";
    link.textContent = "Go to My orders";
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
          if (result.state === "paid" && badge) badge.textContent = "Paid";
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
            if (badge) { badge.textContent = "Cancelled"; badge.className = "badge status-cancelled"; }
            card.querySelectorAll("[data-pay-order], [data-cancel-order], .order-deadline").forEach(function (el) { el.remove(); });
            FS.say("done", "Order " + number + " is cancelled. Nothing was charged.");
          } else {
            FS.say("error", (r.data && r.data.message) || "The order could not be cancelled. Please try again.");
            button.disabled = false;
          }
        }, function () {
          FS.say("error", "Network problem: we could not reach the shop. Please try again.");
          button.disabled = false;
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime"));
      if (ms) { el.title = el.textContent; el.textContent = FS.localTime(ms, false); }
    });
    wirePayButtons();
    wireCancelButtons();
  });

  // Cached pages carry no CSRF token in their HTML: forms get it from the cookie when sent.
  document.addEventListener("submit", function (event) {
    var field = event.target.querySelector("input[data-csrf]");
    if (field) field.value = FS.cookie("csrftoken");
  });
})();
