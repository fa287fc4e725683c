// Roster's console pages: when this browser's session ends elsewhere (signed out in
// another tab, revoked from another device, the account deactivated by an
// administrator), the open page does not stay on screen as if nothing happened: it goes
// to the sign-in page, which returns here afterwards. Everything else on the console
// works without this script.
(function () {
  "use strict";
  var EVERY_MS = 5000;
  function check() {
    fetch("/account/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (answer.status === 401) {
          var here = location.pathname + location.search;
          location.assign("/login?return_to=" + encodeURIComponent(here));
        }
      })
      .catch(function () {
        // Offline or Roster restarting: try again at the next tick.
      });
  }
  setInterval(check, EVERY_MS);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      check();
    }
  });
})();

// Times (`<time datetime data-local>`, written in UTC by the server) in this browser's
// own time zone and the page's language; the time of day in a `<span class="clock">`, as
// the server writes it, which the stylesheet keeps on one line.
(function () {
  "use strict";
  if (typeof Intl === "undefined" || !Intl.DateTimeFormat) {
    return;
  }
  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  var OF_THE_CLOCK = { hour: true, minute: true, second: true, dayPeriod: true };
  // Writes `at` into `time`: the date as text, the time of day (from its first part to
  // its last, "6:02 PM", "下午6:02") in its span.
  function show(time, at) {
    var parts = format.formatToParts ? format.formatToParts(at) : [];
    var first = -1;
    var last = -1;
    for (var i = 0; i < parts.length; i++) {
      if (OF_THE_CLOCK[parts[i].type]) {
        first = first < 0 ? i : first;
        last = i;
      }
    }
    if (first < 0) {
      time.textContent = format.format(at);
      return;
    }
    function text(from, to) {
      return parts.slice(from, to).map(function (part) { return part.value; }).join("");
    }
    var clock = document.createElement("span");
    clock.className = "clock";
    clock.textContent = text(first, last + 1);
    time.textContent = text(0, first);
    time.appendChild(clock);
    time.appendChild(document.createTextNode(text(last + 1, parts.length)));
  }
  function localise() {
    var times = document.querySelectorAll("time[data-local][datetime]");
    for (var i = 0; i < times.length; i++) {
      var at = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(at.getTime())) {
        show(times[i], at);
      }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localise);
  } else {
    localise();
  }
})();
