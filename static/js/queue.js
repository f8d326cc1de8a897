// The sale's waiting room for one shopper: join when they arrive, then poll with the ticket of
// the last answer (X-Queue-Ticket) when the server says (poll_after_ms). It draws nothing: the
// page calls tick() on its own timer, reads line.place, and hears of every answer by onChange.
// Times are on the server's clock (FS.clock), like the countdown.
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});
  var RETRY_MS = [1000, 2000, 5000, 10000, 30000];  // after a failed call: a crowd backs off a struggling shop
  var OPEN_SPREAD_MS = 3000;  // joins when the line opens are spread: the pre-queue is shuffled, so nobody loses a place by it
  var START_SPREAD_MS = 2000;  // the pre-queue's polls at the start are spread: everyone got a place at once
  var PREQUEUE_RECHECK_MS = 30000;  // a pre-queue place changes only at the start; look this often in case the start moved
  var TURN_RECHECK_MS = 5000;  // during a turn only the line closing changes it (the stock refresh shows that too)

  FS.Line = function (saleId, opts) {
    var url = "/api/sales/" + saleId + "/queue";
    var line = { place: null, failures: 0 };
    var dueAt = null, join = true, inFlight = false, held = false, ticket = "";

    function now() { return FS.clock.now(); }

    // When to ask next: never sooner than the server said; later where the place cannot change.
    function nextDelay(place) {
      var after = place.poll_after_ms || 1000;
      if (place.state === "prequeue") {
        var toStart = opts.startsAt() - now();
        return Math.max(after, toStart > PREQUEUE_RECHECK_MS ? PREQUEUE_RECHECK_MS : toStart + Math.random() * START_SPREAD_MS);
      }
      if (place.state === "admitted") {
        return Math.max(after, Math.min(Date.parse(place.admitted_until) - now(), TURN_RECHECK_MS));
      }
      return after;
    }

    function set(place) {
      var previous = line.place;
      line.place = place;
      opts.onChange(place, previous);
    }

    function answered(r) {
      var code = r.data.code || "";
      if (r.ok) {
        line.failures = 0;
        join = false;
        ticket = r.data.ticket || ticket;
        // A lapsed or closed place changes no more by itself: a lapsed shopper lines up again by hand.
        dueAt = r.data.state === "lapsed" || r.data.state === "closed" ? null : now() + nextDelay(r.data);
        return set(r.data);
      }
      if (code === "queue_not_open") {
        var opensAt = Number(r.data.details && r.data.details.opens_at_ms) || opts.startsAt();
        line.failures = 0;
        // Never sooner than a second: a page whose clock runs ahead must not ask again on every tick.
        dueAt = Math.max(opensAt + Math.random() * OPEN_SPREAD_MS, now() + 1000);
        return set({ state: "not_open", opens_at_ms: opensAt });
      }
      if (code === "not_in_queue") { join = true; dueAt = now(); return; }  // the place is gone: take a new one
      if (r.status === 401 || code === "not_authenticated") { window.location.href = opts.loginUrl; return; }
      failed(parseInt(r.headers.get("Retry-After"), 10) * 1000);
    }

    function failed(retryAfterMs) {
      var wait = RETRY_MS[Math.min(line.failures, RETRY_MS.length - 1)];
      line.failures += 1;
      dueAt = now() + Math.max(wait, retryAfterMs || 0);
      opts.onChange(line.place, line.place);  // the page may say it is trying again
    }

    function ask() {
      inFlight = true;
      var request = join ? FS.api("POST", url, {}) : FS.api("GET", url, undefined, ticket ? { "X-Queue-Ticket": ticket } : {});
      return request.then(answered, function () { failed(0); }).then(function () { inFlight = false; });
    }

    // Called by the page a few times a second: asks when it is due (and the page is not done).
    line.tick = function () {
      if (!inFlight && !held && dueAt !== null && now() >= dueAt) ask();
    };
    // Line up (again): a lapsed or new shopper goes to the back; a live place is kept.
    line.join = function () {
      join = true;
      dueAt = now();
      line.tick();
    };
    // The shopper bought all they may: no more polls, unless a purchase fails and they may buy again.
    line.hold = function (yes) { held = !!yes; };
    return line;
  };
})();
