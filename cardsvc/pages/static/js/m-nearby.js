// The 附近 page: "use my location" asks the browser for the position and reloads the list around it;
// when a tile layer is configured, the stores of the list are drawn on a Leaflet map (each
// store carries WGS-84 and, for a map drawn in China's datum, GCJ-02 from the server).
(function () {
  "use strict";

  function go(lat, lng) {
    var url = new URL(window.location.href);
    url.searchParams.set("near", lat.toFixed(6) + "," + lng.toFixed(6));
    url.searchParams.delete("district");
    url.searchParams.delete("page");
    window.location.assign(url.toString());
  }

  function locate(btn) {
    var status = document.getElementById("where-status");
    if (!navigator.geolocation) {
      status.textContent = btn.getAttribute("data-denied");
      return;
    }
    navigator.geolocation.getCurrentPosition(
      function (pos) { go(pos.coords.latitude, pos.coords.longitude); },
      function () { status.textContent = btn.getAttribute("data-denied"); },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 }
    );
  }

  function map(el) {
    if (!window.L) return;
    var stores = document.querySelectorAll("#stores [data-store]");
    var gcj = el.getAttribute("data-datum") === "gcj02";
    var m = window.L.map(el, { attributionControl: false });
    window.L.tileLayer(el.getAttribute("data-tiles"), { maxZoom: 19 }).addTo(m);
    var icon = window.L.icon({
      iconUrl: el.getAttribute("data-icon"),
      iconRetinaUrl: el.getAttribute("data-icon2x"),
      shadowUrl: el.getAttribute("data-shadow"),
      iconSize: [25, 41],
      iconAnchor: [12, 41],
      shadowSize: [41, 41],
    });
    var points = [];
    stores.forEach(function (li) {
      var p = [
        parseFloat(li.getAttribute(gcj ? "data-glat" : "data-lat")),
        parseFloat(li.getAttribute(gcj ? "data-glng" : "data-lng")),
      ];
      points.push(p);
      var link = li.querySelector("h2 a");
      window.L.marker(p, { icon: icon, title: li.getAttribute("data-name"), alt: li.getAttribute("data-name") })
        .addTo(m)
        .on("click", function () { if (link) window.location.assign(link.href); });
    });
    if (points.length) m.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    el.setAttribute("data-ready", String(points.length));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var btn = document.getElementById("use-location");
    if (btn) btn.addEventListener("click", function () { locate(btn); });
    var el = document.getElementById("nearby-map");
    if (el) map(el);
  });
})();
