/* /maps/coverage: assets of one type fetched page by page from /api/assets into a marker cluster,
   each marker a Font Awesome icon in the type's colour with a popup (nama, OPD, status, fase). */
(function () {
  "use strict";

  var STATUS = { planned: "Rencana", active: "Aktif", maintenance: "Pemeliharaan", inactive: "Nonaktif" };
  var PHASE = { quick_win: "Quick win", short: "Jangka pendek", medium: "Jangka menengah", long: "Jangka panjang" };

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "–" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function popup(properties, label) {
    var rows = [
      ["Nama", properties.name],
      ["Jenis", label],
      ["OPD", properties.owner_opd],
      ["Status", STATUS[properties.status] || properties.status],
      ["Fase", PHASE[properties.roadmap_phase] || "–"],
      ["Kelurahan", properties.kelurahan],
    ];
    return (
      '<div class="geo-popup"><h3>' + escapeHtml(properties.name) + "</h3><table>" +
      rows.map(function (row) {
        return "<tr><th>" + escapeHtml(row[0]) + "</th><td>" + escapeHtml(row[1]) + "</td></tr>";
      }).join("") + "</table></div>"
    );
  }

  function load(map, cluster, url, type) {
    GeoApp.fetchJson(map, url, "aset " + type.label).then(function (page) {
      var markers = [];
      page.features.forEach(function (feature) {
        if (!feature.geometry || feature.geometry.type !== "Point") {
          return;
        }
        var lonLat = feature.geometry.coordinates;
        var marker = L.marker([lonLat[1], lonLat[0]], {
          icon: GeoApp.symbolIcon("geo-asset-icon", type),
          title: feature.properties.name,
        });
        marker.bindPopup(popup(feature.properties, type.label), { maxWidth: 320 });
        markers.push(marker);
      });
      cluster.addLayers(markers);
      var next = (page.links || []).filter(function (link) { return link.rel === "next"; })[0];
      if (next) {
        load(map, cluster, next.href, type);
      }
    });
  }

  window.GeoCoverage = {
    /* The assets are fetched the first time their layer is switched on. */
    loadAssets: function (map, cluster, url, type) {
      GeoApp.whenShown(map, cluster, function () {
        load(map, cluster, url, type);
      });
    },
  };
})();
