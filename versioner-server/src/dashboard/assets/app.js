// Versioner dashboard: live updates. Every page works without this script; with it, the part
// of a page marked `data-live` is refreshed in place when the server's event stream
// (/ui/events, fed by the outbox) reports a committed event. The stream resumes after the last
// event seen (Last-Event-ID, or ?after=N on a fresh connection), across a server restart too.
"use strict";
(function () {
  var live = document.querySelector("[data-live]");
  if (!live || !window.EventSource) return;
  var last = live.getAttribute("data-seq") || "0";
  var source = null;
  var timer = null;
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected && r.url.indexOf("/ui/sign-in") !== -1) {
          // The session ended (expired, signed out elsewhere, key revoked): sign in again.
          window.location.assign(r.url);
          throw new Error("signed out");
        }
        if (r.redirected || !r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-live]");
        var current = document.querySelector("[data-live]");
        if (fresh && current) {
          current.innerHTML = fresh.innerHTML;
          current.setAttribute("data-seq", fresh.getAttribute("data-seq") || last);
          current.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () { /* the next event or reconnect refreshes again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 100);
  }

  function connect() {
    source = new EventSource("/ui/events?after=" + encodeURIComponent(last));
    source.onmessage = function (m) {
      if (m.lastEventId) last = m.lastEventId;
      schedule();
    };
    source.onopen = function () { document.documentElement.removeAttribute("data-offline"); };
    source.onerror = function () {
      document.documentElement.setAttribute("data-offline", "true");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (the server answered an error while restarting, or the
        // session ended): start over from the last event seen, and refresh once, which also
        // notices a session that ended.
        setTimeout(function () { refresh(); connect(); }, 1000);
      }
    };
  }
  connect();
})();
