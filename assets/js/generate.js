// The New generation page: submits without leaving the page (results appear below the
// form and follow their generation live), Ctrl/⌘+Enter in the prompt, compare mode, and
// reference files by drag and drop or paste with previews. Without this script the form
// posts and opens the generation's page, as a plain form does.
(function () {
  "use strict";

  var MOST_COMPARED = 4;

  function form() { return document.getElementById("generate-form"); }

  // the page's words, in its language: data-msg-* attributes of the form ({n}, {name} …
  // are filled in here)
  function msg(name, values) {
    var f = form();
    var text = (f && f.getAttribute("data-msg-" + name)) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function comparing() {
    var toggle = document.getElementById("compare-toggle");
    return !!toggle && toggle.checked;
  }

  // ---- messages next to the form ----

  function say(html) {
    var box = document.getElementById("generate-feedback");
    if (box) { box.innerHTML = html; }
  }

  function sayText(text, isError) {
    var p = document.createElement("p");
    p.className = isError ? "error" : "muted";
    if (isError) { p.setAttribute("role", "alert"); }
    p.textContent = text;
    say("");
    document.getElementById("generate-feedback").appendChild(p);
  }

  // ---- submitting on the same page ----

  function showResults(html) {
    var section = document.getElementById("results");
    var grid = document.getElementById("result-grid");
    if (!section || !grid) { return; }
    section.hidden = false;
    section.parentElement.classList.add("has-results");
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var cards = Array.prototype.slice.call(holder.children);
    for (var i = cards.length - 1; i >= 0; i--) {
      grid.insertBefore(cards[i], grid.firstChild);
    }
    cards.forEach(function (card) {
      if (window.htmx) { window.htmx.process(card); }
    });
    if (cards.length) { cards[0].scrollIntoView({ block: "nearest" }); }
    return cards.filter(function (c) { return c.classList.contains("result-card"); }).length;
  }

  function body(f) {
    var data = new FormData(f);
    if (comparing()) {
      // each compared model gets the prompt only
      Array.from(data.keys()).forEach(function (k) {
        if (k.indexOf("ref_") === 0 || k.indexOf("reuse_") === 0) { data.delete(k); }
      });
    }
    return data;
  }

  function submit(event) {
    var f = event.target;
    if (f.id !== "generate-form") { return; }
    event.preventDefault();
    var button = document.getElementById("generate-submit");
    if (button && button.getAttribute("aria-busy") === "true") { return; }
    if (comparing() && picked().length === 0) {
      sayText(msg("pick-models"), true);
      return;
    }
    var url = comparing() ? f.dataset.compareAction : f.action;
    if (button) { button.setAttribute("aria-busy", "true"); button.disabled = true; }
    fetch(url, { method: "POST", body: body(f), credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        return response.text().then(function (text) { return { response: response, text: text }; });
      })
      .then(function (answer) {
        if (answer.response.ok && answer.text.indexOf('class="result-card"') === -1) {
          // not a result: most likely a sign-in page after the session ended
          sayText(msg("session-ended"), true);
        } else if (answer.response.ok) {
          document.dispatchEvent(new CustomEvent("reelvault:credits", { detail: answer.response.headers.get("X-Credits-Available") }));
          var made = showResults(answer.text);
          sayText(made === 1 ? msg("submitted-one") : msg("submitted-many", { n: made }), false);
          if (answer.text.indexOf('class="error"') !== -1) {
            say(answer.text.slice(answer.text.indexOf("<p class=\"error\"")));
          }
        } else if (answer.text.indexOf('<p class="error"') === 0) {
          say(answer.text);
        } else {
          sayText(msg("submit-failed", { status: answer.response.status + " " + answer.response.statusText }), true);
        }
      })
      .catch(function () {
        sayText(msg("unreachable"), true);
      })
      .then(function () {
        if (button) { button.removeAttribute("aria-busy"); button.disabled = false; }
      });
  }

  // ---- compare ----

  function picked() {
    return Array.from(document.querySelectorAll("#compare-models input[name=model]:checked"));
  }

  function limitCompared() {
    var full = picked().length >= MOST_COMPARED;
    document.querySelectorAll("#compare-models input[name=model]").forEach(function (box) {
      box.disabled = full && !box.checked;
    });
  }

  function setComparing(on) {
    var f = form();
    var list = document.getElementById("compare-models");
    var single = document.getElementById("single-model");
    var button = document.getElementById("generate-submit");
    if (!f || !list) { return; }
    list.hidden = !on;
    list.disabled = !on;
    if (single) { single.disabled = on; }
    f.classList.toggle("comparing", on);
    if (button) { button.textContent = on ? msg("compare") : msg("generate"); }
    limitCompared();
  }

  function changed(event) {
    var t = event.target;
    if (t.id === "compare-toggle") { setComparing(t.checked); return; }
    if (t.name === "model" && t.closest("#compare-models")) { limitCompared(); return; }
    if (t.type === "file" && t.closest(".dropzone")) { preview(t.closest(".dropzone")); }
  }

  // ---- references: drop, paste, preview ----

  function fits(zone, file) {
    return !!file && !!file.type && file.type.indexOf(zone.dataset.media + "/") === 0;
  }

  function attach(zone, file) {
    var input = zone.querySelector("input[type=file]");
    if (!fits(zone, file)) {
      sayText(zone.querySelector("label").textContent.trim() + " takes " + zone.dataset.media + " files; " + (file ? file.name || "that" : "that") + " is not one.", true);
      return;
    }
    var list = new DataTransfer();
    list.items.add(file);
    input.files = list.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function preview(zone) {
    var input = zone.querySelector("input[type=file]");
    var box = zone.querySelector(".previews");
    if (zone.dataset.previewUrl) { URL.revokeObjectURL(zone.dataset.previewUrl); delete zone.dataset.previewUrl; }
    box.textContent = "";
    var file = input.files && input.files[0];
    if (!file) { return; }
    var url = URL.createObjectURL(file);
    zone.dataset.previewUrl = url;
    var figure = document.createElement("figure");
    figure.className = "preview";
    var media;
    if (file.type.indexOf("image/") === 0) {
      media = document.createElement("img");
      media.alt = msg("preview-of", { name: file.name });
    } else if (file.type.indexOf("video/") === 0) {
      media = document.createElement("video");
      media.muted = true;
      media.controls = true;
    } else {
      media = document.createElement("audio");
      media.controls = true;
    }
    media.src = url;
    var caption = document.createElement("figcaption");
    caption.textContent = file.name || msg("pasted-image");
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary remove-reference";
    remove.textContent = msg("remove");
    remove.setAttribute("aria-label", msg("remove-named", { name: file.name || msg("the-pasted-image") }));
    remove.addEventListener("click", function () {
      input.value = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.focus();
    });
    caption.appendChild(document.createTextNode(" "));
    caption.appendChild(remove);
    figure.appendChild(media);
    figure.appendChild(caption);
    box.appendChild(figure);
  }

  function zoneOf(event) {
    return event.target.closest ? event.target.closest(".dropzone") : null;
  }

  function dragOver(event) {
    var zone = zoneOf(event);
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.add("dragging");
  }

  function dragLeave(event) {
    var zone = zoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) { zone.classList.remove("dragging"); }
  }

  function drop(event) {
    var zone = zoneOf(event);
    if (!zone) { return; }
    event.preventDefault();
    zone.classList.remove("dragging");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) { attach(zone, files[0]); }
  }

  // a pasted image goes to the focused reference, else the first empty image reference
  function paste(event) {
    var files = event.clipboardData ? Array.from(event.clipboardData.files || []) : [];
    var image = files.find(function (f) { return f.type.indexOf("image/") === 0; });
    if (!image || comparing()) { return; }
    var zones = Array.from(document.querySelectorAll(".dropzone[data-media=image]"));
    if (!zones.length) { return; }
    var focused = zoneOf(event);
    var zone = focused && focused.dataset.media === "image" ? focused : zones.find(function (z) {
      return !z.querySelector("input[type=file]").files.length;
    }) || zones[0];
    event.preventDefault();
    attach(zone, image);
    zone.scrollIntoView({ block: "nearest" });
  }

  // ---- start, and again when a model change redraws the form ----

  function start() {
    var toggle = document.getElementById("compare-switch");
    if (toggle) { toggle.hidden = false; }
    document.querySelectorAll(".dropzone .drop-hint").forEach(function (hint) { hint.hidden = false; });
  }

  document.addEventListener("submit", submit);
  document.addEventListener("change", changed);
  document.addEventListener("dragover", dragOver);
  document.addEventListener("dragenter", dragOver);
  document.addEventListener("dragleave", dragLeave);
  document.addEventListener("drop", drop);
  document.addEventListener("paste", paste);
  document.addEventListener("htmx:afterSettle", start);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
