// After an accepted purchase: follow the reservation with backoff until it is an order (or
// failed), then offer to pay. Shows each state in the page's status region (#status).
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});
  var BACKOFF = [300, 500, 800, 1200, 2000, 3000];  // ms between polls: quick at first, then calm
  var FOLLOW_FOR_MS = 120000;
  var REASONS = { out_of_stock: "the last units went to other shoppers first" };

  function actions() { return document.getElementById("status-actions"); }
  function ordersLink() { actions().replaceChildren(FS.payLink()); }

  function payButton(number, amount) {
    var label = "Pay " + (amount || "now");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "buy-button pay-button";
    button.textContent = label;
    button.addEventListener("click", function () {
      if (button.disabled) return;  // one payment request at a time
      button.disabled = true;
      button.textContent = "Paying…";
      FS.pay(number).then(function (result) {
        FS.say(result.state === "paid" ? "done" : "error", result.text);
        if (result.state === "error") { button.disabled = false; button.textContent = label; }
        else if (result.state === "unavailable") ordersLink();  // no payment endpoint: pay from My orders
        else actions().replaceChildren();
      });
    });
    actions().replaceChildren(button);
  }

  function created(number, opts) {
    var fallback = function () {
      FS.say("done", "Order created (" + number + "). Pay for it in My orders.");
      ordersLink();
    };
    return FS.api("GET", "/api/orders/" + number + "/").then(function (r) {
      var expires = r.ok ? Date.parse(r.data.expires_at) : NaN;
      if (!expires) return fallback();
      var minutes = Math.max(1, Math.round((expires - FS.clock.now()) / 60000));
      FS.say("done", "Order created: pay within " + minutes + " minute" + (minutes === 1 ? "" : "s") +
        " (by " + FS.localTime(expires, false) + "). Order " + number + ".");
      if (opts.payAvailable) payButton(number, r.data.amount);
      else ordersLink();
    }, fallback);
  }

  FS.followReservation = function (url, opts) {
    FS.say("info", "In the queue… your order is being created.");
    actions().replaceChildren();
    var tries = 0;
    var until = performance.now() + FOLLOW_FOR_MS;

    function poll() {
      FS.api("GET", url).then(function (r) {
        if (r.ok && r.data.status === "created") return created(r.data.order_number, opts);
        if (r.ok && r.data.status === "failed") {
          FS.say("error", "Sorry, your order could not be created: " + (REASONS[r.data.reason] || "it could not be recorded") +
            ". Nothing was charged.");
          return opts.onFailed && opts.onFailed();
        }
        if (r.status === 401) { window.location.href = opts.loginUrl; return; }
        schedule(r.status === 429 ? 1000 * (parseInt(r.headers.get("Retry-After"), 10) || 2) : 0);
      }, function () { schedule(0); });  // offline for a moment: keep following
    }

    function schedule(atLeast) {
      if (performance.now() > until) {
        FS.say("info", "Still in the queue. Your place is kept; your order will appear in My orders.");
        return ordersLink();
      }
      setTimeout(poll, Math.max(atLeast, BACKOFF[Math.min(tries++, BACKOFF.length - 1)]));
    }
    schedule(0);
  };
})();
