// Print buttons ([data-print]) on console pages: the page's print stylesheet shows only what is
// meant for paper. No inline scripts (the CSP forbids them), so the handler is bound here.
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (target instanceof Element && target.closest("[data-print]")) {
      evt.preventDefault();
      window.print();
    }
  });
})();
