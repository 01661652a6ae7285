/* qbank practice site: one variant at a time ("Another one" moves to the next), and the index
   shows which pages you have practised. Plain script, no network, works from file://. */
(function () {
  "use strict";

  function storage() {
    try {
      var probe = "qbank:probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null; // private mode, or file:// in a browser that refuses storage: no progress, no errors
    }
  }

  function showVariant() {
    var sections = document.querySelectorAll("[data-qbank-variant]");
    if (sections.length < 2) return;
    var wanted = decodeURIComponent((window.location.hash || "").slice(1));
    var current = null;
    sections.forEach(function (s) { if (s.id === wanted) current = s; });
    if (!current) current = sections[0];
    sections.forEach(function (s) { s.hidden = s !== current; });
    if (wanted && current.id === wanted) {
      current.setAttribute("tabindex", "-1");
      current.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }

  function markIndex() {
    var store = storage();
    if (!store) return;
    document.querySelectorAll("[data-qbank-progress]").forEach(function (link) {
      var prefix = "qbank:" + link.getAttribute("data-qbank-progress") + ":";
      var done = 0;
      for (var i = 0; i < store.length; i++) {
        var key = store.key(i);
        if (key && key.indexOf(prefix) === 0 && /"correct":\s*true/.test(store.getItem(key) || "")) done++;
      }
      if (done > 0) {
        var badge = document.createElement("span");
        badge.className = "qbank-done";
        badge.textContent = " \u2713 " + done + " solved";
        link.after(badge);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showVariant();
    window.addEventListener("hashchange", showVariant);
    markIndex();
  });
})();
