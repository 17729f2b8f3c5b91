// The member's rotating card QR: fetches a few upcoming codes (SVG) from /m/card/codes, shows
// the newest one already valid, switches to the next before the shown one expires, counts down,
// and says so when the phone is offline or the card is suspended or revoked.
// Times come from the server as "in N ms" and are kept on this phone's clock, so a phone whose
// clock is wrong still switches on time. No inline script or style anywhere (strict CSP).
(function () {
  "use strict";
  var box = document.getElementById("qr");
  if (!box) return;
  var image = document.getElementById("qr-image");
  var status = document.getElementById("qr-status");
  var codes = []; // {svg, start, refresh, expires}: ms on this phone's clock
  var shown = null;
  var fetching = false;
  var nextFetchAt = 0;
  var retryMs = 5000;
  var problem = null; // the code of the last problem answer (card_suspended, card_revoked, …)
  var networkDown = false;

  function text(name, seconds) {
    var m = box.getAttribute("data-msg-" + name) || box.getAttribute("data-msg-error") || "";
    return m.replace("{s}", String(seconds));
  }

  function setStatus(message, kind) {
    if (status.textContent !== message) status.textContent = message;
    status.className = "m-qr-status" + (kind ? " is-" + kind : "");
  }

  function show(code) {
    if (shown === code) return;
    shown = code;
    if (!code) {
      image.replaceChildren();
      showNumber(null);
      box.classList.add("is-stale");
      return;
    }
    var svg = new DOMParser().parseFromString(code.svg, "image/svg+xml").documentElement;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    image.replaceChildren(document.importNode(svg, true));
    box.classList.remove("is-stale");
    showNumber(code);
  }

  // The numeric one-time code and its barcode, changed with the QR they stand for.
  var numberBox = document.getElementById("qr-number");
  function showNumber(code) {
    if (!numberBox) return;
    var has = !!(code && code.number && code.barcode);
    numberBox.hidden = !has;
    if (!has) return;
    document.getElementById("qr-digits").textContent = code.number;
    var bar = new DOMParser().parseFromString(code.barcode, "image/svg+xml").documentElement;
    bar.setAttribute("aria-hidden", "true");
    bar.setAttribute("focusable", "false");
    document.getElementById("qr-barcode").replaceChildren(document.importNode(bar, true));
  }

  function current(now) {
    // The newest code that is already valid and not about to expire.
    var best = null;
    for (var i = 0; i < codes.length; i++) {
      var c = codes[i];
      if (c.start <= now && now < c.expires && (!best || c.start > best.start)) best = c;
    }
    return best;
  }

  function offline() {
    return networkDown || navigator.onLine === false;
  }

  function tick() {
    var now = Date.now();
    codes = codes.filter(function (c) { return c.expires > now; });
    box.classList.toggle("is-problem", !!problem);
    if (problem) {
      show(null);
      setStatus(text(problem), "error");
    } else {
      var c = current(now);
      show(c);
      if (!c) {
        setStatus(offline() ? text("expired") : text("error"), offline() ? "error" : "warn");
      } else if (offline()) {
        setStatus(text("offline", Math.ceil((c.expires - now) / 1000)), "warn");
      } else {
        setStatus(text("refresh", Math.max(0, Math.ceil((c.refresh - now) / 1000))), "");
      }
    }
    if (!fetching && now >= nextFetchAt && navigator.onLine !== false) load();
  }

  function load() {
    fetching = true;
    var asked = Date.now();
    fetch(box.getAttribute("data-codes-url"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (resp) {
        networkDown = false;
        if (resp.status === 401) {
          window.location.assign(box.getAttribute("data-login-url"));
          return null;
        }
        return resp.json().then(function (body) {
          if (!resp.ok) {
            problem = body && body.code ? body.code : "error";
            codes = [];
            nextFetchAt = Date.now() + 30000; // a suspended card may be resumed: look again
            return;
          }
          problem = null;
          retryMs = 5000;
          codes = body.codes.map(function (c) {
            return {
              svg: c.svg,
              number: c.number,
              barcode: c.barcode,
              start: asked + c.starts_in,
              refresh: asked + (c.refresh_in === null ? c.expires_in : c.refresh_in),
              expires: asked + c.expires_in,
            };
          });
          // Fetch fresh codes shortly before the first one is due to be replaced.
          nextFetchAt = codes.length ? codes[0].refresh - 1500 : Date.now() + retryMs;
        });
      })
      .catch(function () {
        networkDown = true;
        nextFetchAt = Date.now() + retryMs;
        retryMs = Math.min(retryMs * 2, 30000);
      })
      .then(function () {
        fetching = false;
        tick();
      });
  }

  window.addEventListener("online", function () { networkDown = false; nextFetchAt = 0; tick(); });
  window.addEventListener("offline", tick);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { nextFetchAt = 0; tick(); }
  });
  setInterval(tick, 500);
  tick();
})();
