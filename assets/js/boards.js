// A board's grid for its editors: drag a card onto another to move it there; the new order is
// saved at once (POST of every item's id, in order). The ↑ ↓ buttons do the same from the
// keyboard, and work without this script.
(function () {
  "use strict";

  var dragged = null;

  function grid() { return document.getElementById("cards"); }
  function tiles() { return Array.prototype.slice.call(grid().querySelectorAll("li.tile[data-id]")); }

  function refreshButtons() {
    var all = tiles();
    all.forEach(function (tile, at) {
      var up = tile.querySelector(".move-up"), down = tile.querySelector(".move-down");
      if (up) up.disabled = at === 0;
      if (down) down.disabled = at === all.length - 1;
    });
  }

  function save() {
    var body = new URLSearchParams();
    body.append("csrf_token", grid().getAttribute("data-csrf"));
    tiles().forEach(function (tile) { body.append("id", tile.getAttribute("data-id")); });
    grid().setAttribute("aria-busy", "true");
    fetch(grid().getAttribute("data-order"), { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
      .then(function () { grid().removeAttribute("aria-busy"); grid().setAttribute("data-saved", String(Date.now())); })
      .catch(function () { window.location.reload(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = grid();
    if (!list || !list.getAttribute("data-order")) return;
    list.addEventListener("dragstart", function (e) {
      dragged = e.target.closest && e.target.closest("li.tile[data-id]");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.getAttribute("data-id"));
    });
    list.addEventListener("dragover", function (e) {
      if (!dragged) return;
      var over = e.target.closest && e.target.closest("li.tile[data-id]");
      if (!over || over === dragged) return;
      e.preventDefault();
      var all = tiles();
      if (all.indexOf(over) > all.indexOf(dragged)) over.after(dragged); else over.before(dragged);
    });
    list.addEventListener("drop", function (e) { if (dragged) e.preventDefault(); });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      refreshButtons();
      save();
    });
  });
})();
