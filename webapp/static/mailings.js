/* Mailings to registered people, progressive enhancement only (the pages work without it):
   - the compose form counts the people its filters select, as they change;
   - the progress of a mailing being sent updates itself every two seconds, from its JSON. */
(function () {
  "use strict";
  var POLL_MS = 2000;

  function audienceCount(form) {
    var output = document.getElementById("audience-count");
    var names = ["status", "actor_type", "workshop", "answer", "presence"];
    function refresh() {
      var params = new URLSearchParams();
      names.forEach(function (name) {
        var field = form.elements[name];
        if (field) { params.set(name, field.value); }
      });
      fetch(form.getAttribute("data-audience-count") + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (count) { if (count) { output.textContent = count.text; } })
        .catch(function () { /* the count shown stays; the next change tries again */ });
    }
    form.addEventListener("change", function (event) {
      if (names.indexOf(event.target.name) !== -1) { refresh(); }
    });
  }

  function progress(section) {
    var url = section.getAttribute("data-progress-url");
    var bar = document.getElementById("progress-bar");
    function show(data) {
      ["total", "sent", "failed", "cancelled", "left"].forEach(function (name) {
        var cell = section.querySelector('[data-field="' + name + '"]');
        if (cell) { cell.textContent = data[name]; }
      });
      ["status", "per_minute", "estimated_end"].forEach(function (name) {
        var cell = section.querySelector('[data-field="' + name + '"]');
        if (cell) { cell.textContent = data.texts[name]; }
      });
      bar.max = data.total || 1;
      bar.value = data.total ? data.total - data.left : 1;
    }
    function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return setTimeout(poll, POLL_MS * 2); }
          show(data);
          if (data.status === "sending") {
            setTimeout(poll, POLL_MS);
          } else {
            window.location.reload();  // the per-recipient log, as it ended
          }
        })
        .catch(function () { setTimeout(poll, POLL_MS * 2); });
    }
    if (section.getAttribute("data-status") === "sending") { setTimeout(poll, POLL_MS); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-audience-count]");
    if (form) { audienceCount(form); }
    var section = document.querySelector("[data-progress-url]");
    if (section) { progress(section); }
  });
})();
