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
    // A refused scan must not leave the previous member's benefits on screen.
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.id === "scan-form" && failed(evt)) {
      var result = $("result");
      if (result) result.innerHTML = "";
      focusWedge();
    }
  });

  // After every swap (a scan's benefits, a redemption, a void, an error message in #flash).
  // Listened to on the swapped-in content, which is in the page: a redeem or void form that
  // was replaced by its answer no longer bubbles its own events up to the document.
  document.addEventListener("htmx:afterSettle", function (evt) {
    var el = evt.target;
    if (!el || !el.closest || !el.closest("#main")) return;
    var result = $("result");
    if (result && result.contains(el)) {
      if (result.querySelector(".shop-done")) {
        var amount = $("f-amount");
        if (amount) amount.value = "";
      }
      // One column (a phone): bring the answer into view; the input keeps the focus.
      var rect = result.getBoundingClientRect();
      if (rect.top > window.innerHeight * 0.6 || rect.top < 0) {
        result.scrollIntoView({ block: "start" });
      }
    }
    focusWedge();
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
      return z.readBarcodes(source, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
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
