// Programme editor: show only the benefit fields of the chosen kind. Without this script every
// field shows and the server uses those of the chosen kind.
(function () {
  "use strict";

  function sync(form) {
    var select = form.querySelector("[data-kind-select]");
    if (!select) return;
    var kind = select.value;
    form.querySelectorAll(".kind-field").forEach(function (el) {
      el.hidden = !el.classList.contains("kind-" + kind);
    });
  }

  function init(root) {
    var form = (root || document).querySelector("#programme-form");
    if (form) sync(form);
  }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches("[data-kind-select]")) sync(evt.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // The form comes back from the server with errors: hide the other kinds' fields again.
  document.addEventListener("htmx:afterSwap", function () { init(document); });
})();

// Search pickers: choosing a match adds a chip (a hidden input with the id); × removes it.
(function () {
  "use strict";

  function chip(field, id, name) {
    var li = document.createElement("li");
    li.className = "chip";
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = field;
    input.value = id;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("data-remove-chip", "");
    remove.setAttribute("aria-label", (document.documentElement.lang === "en" ? "Remove " : "移除 ") + name);
    remove.textContent = "×";
    li.appendChild(input);
    li.appendChild(document.createTextNode(name + " "));
    li.appendChild(remove);
    return li;
  }

  document.addEventListener("click", function (evt) {
    var pick = evt.target.closest("[data-pick]");
    if (pick) {
      var box = pick.closest(".picker");
      var list = box.querySelector(".chips");
      var id = pick.getAttribute("data-id");
      var taken = Array.prototype.some.call(list.querySelectorAll("input"), function (i) {
        return i.value === id;
      });
      if (!taken) list.appendChild(chip(pick.getAttribute("data-pick"), id, pick.getAttribute("data-name")));
      box.querySelector(".picker-box").innerHTML = "";
      var search = box.querySelector("input[type=search]");
      search.value = "";
      search.focus();
      return;
    }
    var remove = evt.target.closest("[data-remove-chip]");
    if (remove) remove.closest(".chip").remove();
  });
})();
