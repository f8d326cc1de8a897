// What the sale page says about the shopper's place in the line: a title, a detail, the sentence
// announced when the state changes, and a tone. Words only; sale.js draws them.
(function () {
  "use strict";
  var FS = (window.FS = window.FS || {});

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function clockText(ms) {  // 1:58, or 1:02:03 for turns over an hour
    var s = Math.max(0, Math.ceil(ms / 1000));
    var two = function (n) { return String(n).padStart(2, "0"); };
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s % 60);
  }

  function spoken(ms) {  // "1 minute 58 seconds", for the announcement
    var s = Math.max(0, Math.ceil(ms / 1000)), m = Math.floor(s / 60);
    return (m ? plural(m, "minute", "minutes") + (s % 60 ? " " : "") : "") + (s % 60 || !m ? plural(s % 60, "second", "seconds") : "");
  }

  function at(ms, now) {  // a time of day, with the date only when it is not within the next day
    if (ms - now > 20 * 3600 * 1000) return FS.localTime(ms, true);
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    return seconds < 60 ? "less than a minute" : "about " + Math.ceil(seconds / 60) + " min";
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
      w.title = "Taking your place in the line…";
    } else if (kind === "not_open") {
      var opens = at(place.opens_at_ms, ctx.now);
      w.title = "The line opens at " + opens;
      w.detail = "Keep this page open: it lines you up by itself. The line is shuffled when the sale opens, so arriving early gives no head start.";
      w.announce = w.title + ". This page lines you up by itself.";
    } else if (kind === "prequeue") {
      w.title = "You're in the line";
      w.detail = "The line is shuffled when the sale opens: everyone here before the start has the same chance of a place near the front.";
      w.announce = "You're in the line. The line is shuffled when the sale opens.";
    } else if (kind === "waiting" || kind === "paused") {
      var ahead = place.ahead || 0;
      var when = kind === "paused" || ctx.soldOutForNow ? "" : eta(place.eta_seconds);
      w.title = (ahead ? ahead.toLocaleString() + " ahead of you" : "You're next") + (when ? ", " + when : "");
      if (kind === "paused") w.detail = "Admission is paused for a moment. You keep your place.";
      else if (ctx.soldOutForNow) w.detail = "Every unit is taken for now; units of unpaid orders come back" +
        (place.held_until ? " by " + at(Date.parse(place.held_until), ctx.now) : "") + ". You keep your place.";
      else w.detail = "You keep your place even if you leave; this page updates by itself.";
      w.announce = "The sale is open. " + w.title + ".";
      if (kind === "paused") w.announce = w.detail;
    } else if (kind === "admitted") {
      var left = Date.parse(place.admitted_until) - ctx.now;
      w.title = "It's your turn: buy within " + clockText(left);
      w.detail = "Your turn ends at " + at(Date.parse(place.admitted_until), ctx.now) + ".";
      w.announce = "It's your turn: you have " + spoken(left) + " to buy.";
      w.tone = "done";
    } else if (kind === "over") {
      w.title = "Your turn ran out";
      w.detail = "Line up again to take a new place, at the back of the line.";
      w.announce = "Your turn ran out. Press Line up again to take a new place.";
      w.tone = "error";
    } else if (kind === "sold_out") {
      w.title = "Sold out";
      w.detail = "Every unit has been sold. Thank you for waiting.";
      w.announce = "Sold out: every unit has been sold.";
      w.tone = "error";
    } else if (kind === "ended") {
      w.title = "This sale has ended";
      w.announce = w.title + ".";
      w.tone = "error";
    }
    if (ctx.trouble) w.detail = "Connection problem: trying again… " + w.detail;
    return w;
  };
})();
