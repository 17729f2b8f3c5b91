// Voucher campaigns: count down to the opening instant, then enable the claim button. The
// server's figure (seconds until opening when the page was drawn) is the start.
(function () {
  "use strict";

  function start(el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10) || 0;
    var n = el.querySelector(".m-countdown-n");
    var button = el.closest("form").querySelector("button[type=submit]");
    var end = Date.now() + left * 1000;
    function tick() {
      var s = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (n) n.textContent = String(s);
      if (s === 0) {
        el.hidden = true;
        button.disabled = false;
        return;
      }
      setTimeout(tick, 250);
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-countdown]").forEach(start);
  });
})();
