/* /maps/coverage: assets of one type fetched page by page from /api/assets into a marker cluster,
   each marker a Font Awesome icon in the type's colour with a popup (nama, OPD, status, fase); and the
   suggested sites from /api/analysis/siting as numbered markers with their list beside the map. */
(function () {
  "use strict";

  var STATUS = { planned: "Rencana", active: "Aktif", maintenance: "Pemeliharaan", inactive: "Nonaktif" };
  var PHASE = { quick_win: "Quick win", short: "Jangka pendek", medium: "Jangka menengah", long: "Jangka panjang" };

  var escapeHtml = GeoApp.escapeHtml;

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

  function siteLine(properties) {
    return properties.rank + ". " + (properties.kelurahan || "di luar kelurahan") + ", +" +
      GeoApp.formatValue(properties.population_gain, "int") + " jiwa, kumulatif " +
      GeoApp.formatValue(properties.population_covered_pct, "1") + " %";
  }

  function sitePopup(properties) {
    return '<div class="geo-popup"><h4>Usulan lokasi ke-' + escapeHtml(properties.rank) + "</h4><table>" +
      "<tr><th>Kelurahan</th><td>" + escapeHtml(properties.kelurahan) + "</td></tr>" +
      "<tr><th>Tambahan terjangkau</th><td>" + escapeHtml(GeoApp.formatValue(properties.population_gain, "int")) +
      " jiwa</td></tr><tr><th>Kumulatif</th><td>" +
      escapeHtml(GeoApp.formatValue(properties.population_covered_pct, "1")) + " % penduduk</td></tr></table></div>";
  }

  function showSites(group, list, collection) {
    list.innerHTML = "";
    collection.features.forEach(function (feature) {
      var properties = feature.properties;
      var lonLat = feature.geometry.coordinates;
      var marker = L.marker([lonLat[1], lonLat[0]], {
        icon: L.divIcon({
          className: "geo-site-icon",
          html: "<span>" + escapeHtml(properties.rank) + "</span>",
          iconSize: [24, 24],
          iconAnchor: [12, 12],
          popupAnchor: [0, -12],
        }),
        zIndexOffset: 1000,
        title: siteLine(properties),
      });
      marker.bindPopup(sitePopup(properties), { maxWidth: 320 });
      group.addLayer(marker);
      var item = document.createElement("li");
      item.textContent = siteLine(properties);
      item.addEventListener("click", function () {
        marker.openPopup();
      });
      list.appendChild(item);
    });
    if (!collection.features.length) {
      list.innerHTML = "<li>Tidak ada lokasi yang menambah penduduk terjangkau.</li>";
    }
  }

  window.GeoCoverage = {
    /* The suggested sites: numbered markers in ``group`` and the lines of the list ``listId``. */
    loadSites: function (map, group, url, listId) {
      var list = document.getElementById(listId);
      GeoApp.fetchJson(map, url, "usulan lokasi", function (error) {
        list.innerHTML = "";
        var item = document.createElement("li");
        item.textContent = GeoApp.failureText("Usulan lokasi", error);
        list.appendChild(item);
      }).then(function (collection) {
        if (collection) {
          showSites(group, list, collection);
        }
      });
    },


    /* The assets are fetched the first time their layer is switched on. */
    loadAssets: function (map, cluster, url, type) {
      GeoApp.whenShown(map, cluster, function () {
        load(map, cluster, url, type);
      });
    },
  };
})();
