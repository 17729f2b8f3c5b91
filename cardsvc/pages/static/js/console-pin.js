// A store's map pin in the console: the map opens on the pin (or the region's usual centre),
// a click moves the pin and fills in the latitude and longitude. The map's datum goes with
// them (a map drawn in GCJ-02 gives GCJ-02 numbers; the server stores WGS-84).
(function () {
  "use strict";

  function setUp(el) {
    if (!window.L || el.getAttribute("data-ready")) return;
    var id = el.getAttribute("data-for");
    var lat = document.getElementById("l-" + id + "-lat");
    var lng = document.getElementById("l-" + id + "-lng");
    var datum = document.getElementById("l-" + id + "-datum");
    var icon = window.L.icon({
      iconUrl: el.getAttribute("data-icon"),
      shadowUrl: el.getAttribute("data-shadow"),
      iconSize: [25, 41],
      iconAnchor: [12, 41],
    });
    var start = [parseFloat(lat.value) || 30.6965, parseFloat(lng.value) || 111.2855];
    var map = window.L.map(el, { attributionControl: false }).setView(start, 15);
    window.L.tileLayer(el.getAttribute("data-tiles"), { maxZoom: 19 }).addTo(map);
    var marker = lat.value ? window.L.marker(start, { icon: icon }).addTo(map) : null;
    map.on("click", function (e) {
      if (marker) marker.setLatLng(e.latlng);
      else marker = window.L.marker(e.latlng, { icon: icon }).addTo(map);
      lat.value = e.latlng.lat.toFixed(6);
      lng.value = e.latlng.lng.toFixed(6);
      datum.value = el.getAttribute("data-datum");
    });
    el.setAttribute("data-ready", "1");
  }

  function scan(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".console-pin-map").forEach(setUp);
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  // A map inside a closed <details> has no size until opened.
  document.addEventListener("toggle", function (e) { if (e.target.open) scan(e.target); }, true);
  document.addEventListener("htmx:afterSwap", function (e) { scan(e.target); });
})();
