// The shop's scan page: the keyboard-wedge input and the camera QR reader (zxing-wasm).
// No inline script anywhere (CSP): everything the page does on its own is here.
(function () {
  "use strict";

  var uc = (window.uc = window.uc || {});
  var shop = (uc.shop = uc.shop || {});

  function $(id) { return document.getElementById(id); }

  // --- the wedge input: always ready for the next scan ------------------------------------
  // A keyboard-wedge scanner types the code and presses Enter into whatever has focus, so
  // after every result (or error) the focus goes back to the code input. It is emptied when
  // its code is sent (htmx has read the form by then), never later: the next scan may
  // already be arriving.
  function focusWedge() {
    var input = $("f-code");
    // Without scrolling: on a phone the result is below the input and must stay in view.
    if (input && document.activeElement !== input) input.focus({ preventScroll: true });
  }
  shop.focusWedge = focusWedge;

  function fromShopForm(evt) {
    var elt = evt.detail && evt.detail.elt;
    return !!(elt && elt.closest && elt.closest("#scan-form, .shop-redeem, .shop-void form"));
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (!fromShopForm(evt)) return;
    var flash = $("flash");
    if (flash) flash.innerHTML = ""; // an old message must not stand next to a new result
    var input = $("f-code");
    if (input && evt.detail.elt.id === "scan-form") input.value = "";
  });

  function failed(evt) {
    // app.js swaps problem details in (isError = false), so "successful" cannot tell.
    var xhr = evt.detail && evt.detail.xhr;
    return !xhr || xhr.status >= 400 || !evt.detail.successful;
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    // A scan that reached no server must not leave the previous member's benefits on screen
    // (a refusal from the server replaces them itself: cardsvc/pages/shop/outcome.py).
    var elt = evt.detail && evt.detail.elt;
    var xhr = evt.detail && evt.detail.xhr;
    if (elt && elt.id === "scan-form" && failed(evt) && (!xhr || !xhr.status)) {
      var result = $("result");
      if (result) result.innerHTML = "";
      collapse();
      focusWedge();
    }
  });

  // --- the result: the scan form folds away while one is shown -------------------------------
  function collapse() {
    var box = $("scan-box");
    var result = $("result");
    if (box && result) box.classList.toggle("is-collapsed", result.children.length > 0);
  }

  function nextCustomer() {
    var result = $("result");
    if (result) result.innerHTML = "";
    var flash = $("flash");
    if (flash) flash.innerHTML = "";
    ["f-code", "f-amount"].forEach(function (id) { var el = $(id); if (el) el.value = ""; });
    collapse();
    window.scrollTo(0, 0);
    focusWedge();
  }
  shop.nextCustomer = nextCustomer;

  // --- sounds: a short high beep for 核销成功 and two low ones for a refusal (WebAudio) -----------
  var audio = null;
  shop.beeps = [];
  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  // Browsers start audio only after a gesture: the first key (the wedge scanner types) or tap.
  ["keydown", "pointerdown"].forEach(function (type) {
    document.addEventListener(type, function () { try { audioContext(); } catch (e) { /* none */ } }, { once: true });
  });

  function beep(kind) {
    var tones = kind === "ok" ? [[1320, 0, 0.12]] : [[330, 0, 0.16], [220, 0.2, 0.3]];
    try {
      var ctx = audioContext();
      if (!ctx) return;
      tones.forEach(function (tone) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        var start = ctx.currentTime + tone[1];
        osc.type = kind === "ok" ? "sine" : "square";
        osc.frequency.value = tone[0];
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.3, start + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + tone[2]);
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(start);
        osc.stop(start + tone[2] + 0.02);
      });
      shop.beeps.push({ kind: kind, tones: tones.length, state: ctx.state });
    } catch (e) { /* no sound is no reason to fail the page */ }
  }
  shop.beep = beep;

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  }

  // After every swap (a scan's benefits, a redemption, a void, a refusal in its card).
  // Listened to on the swapped-in content, which is in the page: a redeem or void form that
  // was replaced by its answer no longer bubbles its own events up to the document.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var el = evt.target;
    if (!el || !el.closest || !el.closest("#main")) return;
    var result = $("result");
    if (result && result.contains(el)) {
      collapse();
      if (result.querySelector(".shop-done")) {
        var amount = $("f-amount");
        if (amount) amount.value = "";
      }
      var outcome = el.matches("[data-outcome]") ? el : el.querySelector("[data-outcome]");
      var kind = outcome && outcome.getAttribute("data-outcome");
      if (kind === "ok") beep("ok");
      else if (kind === "refused") beep("refused");
      if (el.classList.contains("shop-slot")) {
        // A refused redemption: in its benefit card, where the cashier pressed 核销.
        if (!inView(el)) el.scrollIntoView({ block: "center" });
      } else if (!inView(outcome || result)) {
        // The answer in view (one column on a phone); the input keeps the focus.
        result.scrollIntoView({ block: "start" });
      }
      // The cashier went to a field of the new answer (a quantity) between the swap and this
      // settle: what they type must stay there, not land in the scanner input.
      if (movedInto(result)) return;
    }
    focusWedge();
  });

  var focusAtSwap = null;
  document.addEventListener("htmx:afterSwap", function () { focusAtSwap = document.activeElement; });

  function movedInto(box) {
    var active = document.activeElement;
    return !!(active && active !== focusAtSwap && active.id !== "f-code" && box.contains(active) &&
      active.matches("input, select, textarea"));
  }

  document.addEventListener("click", function (evt) {
    var t = evt.target;
    if (t && t.closest && t.closest("#scan-next")) nextCustomer();
    if (t && t.closest && t.closest("#print-receipt")) window.print();
  });

  // Escape anywhere: back to the scanner input.
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape") {
      var input = $("f-code");
      if (input) input.value = "";
      focusWedge();
    }
  });

  // --- decoding with zxing-wasm -------------------------------------------------------------
  // The IIFE build exposes window.ZXingWASM. Its default fetches the .wasm from a CDN: point
  // it at the copy the app serves (federations run on intranets; the CSP allows 'self' only).
  var prepared = null;
  function zxing() {
    if (!window.ZXingWASM) return Promise.reject(new Error("zxing-wasm is not loaded"));
    if (!prepared) {
      var box = $("camera");
      var wasmUrl = box && box.dataset.wasm;
      prepared = window.ZXingWASM.prepareZXingModule({
        overrides: {
          locateFile: function (path, prefix) {
            return path.slice(-5) === ".wasm" && wasmUrl ? wasmUrl : prefix + path;
          },
        },
        fireImmediately: true,
      });
    }
    return prepared.then(function () { return window.ZXingWASM; });
  }

  // ImageData (a camera frame), a Blob or an image file → the QR's text, or null.
  shop.decode = function (source) {
    return zxing().then(function (z) {
      // The member's QR code, or the Code 128 barcode of its numeric one-time code.
      return z.readBarcodes(source, { formats: ["QRCode", "Code128"], tryHarder: true, maxNumberOfSymbols: 1 });
    }).then(function (results) {
      for (var i = 0; i < results.length; i++) {
        if (results[i].isValid && results[i].text) return results[i].text;
      }
      return null;
    });
  };

  // A decoded code goes through the same form as the scanner's: fill it in and submit.
  shop.useDecoded = function (text) {
    var input = $("f-code");
    var form = $("scan-form");
    if (!input || !form) return;
    input.value = text;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  };

  // --- the camera -----------------------------------------------------------------------------
  var stream = null;
  var timer = null;
  var busy = false;

  function status(kind) {
    var el = $("camera-status");
    if (el) el.textContent = el.dataset[kind] || "";
  }

  function stopCamera() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }
    var box = $("camera");
    if (box) box.hidden = true;
    var start = $("camera-start");
    if (start) start.hidden = false;
    focusWedge();
  }
  shop.stopCamera = stopCamera;

  function grab(video, canvas) {
    timer = null;
    if (!stream) return;
    if (busy || video.readyState < 2 || !video.videoWidth) {
      timer = setTimeout(function () { grab(video, canvas); }, 150);
      return;
    }
    busy = true;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    var frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
    shop.decode(frame).then(function (text) {
      busy = false;
      if (text && stream) {
        stopCamera();
        shop.useDecoded(text);
      } else if (stream) {
        timer = setTimeout(function () { grab(video, canvas); }, 200);
      }
    }, function () {
      busy = false;
      if (stream) timer = setTimeout(function () { grab(video, canvas); }, 500);
    });
  }

  function startCamera() {
    var box = $("camera");
    var video = $("camera-video");
    if (!box || !video) return;
    box.hidden = false;
    video.hidden = false;
    $("camera-start").hidden = true;
    status("starting");
    zxing().catch(function () {}); // fetch the decoder while the camera opens
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return video.play();
    }).then(function () {
      status("scanning");
      grab(video, document.createElement("canvas"));
    }).catch(function () {
      stopCamera();
      var start = $("camera-start");
      if (start) start.hidden = false;
      var box2 = $("camera");
      if (box2) { box2.hidden = false; }
      var video2 = $("camera-video");
      if (video2) video2.hidden = true;
      status("denied");
    });
  }

  function init() {
    var start = $("camera-start");
    var stop = $("camera-stop");
    // Only offer the camera where the browser can open one (https or localhost).
    if (start && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.ZXingWASM) {
      start.hidden = false;
      start.addEventListener("click", startCamera);
    }
    if (stop) stop.addEventListener("click", stopCamera);
    window.addEventListener("pagehide", function () { if (stream) stopCamera(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
