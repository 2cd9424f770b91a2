// The library's grid: a lightbox (← → move, Space plays, Esc closes), muted video previews on
// hover or focus, and Shift-click to select a range of cards. Without it, cards are plain links.
(function () {
  "use strict";

  function grid() { return document.getElementById("cards"); }
  function shownItems() { return Array.prototype.slice.call(grid().querySelectorAll(".thumb[data-media]")); }

  // ---- lightbox ----
  var current = null; // the card's .thumb link being shown

  function show(link) {
    var dialog = document.getElementById("lightbox");
    var media = document.getElementById("lightbox-media");
    current = link;
    media.textContent = "";
    var el;
    if (link.getAttribute("data-kind") === "video") {
      el = document.createElement("video");
      el.controls = true;
      el.playsInline = true;
      el.autoplay = true;
      el.loop = true;
    } else {
      el = document.createElement("img");
      el.alt = link.getAttribute("data-caption") || "";
    }
    el.className = "lightbox-item";
    el.src = link.getAttribute("data-media");
    media.appendChild(el);
    document.getElementById("lightbox-caption").textContent = link.getAttribute("data-caption") || "";
    document.getElementById("lightbox-open").href = link.getAttribute("href");
    var items = shownItems();
    var at = items.indexOf(link);
    document.getElementById("lightbox-prev").disabled = at <= 0;
    document.getElementById("lightbox-next").disabled = at < 0 || at >= items.length - 1;
    if (!dialog.open) dialog.showModal();
    if (el.tagName === "VIDEO") { var p = el.play(); if (p && p.catch) p.catch(function () {}); }
  }

  function step(by) {
    if (!current) return;
    var items = shownItems();
    var next = items[items.indexOf(current) + by];
    if (next) show(next);
  }

  function togglePlay() {
    var video = document.querySelector("#lightbox-media video");
    if (!video) return;
    if (video.paused) { var p = video.play(); if (p && p.catch) p.catch(function () {}); } else { video.pause(); }
  }

  function setUpLightbox() {
    var dialog = document.getElementById("lightbox");
    if (!dialog || typeof dialog.showModal !== "function") return;
    document.getElementById("lightbox-prev").addEventListener("click", function () { step(-1); });
    document.getElementById("lightbox-next").addEventListener("click", function () { step(1); });
    document.getElementById("lightbox-close").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
      else if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
      // Space plays or pauses (a focused video's own controls already do it themselves)
      else if (e.key === " " && e.target.tagName !== "VIDEO" && document.querySelector("#lightbox-media video")) { e.preventDefault(); togglePlay(); }
    });
    // a click on the backdrop (outside the dialog's box) closes it too
    dialog.addEventListener("click", function (e) { if (e.target === dialog) dialog.close(); });
    dialog.addEventListener("close", function () {
      document.getElementById("lightbox-media").textContent = ""; // stops a playing video
      if (current) current.focus();
    });
    grid().addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest(".thumb[data-media]");
      if (!link || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey || e.button !== 0) return;
      e.preventDefault();
      show(link);
    });
  }

  // ---- hover previews: the video is fetched only once a person points at or focuses its card ----
  function preview(link, on) {
    var video = link.querySelector("video.preview");
    if (on && !video) {
      video = document.createElement("video");
      video.className = "preview";
      video.muted = true;
      video.loop = true;
      video.playsInline = true;
      video.setAttribute("aria-hidden", "true");
      // a preview link: hovering is not opening, so its fetches are not recorded
      video.src = link.getAttribute("data-preview") || link.getAttribute("data-media");
      link.appendChild(video);
    }
    if (!video) return;
    if (on) {
      link.classList.add("previewing");
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    } else {
      link.classList.remove("previewing");
      video.pause();
    }
  }

  function videoLink(target) {
    return target && target.closest ? target.closest("#cards .thumb[data-kind=video]") : null;
  }

  function setUpPreviews() {
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
    document.addEventListener("mouseover", function (e) {
      var link = videoLink(e.target);
      if (link && !link.contains(e.relatedTarget)) preview(link, true);
    });
    document.addEventListener("mouseout", function (e) {
      var link = videoLink(e.target);
      if (link && !link.contains(e.relatedTarget)) preview(link, false);
    });
    document.addEventListener("focusin", function (e) { var link = videoLink(e.target); if (link) preview(link, true); });
    document.addEventListener("focusout", function (e) { var link = videoLink(e.target); if (link) preview(link, false); });
  }

  // ---- Shift-click selects the range from the last clicked card ----
  var anchor = null;

  function boxes() { return Array.prototype.slice.call(grid().querySelectorAll("input[type=checkbox][name=id]")); }

  function selectRange(from, to, checked) {
    var all = boxes();
    var a = all.indexOf(from), b = all.indexOf(to);
    if (a < 0 || b < 0) return;
    all.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (box) { box.checked = checked; });
  }

  function setUpSelection() {
    grid().addEventListener("click", function (e) {
      var tile = e.target.closest && e.target.closest("li.tile");
      var box = tile && tile.querySelector("input[type=checkbox][name=id]");
      if (!box) return;
      if (e.target === box) {
        if (e.shiftKey && anchor) selectRange(anchor, box, box.checked);
      } else if (e.shiftKey) {
        e.preventDefault();
        if (anchor) selectRange(anchor, box, true); else box.checked = !box.checked;
      } else {
        return;
      }
      anchor = box;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!grid()) return;
    setUpLightbox();
    setUpPreviews();
    setUpSelection();
  });
})();
