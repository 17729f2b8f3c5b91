// Shared by every page. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  window.uc = window.uc || {};
  window.uc.csrfToken = csrfToken;

  document.addEventListener("htmx:configRequest", function (evt) {
    var token = csrfToken();
    if (token) evt.detail.headers["X-CSRF-Token"] = token;
  });

  // Problem details come back as 4xx fragments (see cardsvc/pages/errors.py): show them
  // instead of htmx's default of ignoring error responses.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status >= 400 && status < 600) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // A request that could not reach the server at all (offline, server down).
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var en = document.documentElement.lang === "en";
    flash.innerHTML = "";
    var div = document.createElement("div");
    div.className = "alert alert-error";
    div.setAttribute("role", "alert");
    div.textContent = en ? "Network error: check your connection and try again." : "网络连接失败，请检查网络后重试。";
    flash.appendChild(div);
  });
})();
