// The sign-in form's "send me a code" button counts down (data-wait seconds) before another
// code may be asked for, then says "send again". Runs again on every htmx swap of the form.
(function () {
  "use strict";
  var timer = null;

  function start() {
    var button = document.getElementById("send-code");
    if (!button) return;
    var left = parseInt(button.getAttribute("data-wait") || "0", 10);
    if (timer) clearInterval(timer);
    timer = null;
    if (!(left > 0)) return;
    var ends = Date.now() + left * 1000;
    function tick() {
      var s = Math.ceil((ends - Date.now()) / 1000);
      if (s <= 0) {
        clearInterval(timer);
        timer = null;
        button.disabled = false;
        button.textContent = button.getAttribute("data-msg-ready");
        return;
      }
      button.disabled = true;
      button.textContent = button.getAttribute("data-msg-wait").replace("{s}", String(s));
    }
    tick();
    timer = setInterval(tick, 250);
  }

  document.addEventListener("DOMContentLoaded", function () { start(); });
  document.addEventListener("htmx:load", function () { start(); });
})();
