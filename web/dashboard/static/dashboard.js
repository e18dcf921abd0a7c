// Live pages: on each "change" event of the dashboard's event stream, fetch this page again and swap
// its <main id="live">. A page where the operator is typing a reason is left alone until they are done.
(function () {
  "use strict";
  var body = document.body;
  if (!body.dataset.live || !window.EventSource) return;
  var dot = document.getElementById("live-state");
  var busy = false, again = false;

  function typing() {
    var main = document.getElementById("live");
    var fields = main.querySelectorAll("input[name=reason]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value || document.activeElement === fields[i]) return true;
    }
    return false;
  }

  function refresh() {
    if (busy) { again = true; return; }
    if (typing()) return;
    busy = true;
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh && !typing()) document.getElementById("live").innerHTML = fresh.innerHTML;
      })
      .finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var source = new EventSource(body.dataset.events);
  source.addEventListener("hello", function () { if (dot) dot.className = "on"; });
  source.addEventListener("change", refresh);
  source.onerror = function () { if (dot) dot.className = "off"; };
})();
