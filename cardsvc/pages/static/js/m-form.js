// Member forms: when a form comes back with an error summary, the first field with a problem
// takes the focus (and the screen scrolls to it); a link in the summary focuses its field.
(function () {
  "use strict";

  function focusField(id) {
    var el = document.getElementById(id);
    if (!el) return;
    if (el.tagName === "FIELDSET") el = el.querySelector("input, select") || el;
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center" });
  }

  function onSwap(root) {
    var summary = root.querySelector && root.querySelector("[data-error-summary]");
    if (!summary) return;
    var first = summary.querySelector("[data-focus]");
    if (first) focusField(first.getAttribute("data-focus"));
    else summary.focus();
  }

  document.addEventListener("htmx:load", function (evt) { onSwap(evt.target); });
  document.addEventListener("click", function (evt) {
    var link = evt.target.closest && evt.target.closest("[data-error-summary] [data-focus]");
    if (!link) return;
    evt.preventDefault();
    focusField(link.getAttribute("data-focus"));
  });
})();
