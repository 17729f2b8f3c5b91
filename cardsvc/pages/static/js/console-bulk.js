// Bulk selection on console tables: a header checkbox [data-pick-all=NAME] ticks every
// checkbox named NAME on the page, and [data-bulk-count] says how many are ticked.
(function () {
  "use strict";

  function boxes(name) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][name="' + name + '"]')
    );
  }

  function refresh() {
    var all = document.querySelector("[data-pick-all]");
    var count = document.querySelector("[data-bulk-count]");
    if (!all) return;
    var list = boxes(all.getAttribute("data-pick-all"));
    var ticked = list.filter(function (b) { return b.checked; }).length;
    all.checked = list.length > 0 && ticked === list.length;
    all.indeterminate = ticked > 0 && ticked < list.length;
    if (count) {
      var en = document.documentElement.lang === "en";
      count.textContent = count.getAttribute(en ? "data-en" : "data-zh").replace("{n}", ticked);
    }
  }

  document.addEventListener("change", function (evt) {
    var target = evt.target;
    if (!(target instanceof HTMLInputElement)) return;
    var name = target.getAttribute("data-pick-all");
    if (name) {
      boxes(name).forEach(function (b) { b.checked = target.checked; });
    }
    refresh();
  });
  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
