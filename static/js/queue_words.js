// What the sale page says about the shopper's place in the line: a title, a detail, the sentence
// announced when the state changes, and a tone. Words only; sale.js draws them.
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});

  function clockText(ms) {  // 1:58, or 1:02:03 for turns over an hour
    var s = Math.max(0, Math.ceil(ms / 1000));
    var two = function (n) { return String(n).padStart(2, "0"); };
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s % 60);
  }

  function spoken(ms) {  // "1 minute 58 seconds", for the announcement
    // Rounded down: said once, it must never promise more time than is left (the page's estimate
    // of the server's clock can trail it by a fraction of a second).
    var s = Math.max(0, Math.floor(ms / 1000)), m = Math.floor(s / 60), rest = s % 60;
    var minutes = m ? FS.t(ngettext("%(n)s minute", "%(n)s minutes", m), { n: m }) : "";
    var seconds = rest || !m ? FS.t(ngettext("%(n)s second", "%(n)s seconds", rest), { n: rest }) : "";
    return minutes && seconds ? FS.t(gettext("%(minutes)s %(seconds)s"), { minutes: minutes, seconds: seconds }) : minutes || seconds;
  }

  function at(ms, now) {  // a time of day, with the date only when it is not within the next day
    if (ms - now > 20 * 3600 * 1000) return FS.localTime(ms, true);
    return FS.timeOfDay(ms);
  }

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    return seconds < 60 ? gettext("less than a minute") : FS.t(gettext("about %(n)s min"), { n: Math.ceil(seconds / 60) });
  }

  // kind: joining | not_open | prequeue | waiting | paused | admitted | over | sold_out | ended
  FS.lineKind = function (place, now) {
    if (!place) return "joining";
    if (place.state === "admitted") return now < Date.parse(place.admitted_until) ? "admitted" : "over";
    if (place.state === "lapsed") return "over";
    if (place.state === "closed") return place.reason === "ended" ? "ended" : "sold_out";
    if (place.state === "waiting" && place.reason === "paused") return "paused";
    return place.state;
  };

  // ctx: {now, soldOutForNow (no unit left, some may come back), trouble (calls are failing)}
  FS.lineWords = function (place, ctx) {
    var kind = FS.lineKind(place, ctx.now);
    var w = { kind: kind, title: "", detail: "", announce: "", tone: "info" };
    if (kind === "joining") {
      w.title = gettext("Taking your place in the line…");
    } else if (kind === "not_open") {
      var opens = at(place.opens_at_ms, ctx.now);
      w.title = FS.t(gettext("The line opens at %(time)s"), { time: opens });
      w.detail = gettext("Keep this page open: it lines you up by itself. The line is shuffled when the sale opens, so arriving early gives no head start.");
      w.announce = FS.t(gettext("The line opens at %(time)s. This page lines you up by itself."), { time: opens });
    } else if (kind === "prequeue") {
      w.title = gettext("You're in the line");
      w.detail = gettext("The line is shuffled when the sale opens: everyone here before the start has the same chance of a place near the front.");
      w.announce = gettext("You're in the line. The line is shuffled when the sale opens.");
    } else if (kind === "waiting" || kind === "paused") {
      var ahead = place.ahead || 0;
      var when = kind === "paused" || ctx.soldOutForNow ? "" : eta(place.eta_seconds);
      var where = ahead ? FS.t(ngettext("%(n)s ahead of you", "%(n)s ahead of you", ahead), { n: ahead.toLocaleString(FS.lang) })
        : gettext("You're next");
      w.title = when ? FS.t(gettext("%(place)s, %(eta)s"), { place: where, eta: when }) : where;
      if (kind === "paused") w.detail = gettext("Admission is paused for a moment. You keep your place.");
      else if (ctx.soldOutForNow) w.detail = place.held_until
        ? FS.t(gettext("Every unit is taken for now; units of unpaid orders come back by %(time)s. You keep your place."),
          { time: at(Date.parse(place.held_until), ctx.now) })
        : gettext("Every unit is taken for now; units of unpaid orders come back. You keep your place.");
      else w.detail = gettext("You keep your place even if you leave; this page updates by itself.");
      w.announce = FS.t(gettext("The sale is open. %(place)s."), { place: w.title });
      if (kind === "paused") w.announce = w.detail;
    } else if (kind === "admitted") {
      var left = Date.parse(place.admitted_until) - ctx.now;
      w.title = FS.t(gettext("It's your turn: buy within %(time)s"), { time: clockText(left) });
      w.detail = FS.t(gettext("Your turn ends at %(time)s."), { time: at(Date.parse(place.admitted_until), ctx.now) });
      w.announce = FS.t(gettext("It's your turn: you have %(time)s to buy."), { time: spoken(left) });
      w.tone = "done";
    } else if (kind === "over") {
      w.title = gettext("Your turn ran out");
      w.detail = gettext("Line up again to take a new place, at the back of the line.");
      w.announce = gettext("Your turn ran out. Press Line up again to take a new place.");
      w.tone = "error";
    } else if (kind === "sold_out") {
      w.title = gettext("Sold out");
      w.detail = gettext("Every unit has been sold. Thank you for waiting.");
      w.announce = gettext("Sold out: every unit has been sold.");
      w.tone = "error";
    } else if (kind === "ended") {
      w.title = gettext("This sale has ended");
      w.announce = gettext("This sale has ended.");
      w.tone = "error";
    }
    if (ctx.trouble) w.detail = FS.t(gettext("Connection problem: trying again… %(detail)s"), { detail: w.detail });
    return w;
  };
})();
