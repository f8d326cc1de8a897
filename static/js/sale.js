// The sale page: countdown on the server's clock, stock refresh, the line (when the sale has one:
// queue.js), captcha -> token -> purchase, then the reservation followed until it is an order.
// The HTML is cached and the same for every visitor; everything about this shopper happens here.
(function () {
  "use strict";
  var root = document.getElementById("sale");
  if (!root || !window.FS || !FS.clock) return;
  var $ = function (id) { return document.getElementById(id); };
  var d = root.dataset;
  var sale = {
    id: Number(d.saleId), startsAt: Number(d.startsAt), endsAt: Number(d.endsAt), phase: d.phase,
    limit: Number(d.limit), quantity: Number(d.quantity), remaining: d.remaining === "" ? null : Number(d.remaining),
  };
  var authed = document.body.dataset.auth === "1";
  var ui = {
    badge: $("phase-badge"), clockLabel: $("clock-label"), clockValue: $("clock-value"), remaining: $("remaining"),
    form: $("buy-form"), button: $("buy-button"), note: $("buy-note"), captcha: $("captcha"),
    image: $("captcha-image"), answer: $("captcha-answer"), refresh: $("captcha-refresh"), qty: $("quantity"),
    queue: $("queue"), queueTitle: $("queue-title"), queueDetail: $("queue-detail"), rejoin: $("queue-rejoin"),
    announce: $("queue-announce"),
  };
  var PHASES = {
    live: gettext("Live now"), scheduled: gettext("Coming soon"), paused: gettext("Paused"), ended: gettext("Ended"),
    draft: gettext("Not scheduled"),
  };
  var CAPTCHA_LEAD_MS = 60000;  // the captcha shows in the last minute, spread, so shoppers solve it early
  var CAPTCHA_MAX_AGE_MS = 4 * 60000;  // the server forgets a challenge after 5 minutes
  var CAPTCHA_AHEAD_S = 20;  // in the line, the captcha shows this close to the turn, so it is solved by then
  var pageTitle = document.title;
  var captchaFrom = sale.startsAt - CAPTCHA_LEAD_MS + Math.random() * 30000;
  var state = {
    captchaKey: null, captchaAt: 0, captchaLoading: false, busy: false, waitUntil: 0, waitWhy: "", retry: null,
    bought: 0, limitHit: false, lineKind: "",
  };
  var line = null;  // the shopper's place in the sale's line (FS.Line), when the sale has one

  // --- clock and phase -------------------------------------------------------------------
  function phaseNow() {
    if (sale.phase === "draft" || sale.phase === "paused") return sale.phase;  // only the server ends these
    var now = FS.clock.now();
    if (now >= sale.endsAt) return "ended";
    return now >= sale.startsAt ? "live" : "scheduled";
  }

  function hms(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var days = Math.floor(s / 86400);
    var two = function (n) { return String(n).padStart(2, "0"); };
    var t = two(Math.floor(s / 3600) % 24) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
    return days ? FS.t(gettext("%(days)s d %(time)s"), { days: days, time: t }) : t;
  }

  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }

  // --- drawing: called on every tick and event; touches the DOM only where something changed ---
  function render() {
    var phase = phaseNow();
    var now = FS.clock.now();
    setText(ui.badge, PHASES[phase] || phase);
    ui.badge.className = "badge phase-" + phase;
    setText(ui.clockLabel, phase === "scheduled" ? gettext("Starts in") : phase === "live" ? gettext("Ends in") : "");
    setText(ui.clockValue, phase === "scheduled" ? hms(sale.startsAt - now) : phase === "live" ? hms(sale.endsAt - now)
      : phase === "paused" ? gettext("Paused") : phase === "ended" ? gettext("Ended") : gettext("Not scheduled yet"));
    setText(ui.remaining, sale.remaining === null ? "–" : String(sale.remaining));
    if (!authed) return;

    var kind = line ? FS.lineKind(line.place, now) : "admitted";  // no line: every shopper may buy
    var soldOut = sale.remaining === 0 || kind === "sold_out";
    var done = state.limitHit || state.bought >= sale.limit;
    var myTurn = kind === "admitted";
    var nearTurn = kind === "waiting" && line.place.eta_seconds !== null && line.place.eta_seconds <= CAPTCHA_AHEAD_S;
    var captchaTime = (myTurn || nearTurn) && (phase === "live" || (phase === "scheduled" && now >= captchaFrom));
    var stale = state.captchaKey && !ui.answer.value && performance.now() - state.captchaAt > CAPTCHA_MAX_AGE_MS;
    if (captchaTime && !soldOut && !done && (!state.captchaKey || stale) && !state.captchaLoading && !state.retry && !state.busy) {
      loadCaptcha();
    }
    ui.captcha.hidden = !(captchaTime && !soldOut && !done && !state.retry);
    var waiting = Math.ceil((state.waitUntil - now) / 1000);
    var label = gettext("Buy now");
    var note = "";
    if (state.busy) label = gettext("Buying…");
    else if (phase === "scheduled") { label = gettext("Not open yet"); note = gettext("The button opens when the countdown reaches zero."); }
    else if (phase === "ended" || kind === "ended") { label = gettext("Sale ended"); note = gettext("This sale has ended."); }
    else if (phase === "paused") { label = gettext("Paused"); note = gettext("The sale is paused for a moment. This page updates by itself."); }
    else if (phase === "draft") { label = gettext("Not open yet"); note = gettext("This sale has no date yet."); }
    else if (kind === "sold_out") { label = gettext("Sold out"); note = gettext("Every unit has been sold."); }
    else if (soldOut) { label = gettext("Sold out"); note = gettext("Every unit has been taken. Units come back if an order goes unpaid; this page updates by itself."); }
    else if (state.limitHit) { label = gettext("Limit reached"); note = gettext("Your orders are in My orders."); }
    else if (done) { label = gettext("Bought"); note = FS.t(gettext("You have bought the most this sale allows: %(limit)s per person."), { limit: sale.limit }); }
    else if (kind === "over") { label = gettext("Not your turn"); note = ""; }
    else if (!myTurn && !state.retry) {
      label = gettext("Wait for your turn");
      note = nearTurn && state.captchaKey ? gettext("Type the characters now: the button opens when it's your turn.") : gettext("The button opens when it's your turn.");
    }
    else if (waiting > 0) {
      label = FS.t(gettext("Wait %(seconds)s s"), { seconds: waiting });
      note = FS.t(gettext("%(why)s The button opens again in %(seconds)s s."), { why: state.waitWhy, seconds: waiting });
    }
    else if (state.retry) { label = gettext("Try again"); note = gettext("Trying again is safe: it cannot buy twice."); }
    else if (!state.captchaKey) { note = gettext("Loading the security check…"); }
    else { note = gettext("Type the characters, then press Buy now."); }
    setText(ui.button, label);
    setText(ui.note, note);
    var ready = phase === "live" && !soldOut && !done && waiting <= 0 && (state.retry || (state.captchaKey && myTurn));
    ui.button.disabled = state.busy || !ready;
    if (ui.qty.tagName === "SELECT") ui.qty.disabled = state.busy || !!state.retry || done || soldOut;
    if (line) drawLine(now, done);
  }

  // --- the line: its panel, the announcement of each change, the tab's title ---------------------
  function drawLine(now, done) {
    line.hold(done);  // bought all they may: no more polls
    var place = line.place;
    var offLine = place && place.state === "admitted" && place.position === null;  // the sale has no line (any more)
    var words = FS.lineWords(place, { now: now, soldOutForNow: sale.remaining === 0, trouble: line.failures > 1 });
    ui.queue.hidden = done || offLine;
    if (!ui.queue.hidden) {
      ui.queue.className = "queue tone-" + words.tone;
      setText(ui.queueTitle, words.title);
      setText(ui.queueDetail, words.detail);
    }
    ui.rejoin.hidden = words.kind !== "over" || done;
    if (words.kind !== state.lineKind && !done && !offLine) {
      lineChanged(words);
      state.lineKind = words.kind;
    }
    var title = words.kind === "admitted" && !done ? FS.t(gettext("Your turn · %(title)s"), { title: pageTitle }) : pageTitle;
    if (document.title !== title) document.title = title;  // a shopper waiting in another tab sees it
  }

  function lineChanged(words) {
    if (words.announce) setText(ui.announce, words.announce);
    if (words.kind === "sold_out") sale.remaining = 0;
    var focus = document.activeElement;
    var lost = !focus || focus === document.body || focus.disabled || ui.form.contains(focus) || focus === ui.rejoin;
    // Keep the keyboard where the action is: a control that just went away must not drop the focus.
    if (words.kind === "over" && lost) ui.rejoin.focus();
    else if (state.lineKind === "over" && lost) ui.queue.focus();
  }

  function startLine() {
    if (line) return line.join();
    line = FS.Line(sale.id, {
      startsAt: function () { return sale.startsAt; }, loginUrl: d.loginUrl,
      onChange: function () {
        ui.rejoin.disabled = false;  // an answer came: the shopper may ask again
        render();
      },
    });
    line.join();
  }

  // --- stock and phase from the API, every few seconds, only while the page is visible ----------
  function refresh() {
    return FS.api("GET", "/api/sales/" + sale.id + "/").then(function (r) {
      if (!r.ok) return;
      sale.phase = r.data.phase;
      sale.remaining = r.data.remaining;
      sale.startsAt = Date.parse(r.data.starts_at) || sale.startsAt;
      sale.endsAt = Date.parse(r.data.ends_at) || sale.endsAt;
      render();
    }, function () { /* offline for a moment: the next poll tries again */ });
  }

  function pollLoop() {
    var phase = phaseNow();
    var base = phase === "ended" ? 60000 : phase === "live" ? 4000 : 8000;
    setTimeout(function () {
      (document.hidden ? Promise.resolve() : refresh()).then(pollLoop);
    }, base + Math.random() * 2000);  // jitter: a crowd that loaded together does not poll together
  }

  // --- captcha ------------------------------------------------------------------------------
  function loadCaptcha() {
    state.captchaLoading = true;
    state.captchaKey = null;
    return FS.api("GET", "/api/captcha").then(function (r) {
      if (r.ok) {
        state.captchaKey = r.data.key;
        state.captchaAt = performance.now();
        ui.image.src = r.data.image_url;
        ui.answer.value = "";
      }
      else FS.say("error", gettext("The security check did not load. Press “New picture”."));
    }, function () {
      FS.say("error", gettext("Network problem: the security check did not load. Press “New picture”."));
    }).then(function () { state.captchaLoading = false; render(); });
  }

  // --- buying -------------------------------------------------------------------------------
  function quantity() { return Math.max(1, Number(ui.qty.value) || 1); }

  // captcha answer -> one-time token; null when refused (the message is already shown)
  function fetchToken() {
    var key = state.captchaKey;
    state.captchaKey = null;  // a challenge takes one answer, right or wrong
    return FS.api("POST", "/api/sales/" + sale.id + "/token", { captcha_key: key, captcha_answer: ui.answer.value.trim() })
      .then(function (r) {
        if (r.ok) return { token: r.data.token, quantity: quantity(), idemKey: FS.newKey() };
        refused(r, null);
        return null;
      });
  }

  function buy() {
    if (state.busy || ui.button.disabled) return;  // one purchase in flight, whatever the clicks
    if (!state.retry && !ui.answer.value.trim()) {
      FS.say("error", gettext("Type the characters from the picture first."));
      ui.answer.focus();
      return;
    }
    state.busy = true;
    render();  // the button is disabled before anything is sent
    FS.say("info", gettext("Sending your order…"));
    var step = state.retry ? Promise.resolve(state.retry) : fetchToken();
    step.then(function (attempt) {
      if (!attempt) return null;
      state.retry = attempt;  // kept until an answer arrives: a retry reuses token and Idempotency-Key
      return FS.api("POST", "/api/sales/" + sale.id + "/purchase", { token: attempt.token, quantity: attempt.quantity },
        { "Idempotency-Key": attempt.idemKey }).then(function (r) {
        state.retry = null;
        if (r.status === 202) accepted(r.data, attempt);
        else refused(r, attempt);
      });
    }).catch(function () {
      if (!state.retry) loadCaptcha();
      FS.say("error", gettext("Network problem: we could not confirm your order. Press “Try again”; it cannot buy twice."));
    }).then(function () {
      state.busy = false;
      render();
    });
  }

  function accepted(data, attempt) {
    state.bought += attempt.quantity;
    if (sale.remaining !== null) sale.remaining = Math.max(0, sale.remaining - attempt.quantity);  // the next poll corrects
    if (state.bought < sale.limit) loadCaptcha();
    FS.followReservation(data.status_url || "/api/reservations/" + data.reservation_id, {
      loginUrl: d.loginUrl, payAvailable: d.pay === "1",
      onFailed: function () {
        state.bought = Math.max(0, state.bought - attempt.quantity);  // the units came back: try again is allowed
        render();
      },
    });
  }

  function refused(r, attempt) {
    var code = r.data.code || "";
    if (r.status === 401 || code === "not_authenticated") { window.location.href = d.loginUrl; return; }
    var again = true;  // most refusals spent the captcha: show a new one
    if (code === "sold_out") {
      sale.remaining = 0; again = false;
      FS.say("error", gettext("Sold out: every unit has been taken. Sorry!"));
    } else if (code === "limit_reached") {
      if (attempt && attempt.quantity === 1) { state.limitHit = true; again = false; }
      FS.say("error", FS.t(gettext("Limit reached: this sale allows %(limit)s per person, and you have reached it."), { limit: sale.limit }));
    } else if (code === "not_live") {
      FS.say("error", phaseNow() === "ended" ? gettext("This sale has ended.") : gettext("Not live yet: this sale is not open for purchases right now. Watch the countdown."));
      refresh();
    } else if (code === "rate_limited" || code === "sale_unavailable") {
      var seconds = Math.min(300, Math.max(1, parseInt(r.headers.get("Retry-After"), 10) || (code === "rate_limited" ? 5 : 2)));
      state.waitUntil = FS.clock.now() + seconds * 1000;
      state.waitWhy = code === "rate_limited" ? gettext("Too many requests.") : gettext("The sale is unavailable for a moment.");
      if (attempt) { state.retry = attempt; again = false; }  // nothing was taken: the same request may be sent again
      FS.say("error", code === "rate_limited" ? FS.t(gettext("Too many requests: please wait %(seconds)s s, then try again."), { seconds: seconds })
        : FS.t(gettext("Sale unavailable: the shop cannot take orders for a moment. Please try again in %(seconds)s s."), { seconds: seconds }));
    } else if (code === "not_admitted") {
      FS.say("error", gettext("It isn't your turn yet. You have a place in the line: the button opens when it's your turn."));
      startLine();
    } else if (code === "bad_captcha") {
      FS.say("error", gettext("Those characters did not match. Here is a new picture: please try again."));
    } else if (code === "bad_token") {
      FS.say("error", gettext("Your security check expired. Solve the new picture and press Buy now again."));
    } else if (code === "invalid") {
      FS.say("error", FS.t(gettext("Please choose a quantity between 1 and %(limit)s."), { limit: sale.limit }));
    } else if (code === "forbidden") {
      FS.say("error", gettext("Your session changed. Please reload the page and try again."));
    } else {
      FS.say("error", FS.t(gettext("%(message)s Please try again."), { message: r.data.message || gettext("Something went wrong on our side.") }));
    }
    if (again) loadCaptcha().then(function () { if (!ui.captcha.hidden) ui.answer.focus(); });
  }

  // --- wiring ---------------------------------------------------------------------------------
  if (authed) {
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); buy(); });
    ui.refresh.addEventListener("click", function () { if (!state.busy) loadCaptcha().then(function () { ui.answer.focus(); }); });
    ui.rejoin.addEventListener("click", function () {
      if (ui.rejoin.disabled) return;  // one join in flight
      ui.rejoin.disabled = true;
      line.join();
    });
    var phase = phaseNow();
    if (d.queue === "1" && phase !== "ended" && phase !== "draft") startLine();
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  render();
  setInterval(function () {
    if (line) line.tick();
    render();
  }, 250);
  pollLoop();
})();
