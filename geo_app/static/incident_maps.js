/* 112 map pages (/maps/hotspots, /maps/incidents): layers that fetch their data from the API.
 *
 * Each factory returns its Leaflet layer at once (so Folium's layer control lists it) and fills it the
 * first time it is switched on (GeoApp.whenShown). Fetches go through GeoApp.fetchJson (counted in
 * GeoApp.pending). A 422 answer ("not enough data") is a note for the reader in Bahasa Indonesia, shown
 * in the page, not an error.
 */
(function () {
  "use strict";

  var escapeHtml = GeoApp.escapeHtml;

  function note(id, html) {
    var box = id && document.getElementById(id);
    if (box) {
      box.innerHTML = html;
    }
  }

  /* GET JSON through GeoApp.fetchJson; resolves to the body, or to null after saying in ``noteId`` why
   * layer ``name`` has nothing to draw. */
  function getJson(map, url, noteId, name) {
    return GeoApp.fetchJson(map, url, name, function (error) {
      note(noteId, '<p class="geo-note">' + escapeHtml(GeoApp.failureText(name, error)) + "</p>");
    });
  }

  function popupTable(title, rows) {
    return (
      '<div class="geo-popup"><h4>' + escapeHtml(title) + "</h4><table>" +
      rows.map(function (row) {
        return "<tr><th>" + escapeHtml(row[0]) + "</th><td>" + escapeHtml(row[1]) + "</td></tr>";
      }).join("") + "</table></div>"
    );
  }

  function formatDateTime(value) {
    return value ? GeoApp.formatValue(value, "datetime") : "–";
  }

  /* "Kel. Lebak Gede, Kec. Pulomerak": where a cell lies, from the API's place names. */
  function placeText(p) {
    var parts = [];
    if (p.kelurahan) {
      parts.push("Kel. " + p.kelurahan);
    }
    if (p.kecamatan) {
      parts.push("Kec. " + p.kecamatan);
    }
    return parts.join(", ") || "Di luar kelurahan";
  }

  /* The kelurahan of some cells, most incidents first (then by name), as an ordered list under ``title``:
   * "Kel. A, Kec. B — 31 insiden (4 sel)"; at most ``limit`` (5) rows. */
  function placeList(title, features, countKey, empty, limit) {
    var places = {};
    features.forEach(function (feature) {
      var p = feature.properties;
      var key = placeText(p);
      var place = places[key] || (places[key] = { text: key, incidents: 0, cells: 0 });
      place.incidents += p[countKey] || 0;
      place.cells += 1;
    });
    var ranked = Object.keys(places).map(function (key) { return places[key]; });
    ranked.sort(function (a, b) { return b.incidents - a.incidents || a.text.localeCompare(b.text, "id"); });
    var rows = ranked.slice(0, limit || 5).map(function (place) {
      return "<li><strong>" + escapeHtml(place.text) + "</strong> — " + GeoApp.formatValue(place.incidents, "int") +
        " insiden (" + place.cells + " sel)</li>";
    }).join("");
    return '<h3 class="geo-place-title">' + escapeHtml(title) + "</h3>" +
      (rows ? '<ol class="geo-place-list">' + rows + "</ol>" : '<p class="geo-legend-note">' + escapeHtml(empty) + "</p>");
  }

  /* Gi* cells coloured by confidence bin; the summary (band, cell size, cells) goes to options.summary.
   * Popups say the place, the incidents and the class in words; the statistics sit folded below. */
  function hotspotLayer(map, options) {
    var band = null;
    var layer = L.geoJSON(null, {
      style: function (feature) {
        return {
          weight: 0.4,
          color: "#ffffff",
          fillColor: options.colours[String(feature.properties.bin)],
          fillOpacity: feature.properties.bin === 0 ? 0.25 : 0.75,
          className: "geo-gi-cell geo-gi-" + (feature.properties.bin > 0 ? "hot" : feature.properties.bin < 0 ? "cold" : "none") +
            Math.abs(feature.properties.bin),
        };
      },
      onEachFeature: function (feature, cell) {
        var p = feature.properties;
        var nearby = "<tr><th>Insiden dalam " + GeoApp.formatValue(band, "int") + " m</th><td>" +
          GeoApp.formatValue(p.nearby, "int") + "</td></tr>";
        var meaning = p.bin > 0
          ? "Lebih banyak insiden di sel ini dan sekitarnya (" + GeoApp.formatValue(band, "int") + " m) daripada rata-rata kota."
          : p.bin < 0
            ? "Lebih sedikit insiden di sel ini dan sekitarnya daripada rata-rata kota."
            : "Tidak berbeda nyata dari rata-rata kota.";
        cell.bindPopup(
          '<div class="geo-popup"><h4>' + escapeHtml(placeText(p)) + "</h4><table>" +
          "<tr><th>Kelas</th><td><strong>" + escapeHtml(p.label) + "</strong></td></tr>" +
          "<tr><th>Insiden di sel</th><td>" + GeoApp.formatValue(p.count, "int") + "</td></tr>" + nearby + "</table>" +
          '<p class="geo-popup-note">' + escapeHtml(meaning) + "</p>" +
          '<details class="geo-popup-details"><summary>Rincian statistik</summary><table>' +
          "<tr><th>Sel</th><td>" + escapeHtml(p.cell) + "</td></tr>" +
          "<tr><th>Gi* z</th><td>" + GeoApp.formatValue(p.z, "2") + "</td></tr>" +
          "<tr><th>p (dua sisi)</th><td>" + GeoApp.formatValue(p.p, "4") + "</td></tr></table></details></div>"
        );
        cell.bindTooltip(escapeHtml(placeText(p) + " · " + p.label), { sticky: true });
      },
    });
    GeoApp.whenShown(map, layer, function () {
      getJson(map, options.url, options.summary, options.name).then(function (data) {
        if (data) {
          band = data.band_m;
          layer.addData(data);
          summarise(data);
        }
      });
    });
    function summarise(data) {
      var hot = data.features.filter(function (f) { return f.properties.bin > 0; }).length;
      var cold = data.features.filter(function (f) { return f.properties.bin < 0; }).length;
      var size = data.grid === "hexagon"
        ? "heksagon, sisi " + GeoApp.formatValue(data.cell_size_m, "int") + " m"
        : data.grid === "h3" ? "H3 resolusi " + data.h3_resolution : "kelurahan";
      note(options.summary,
        "<table class=\"geo-table\"><tbody>" +
        "<tr><td>Insiden dianalisis</td><td class=\"num\">" + GeoApp.formatValue(data.incidents, "int") + "</td></tr>" +
        "<tr><td>Sel</td><td class=\"num\">" + GeoApp.formatValue(data.cells, "int") + " (" + size + ")</td></tr>" +
        "<tr><td>Jarak ambang (band)</td><td class=\"num\">" + GeoApp.formatValue(data.band_m, "int") + " m</td></tr>" +
        "<tr><td>Sel hotspot / coldspot</td><td class=\"num\">" + hot + " / " + cold + "</td></tr>" +
        "</tbody></table>" +
        placeList("Hotspot menurut kelurahan", data.features.filter(function (f) { return f.properties.bin > 0; }),
          "count", "Tidak ada sel hotspot yang signifikan pada periode ini.") +
        "<p class=\"geo-legend-note\">Gi* dengan koreksi FDR" +
        (data.fdr ? "" : " (nonaktif)") + "; band dipilih dengan Moran's I bertahap.</p>");
    }
    return layer;
  }

  function stepText(start, step) {
    var day = new Date(start + "T12:00:00Z");
    return step === "month"
      ? day.toLocaleDateString("id-ID", { month: "long", year: "numeric", timeZone: "UTC" })
      : "minggu " + day.toLocaleDateString("id-ID", { dateStyle: "medium", timeZone: "UTC" });
  }

  /* Emerging hot-spot pattern per cell (space-time Gi* and Mann-Kendall, from the API); the summary in
   * options.summary names the places of the recent patterns (new, consecutive, intensifying) and the steps
   * analysed and left out. Cells without a pattern stay transparent and silent. */
  function emergingLayer(map, options) {
    var layer = L.geoJSON(null, {
      filter: function (feature) { return feature.properties.category !== "no_pattern"; },
      style: function (feature) {
        return { weight: 0.4, color: "#ffffff", fillOpacity: 0.8, fillColor: options.colours[feature.properties.category] };
      },
      onEachFeature: function (feature, cell) {
        var p = feature.properties;
        cell.bindPopup(popupTable(placeText(p), [
          ["Pola", p.label],
          ["Insiden di sel", GeoApp.formatValue(p.incidents, "int")],
          [options.step === "month" ? "Bulan hotspot" : "Minggu hotspot", GeoApp.formatValue(p.hot_steps, "int")],
          [options.step === "month" ? "Bulan coldspot" : "Minggu coldspot", GeoApp.formatValue(p.cold_steps, "int")],
        ]));
        cell.bindTooltip(escapeHtml(placeText(p) + " · " + p.label), { sticky: true });
      },
    });
    GeoApp.whenShown(map, layer, function () {
      getJson(map, options.url, options.summary, options.name).then(function (data) {
        if (data) {
          layer.addData(data);
          summarise(data);
        }
      });
    });
    function summarise(data) {
      var html = "";
      options.recent.forEach(function (category) {
        var cells = data.features.filter(function (f) { return f.properties.category === category; });
        if (cells.length) {
          html += placeList(options.labels[category], cells, "incidents", "");
        }
      });
      if (!html) {
        html = '<p>Tidak ada hotspot baru, berturut-turut atau menguat pada periode ini.</p>';
      }
      var counts = Object.keys(data.summary).filter(function (category) {
        return category !== "no_pattern" && data.summary[category] > 0;
      }).map(function (category) {
        return "<tr><td>" + escapeHtml(options.labels[category]) + '</td><td class="num">' + data.summary[category] + "</td></tr>";
      }).join("");
      var empty = data.empty_steps_left_out;
      var leftOut = empty.length > 3
        ? [empty.length + " " + (data.step === "month" ? "bulan" : "minggu") + " tanpa insiden (" +
          stepText(empty[0], data.step) + " – " + stepText(empty[empty.length - 1], data.step) + ")"]
        : empty.map(function (start) { return stepText(start, data.step) + " (tanpa insiden)"; });
      if (data.unfinished_step_left_out) {
        leftOut.push(stepText(data.unfinished_step_left_out, data.step) + " (belum selesai)");
      }
      note(options.summary, html +
        (counts ? '<table class="geo-table"><thead><tr><th>Pola</th><th>Sel</th></tr></thead><tbody>' + counts +
          "</tbody></table>" : "") +
        '<p class="geo-legend-note geo-steps">Dianalisis ' + data.steps.length + " " +
        (data.step === "month" ? "bulan" : "minggu") + ": " + escapeHtml(stepText(data.steps[0], data.step)) + " – " +
        escapeHtml(stepText(data.steps[data.steps.length - 1], data.step)) + "." +
        (leftOut.length ? " Tidak dihitung: " + escapeHtml(leftOut.join(", ")) + "." : "") + "</p>");
    }
    return layer;
  }

  function heatPoints(data) {
    var peak = data.max_per_km2 || 1;
    return data.points.map(function (p) { return [p[0], p[1], p[2] / peak]; });
  }

  /* Kernel density (quartic, computed by the API) drawn with Leaflet.heat. */
  function heatLayer(map, options) {
    var layer = L.heatLayer([], { radius: 18, blur: 14, max: 1, minOpacity: 0.25 });
    GeoApp.whenShown(map, layer, function () {
      getJson(map, options.url, options.note, options.name).then(function (data) {
        if (data) {
          layer.setLatLngs(heatPoints(data));
        }
      });
    });
    return layer;
  }

  /* The index of the last week that has ended and holds incidents (the last week when none does): the
   * slider opens there, as a week still running holds only part of its calls and an empty one nothing. */
  function lastCompleteWeek(weeks) {
    for (var i = weeks.length - 1; i >= 0; i--) {
      if (weeks[i].complete && weeks[i].incidents > 0) {
        return i;
      }
    }
    return Math.max(weeks.length - 1, 0);
  }

  /* A heat layer for one week at a time, chosen with a slider control (bottom left), opening on the last
   * week that has ended. */
  function weeklyHeatLayer(map, options) {
    var layer = L.heatLayer([], { radius: 18, blur: 14, max: 1, minOpacity: 0.25 });
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "geo-legend geo-week-slider");
      var opening = lastCompleteWeek(options.weeks);
      box.innerHTML =
        "<h3>Kepadatan mingguan</h3>" +
        '<input type="range" min="0" max="' + (options.weeks.length - 1) + '" value="' +
        opening + '" aria-label="Minggu">' +
        '<div class="geo-week-label"></div><div id="geo-week-note"></div>';
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var slider = box.querySelector("input");
      var label = box.querySelector(".geo-week-label");
      function show(index) {
        var week = options.weeks[index];
        label.textContent = "Minggu " + GeoApp.formatValue(week.start + "T12:00:00Z", "date") + " – " +
          GeoApp.formatValue(week.end + "T12:00:00Z", "date") + (week.complete ? "" : " (belum selesai)") +
          (week.incidents ? "" : " (tanpa insiden)");
        note("geo-week-note", "");
        var url = options.url + (options.url.indexOf("?") < 0 ? "?" : "&") +
          "start=" + week.start + "&end=" + week.end;
        getJson(map, url, "geo-week-note", "Kepadatan minggu ini").then(function (data) {
          layer.setLatLngs(data ? heatPoints(data) : []);
        });
      }
      slider.addEventListener("input", function () { show(Number(slider.value)); });
      if (options.weeks.length) {
        show(opening);
      }
      return box;
    };
    layer.on("add", function () { control.addTo(map); });
    layer.on("remove", function () { control.remove(); });
    return layer;
  }

  /* Incidents of the last 24 hours as clustered markers, refetched every ``refresh_s`` seconds. */
  function liveLayer(map, options) {
    var layer = L.markerClusterGroup({ maxClusterRadius: 45, showCoverageOnHover: false });
    function load() {
      var since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
      var url = options.url + "&start=" + encodeURIComponent(since);
      var features = [];
      function page(pageUrl) {
        return getJson(map, pageUrl, options.summary, options.name).then(function (data) {
          if (!data) {
            return;
          }
          features = features.concat(data.features);
          var next = (data.links || []).filter(function (link) { return link.rel === "next"; })[0];
          return next ? page(next.href) : undefined;
        });
      }
      page(url).then(function () {
        layer.clearLayers();
        var shown = 0;
        features.forEach(function (feature) {
          if (!feature.geometry) {
            return;
          }
          var p = feature.properties;
          var category = options.categories[p.category] || options.fallback;
          var marker = L.marker([feature.geometry.coordinates[1], feature.geometry.coordinates[0]], {
            icon: GeoApp.symbolIcon("geo-incident-icon", category),
            title: category.label,
          });
          marker.bindPopup(popupTable(category.label, [
            ["Diterima", formatDateTime(p.received_at)],
            ["Status", options.statuses[p.status] || p.status],
            ["Kelurahan", p.kelurahan_name],
            ["Kecamatan", p.kecamatan_name],
            ["OPD", p.responding_opd],
            ["Tiba di lokasi", formatDateTime(p.arrived_at)],
          ]));
          layer.addLayer(marker);
          shown += 1;
        });
        note(options.summary,
          "<p><strong>" + GeoApp.formatValue(shown, "int") + "</strong> insiden berlokasi dalam 24 jam terakhir" +
          (features.length > shown ? " (" + (features.length - shown) + " tanpa lokasi)" : "") +
          ".</p><p class=\"geo-legend-note\">Diperbarui " +
          new Date().toLocaleTimeString("id-ID", { timeZone: GeoApp.timeZone }) + " " + GeoApp.zoneLabel +
          ", otomatis setiap " +
          options.refresh_s + " detik.</p>");
      });
    }
    GeoApp.whenShown(map, layer, function () {
      load();
      window.setInterval(function () {
        if (map.hasLayer(layer)) {
          load();
        }
      }, options.refresh_s * 1000);
    });
    return layer;
  }

  var RANKING_COLUMNS = [
    { key: "name", text: true },
    { key: "incidents", label: "Insiden", digits: 0 },
    { key: "compliance_pct", label: "Sesuai %", digits: 1 },
    { key: "goal_pct", label: "Sasaran %", digits: 1 },
    { key: "gap_points", label: "Selisih", digits: 1 },
  ];
  var GAP_COLUMN = 4;  // the tables start sorted by it, furthest below the goal first
  var FEW_INCIDENTS = 5;  // rows with fewer arrived incidents are marked: one late arrival moves them a lot
  var RANKING_LEVELS = {
    kelurahan: { label: "Kelurahan", summaries: "by_kelurahan" },
    kecamatan: { label: "Kecamatan", summaries: "by_kecamatan" },
  };

  function rankingRows(summaries) {
    return Object.keys(summaries).map(function (code) {
      var summary = summaries[code];
      return {
        code: code,
        name: summary.name,
        incidents: summary.incidents,
        compliance_pct: summary.compliance * 100,
        goal_pct: summary.goal_pct,
        gap_points: summary.gap_points,
      };
    });
  }

  function rankingCell(row, column) {
    var value = row[column.key];
    if (column.text) {
      return '<td data-value="' + escapeHtml(value) + '">' + escapeHtml(value) + "</td>";
    }
    var raw = value === null || value === undefined ? "" : value.toFixed(column.digits);
    var sign = column.key === "gap_points" && value > 0 ? "+" : "";
    return '<td class="num" data-value="' + raw + '">' + sign + GeoApp.formatValue(value, String(column.digits)) +
      "</td>";
  }

  /* One level's ranking in the markup of geo_app.maps.base.ranked_table_html, so maps.js sorts it and
   * writes its CSV (columns named as in the API); the number before each name is a CSS counter
   * (geo_app.maps.incidents), so it follows the order shown. */
  function rankingTable(level, rows) {
    var id = "geo-response-" + level;
    var head = RANKING_COLUMNS.map(function (column) {
      return '<th scope="col" data-type="' + (column.text ? "text" : "number") + '" data-csv-header="' +
        (column.text ? level : column.key) + '"><button type="button">' +
        escapeHtml(column.text ? RANKING_LEVELS[level].label : column.label) + "</button></th>";
    }).join("");
    var body = rows.map(function (row) {
      var few = row.incidents < FEW_INCIDENTS;
      var classes = [row.gap_points < 0 ? "geo-below-goal" : "", few ? "geo-few" : ""].join(" ").trim();
      return '<tr data-key="' + escapeHtml(row.code) + '" class="' + classes + '"' +
        (few ? ' title="Kurang dari ' + FEW_INCIDENTS + ' insiden: angka belum stabil"' : "") + ">" +
        RANKING_COLUMNS.map(function (column) { return rankingCell(row, column); }).join("") + "</tr>";
    }).join("");
    return '<div class="geo-ranked-box"><table id="' + id + '" class="geo-table geo-ranked geo-response" ' +
      'data-level="' + level + '" data-csv-name="kepatuhan-waktu-tanggap-' + level + '.csv"><thead><tr>' + head +
      "</tr></thead><tbody>" + body + "</tbody></table></div>" +
      '<button type="button" class="geo-csv" data-table="' + id + '">Unduh CSV</button>';
  }

  /* Outlines an area on the map while its table row is pointed at; the boundaries of each level
   * (areasUrl + level) are fetched the first time a row of that level is. */
  function rowHighlighter(map, areasUrl) {
    var shapes = {};
    var outline = null;
    var wanted = null;
    function draw() {
      if (outline) {
        map.removeLayer(outline);
        outline = null;
      }
      var feature = wanted && shapes[wanted.level] && shapes[wanted.level][wanted.code];
      if (feature) {
        outline = L.geoJSON(feature, {
          style: { weight: 4, color: "#0b5e7a", fill: false, className: "geo-row-highlight" },
          interactive: false,
        }).addTo(map);
      }
    }
    return function (level, code) {
      wanted = code ? { level: level, code: code } : null;
      if (code && !shapes[level]) {
        shapes[level] = {};
        GeoApp.fetchJson(map, areasUrl + level, "Batas " + level).then(function (data) {
          data.features.forEach(function (feature) {
            shapes[level][feature.properties.code] = feature;
          });
          draw();
        });
      }
      draw();
    };
  }

  function overlayInput(name) {
    var label = Array.from(document.querySelectorAll(".leaflet-control-layers-overlays label")).filter(function (item) {
      return item.textContent.trim() === name;
    })[0];
    return label && label.querySelector("input");
  }

  /* Switches the overlay called ``name`` on (and ``hide``, one it would cover, off), as clicks on their
   * boxes in the layer control would; on a phone the panel sheet folds so the map shows. */
  function showOverlay(name, hide) {
    var input = overlayInput(name);
    if (input && !input.checked) {
      input.click();
    }
    var covered = hide && overlayInput(hide);
    if (covered && covered.checked) {
      covered.click();
    }
    GeoApp.foldPhonePanel();
  }

  /* Kelurahan and kecamatan (one shown at a time, level buttons) ranked by response compliance against
   * their goal, worst first, from /api/analysis/response, in the side panel; the tables sort and save
   * their CSV as every ranked table does (maps.js); pointing at a row outlines its area on the map. */
  function responseTable(map, options) {
    var box = document.getElementById(options.target);
    var highlight = rowHighlighter(map, options.areas_url);

    function levelHtml(level, rows) {
      if (!rows.length) {
        return '<p class="geo-note">Belum ada insiden dengan waktu tiba pada periode ini. ' +
          "Pilih periode yang lebih panjang.</p>";
      }
      var below = rows.filter(function (row) { return row.gap_points < 0; }).length;
      return '<p class="geo-ranking-summary"><strong>' + below + " dari " + rows.length + "</strong> " +
        RANKING_LEVELS[level].label.toLowerCase() + " di bawah sasaran." +
        (options.layer_name ? ' <button type="button" class="geo-link" data-show-layer="' + escapeHtml(options.layer_name) +
          '" data-hide-layer="' + escapeHtml(options.covers || "") + '">Tampilkan di peta</button>' : "") +
        "</p>" + rankingTable(level, rows);
    }

    function render(data) {
      var levels = Object.keys(RANKING_LEVELS);
      box.innerHTML =
        '<div class="geo-levels" role="group" aria-label="Tingkat wilayah">' + levels.map(function (level, index) {
          return '<button type="button" data-level="' + level + '" aria-pressed="' + (index === 0) + '">' +
            RANKING_LEVELS[level].label + "</button>";
        }).join("") + "</div>" +
        levels.map(function (level, index) {
          return '<div class="geo-level" data-level="' + level + '"' + (index ? " hidden" : "") + ">" +
            levelHtml(level, rankingRows(data[RANKING_LEVELS[level].summaries])) + "</div>";
        }).join("");
      box.querySelectorAll("table.geo-ranked").forEach(function (table) {
        GeoApp.sortTable(table, GAP_COLUMN);
      });
    }

    box.addEventListener("mouseover", function (event) {
      var row = event.target.closest("tbody tr[data-key]");
      highlight(row && row.closest("table").getAttribute("data-level"), row && row.getAttribute("data-key"));
    });
    box.addEventListener("mouseleave", function () {
      highlight(null, null);
    });

    GeoApp.fetchJson(map, options.url, options.name, function (error) {
      box.innerHTML = '<p class="geo-note">' + escapeHtml(GeoApp.failureText(options.name, error)) + "</p>";
    }).then(function (body) {
      if (body) {
        render(body);
      }
    });
  }

  /* Buttons with data-show-layer="Name" in the panel switch that overlay on. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-show-layer]");
    if (button && button.getAttribute("data-show-layer")) {
      showOverlay(button.getAttribute("data-show-layer"), button.getAttribute("data-hide-layer"));
    }
  });

  /* The hotspot form: typing a date means the reader picks the days, so the period becomes "custom". */
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector(".geo-filter-form");
    var period = form && form.querySelector('select[name="period"]');
    if (!period) {
      return;
    }
    form.querySelectorAll('input[type="date"]').forEach(function (input) {
      input.addEventListener("change", function () {
        period.value = "custom";
      });
    });
  });

  window.GeoIncidents = {
    placeText: placeText,
    emergingLayer: emergingLayer,
    hotspotLayer: hotspotLayer,
    heatLayer: heatLayer,
    weeklyHeatLayer: weeklyHeatLayer,
    liveLayer: liveLayer,
    responseTable: responseTable,
  };
})();
