// reelvault page behaviour: local times, copy buttons, confirmations. No inline scripts anywhere.
(function () {
  "use strict";
  // the page's language (<html lang>): dates and numbers are written the way it writes them
  var pageLang = document.documentElement.lang || undefined;
  // the time zone the person picked, else the browser's (which the server learns from the
  // "tz" cookie, for the dates it writes and the library's days)
  var pickedZone = document.documentElement.getAttribute("data-time-zone") || undefined;
  function reportZone() {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone || document.cookie.split("; ").indexOf("tz=" + encodeURIComponent(zone)) >= 0) return;
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  reportZone();
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        el.title = el.textContent;
        var options = { dateStyle: "medium", timeStyle: "short" };
        if (pickedZone) options.timeZone = pickedZone;
        try { el.textContent = d.toLocaleString(pageLang, options); } catch (e) { /* a zone this browser lacks: keep the server's text */ }
      }
    });
  }
  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target || !navigator.clipboard) return;
        navigator.clipboard.writeText(target.textContent.trim()).then(function () {
          button.textContent = button.getAttribute("data-copied") || button.textContent;
        });
      });
    });
  }
  // a submit button with data-confirm asks first (the server refuses nothing it would not anyway)
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) e.preventDefault();
  });
  // the top bar's menus (<details>): one open at a time; a click elsewhere or Escape closes them
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
  // Ctrl+Enter (⌘+Enter) inside a form marked data-ctrl-enter submits it
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
    var form = e.target.closest && e.target.closest("form[data-ctrl-enter]");
    if (!form) return;
    e.preventDefault();
    form.requestSubmit();
  });
  // the credits left after a submit the page made without reloading (X-Credits-Available)
  function showCredits(value) {
    if (value === null || value === undefined || value === "") return;
    var top = document.getElementById("top-credits");
    var n = Number(value);
    if (top && !isNaN(n)) {
      var template = top.getAttribute(n === 1 ? "data-one" : "data-other") || "{n}";
      top.textContent = template.replace("{n}", n.toLocaleString(pageLang));
    }
    document.querySelectorAll("[data-credits]").forEach(function (el) { el.textContent = value; });
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.xhr) showCredits(e.detail.xhr.getResponseHeader("X-Credits-Available"));
  });
  document.addEventListener("reelvault:credits", function (e) { showCredits(e.detail); });
  // a form posted by htmx that names an element in data-errors-into shows an error answer
  // (422, 402 …) there instead of where its results go; a success clears it
  document.addEventListener("htmx:beforeSwap", function (e) {
    var form = e.detail.requestConfig && e.detail.requestConfig.elt;
    var into = form && form.getAttribute && form.getAttribute("data-errors-into");
    if (!into) return;
    var box = document.getElementById(into);
    if (!box) return;
    if (e.detail.xhr.status >= 400) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      e.detail.target = box;
      e.detail.swapOverride = "innerHTML";
    } else {
      box.innerHTML = "";
    }
  });
  function init(root) {
    localTimes(root);
    copyButtons(root);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();
