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
