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
// own time zone and the page's language.
(function () {
  "use strict";
  if (typeof Intl === "undefined" || !Intl.DateTimeFormat) {
    return;
  }
  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  function localise() {
    var times = document.querySelectorAll("time[data-local][datetime]");
    for (var i = 0; i < times.length; i++) {
      var at = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(at.getTime())) {
        times[i].textContent = format.format(at);
      }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localise);
  } else {
    localise();
  }
})();
