// Voucher campaigns: count down to the opening instant, then enable the claim (or lottery
// entry) button without a reload. The start is the server's figure (milliseconds until the
// opening when the page was drawn) measured as elapsed time on the browser's clock, so a phone
// whose clock is set wrong still opens at the server's instant (only the elapsed time counts).
(function () {
  "use strict";

  function now() {
    return Date.now(); // the wall clock keeps running while a phone sleeps
  }

  function start(el) {
    var left = parseInt(el.getAttribute("data-countdown-ms"), 10) || 0;
    var n = el.querySelector(".m-countdown-n");
    var button = el.closest("form").querySelector("button[type=submit]");
    var end = now() + left;
    function tick() {
      var ms = end - now();
      if (n) n.textContent = String(Math.max(0, Math.ceil(ms / 1000)));
      if (ms <= 0) {
        el.hidden = true;
        button.disabled = false;
        return;
      }
      setTimeout(tick, Math.min(250, Math.max(10, ms)));
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-countdown-ms]").forEach(start);
  });
})();
