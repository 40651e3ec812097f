/* Shared browser code of the map pages (built by geo_app.maps.base).
 *
 * GeoApp.geoJsonLayer(url, options) returns an empty L.GeoJSON layer at once (so layer controls can list
 * it) and fills it from the API the first time it is switched on, keeping pages light. GeoApp.pending
 * counts the fetches still running; while it is above 0 the map shows "Memuat data…" (headless-browser
 * tests wait for it to reach 0). A layer that cannot be drawn says why in an Indonesian note on the map,
 * and nothing at all once it is switched off. Labels and numbers are formatted for Bahasa Indonesia.
 */
(function () {
  "use strict";

  var LOCALE = "id-ID";
  /* The city's own time zone (WIB, WITA or WIT), set by the page (geo_app.maps.base.make_map). */
  var zoneMeta = document.querySelector('meta[name="geo-app-timezone"]');
  var TIME_ZONE = zoneMeta ? zoneMeta.content : "UTC";
  var ZONE_LABEL = zoneMeta ? zoneMeta.getAttribute("data-label") : "UTC";
  var MISSING = "–";

  /* Text for HTML; a missing value shows as a dash. */
  function escapeHtml(value) {
    return String(value === null || value === undefined ? "–" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function formatNumber(value, digits) {
    return Number(value).toLocaleString(LOCALE, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }

  /* One value by format name: int, 0-9 (decimals), pct (0-1 -> %), date, datetime, yesno, flag:TEXT. */
  function formatValue(value, format) {
    if (format && format.indexOf("flag:") === 0) {
      return value ? format.slice(5) : "";
    }
    if (value === null || value === undefined || value === "") {
      return MISSING;
    }
    if (format === "int") {
      return formatNumber(value, 0);
    }
    if (/^[0-9]$/.test(format || "")) {
      return formatNumber(value, Number(format));
    }
    if (format === "pct") {
      return formatNumber(value * 100, 1) + "%";
    }
    if (format === "date" || format === "datetime") {
      var options = { timeZone: TIME_ZONE, dateStyle: "medium" };
      if (format === "datetime") {
        options.timeStyle = "short";
      }
      return new Date(value).toLocaleString(LOCALE, options) + (format === "datetime" ? " " + ZONE_LABEL : "");
    }
    if (format === "yesno") {
      return value ? "ya" : "tidak";
    }
    return String(value);
  }

  /* Fill "{field}" or "{field:format}" placeholders from feature properties, HTML-escaped. */
  function fillTemplate(template, properties) {
    return template.replace(/\{([A-Za-z0-9_]+)(?::([^}]+))?\}/g, function (_, field, format) {
      return escapeHtml(formatValue(properties[field], format));
    });
  }

  function popupHtml(title, rows, properties) {
    var html = '<div class="geo-popup">';
    if (title) {
      html += "<h4>" + fillTemplate(title, properties) + "</h4>";
    }
    html += "<table>";
    rows.forEach(function (row) {
      html += "<tr><th>" + escapeHtml(row[0]) + "</th><td>" + fillTemplate(row[1], properties) + "</td></tr>";
    });
    return html + "</table></div>";
  }

  /* Colour of a value: class breaks (upper bounds, inclusive) or categories; noData when missing. */
  function colourOf(rule, properties) {
    var value = properties[rule.property];
    if (value === null || value === undefined) {
      return rule.no_data;
    }
    if (rule.categories) {
      return rule.categories[String(value)] || rule.no_data;
    }
    for (var i = 0; i < rule.breaks.length; i++) {
      if (value <= rule.breaks[i]) {
        return rule.colours[i];
      }
    }
    return rule.colours[rule.colours.length - 1];
  }

  function featureStyle(options) {
    return function (feature) {
      var style = Object.assign({}, options.style);
      if (options.colour_by) {
        var colour = colourOf(options.colour_by, feature.properties || {});
        style.fillColor = colour;
        if (options.point) {
          style.color = options.style.color || colour;
        }
      }
      return style;
    };
  }

  /* The "Memuat data…" box of each map, shown while any fetch of the page runs. */
  var loadingBoxes = [];

  function loadingBox(map) {
    var container = map.getContainer();
    var box = container.querySelector(".geo-loading");
    if (!box) {
      box = L.DomUtil.create("div", "geo-loading", container);
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      box.innerHTML = '<span class="geo-spinner" aria-hidden="true"></span>Memuat data…';
      loadingBoxes.push(box);
    }
    return box;
  }

  function updateLoading() {
    loadingBoxes.forEach(function (box) {
      box.hidden = GeoApp.pending === 0;
    });
    if (GeoApp.pending === 0) {
      GeoApp.idleAt = performance.now(); /* when "Memuat data…" last went (scripts/bench/slow_link.py) */
    }
  }

  /* Why a layer could not be drawn, in words the reader can act on. */
  function failureText(name, error) {
    var layer = name ? "Lapisan " + name : "Data";
    if (error.status === 422) {
      return layer + ": data pada periode dan filter ini tidak cukup untuk dianalisis. " +
        "Pilih periode yang lebih panjang atau kategori lain.";
    }
    if (error.problem) {
      return layer + " tidak dapat dimuat dengan isian ini (kode " + error.status + "). Periksa filter.";
    }
    if (error.status) {
      return layer + " gagal dimuat (kode " + error.status + "). Muat ulang halaman untuk mencoba lagi.";
    }
    return layer + " gagal dimuat: server tidak terjangkau. Periksa jaringan, lalu muat ulang halaman.";
  }

  /* A message on the map: a note (amber) for an answer about the data, an error (red) for a failure.
   * Tied to ``layer``, it goes when the layer is switched off. */
  function showMapMessage(map, text, isNote, layer) {
    var container = map.getContainer();
    var stack = container.querySelector(".geo-map-messages");
    if (!stack) {
      stack = L.DomUtil.create("div", "geo-map-messages", container);
    }
    var box = L.DomUtil.create("p", isNote ? "geo-map-note" : "geo-load-error", stack);
    box.textContent = text;
    if (layer) {
      layer.once("remove", function () {
        L.DomUtil.remove(box);
      });
    }
  }

  /* The failure handler of a layer's fetch: silent when the layer is no longer on the map. */
  function layerFailure(map, layer, name) {
    return function (error) {
      if (layer && !map.hasLayer(layer)) {
        return;
      }
      showMapMessage(map, failureText(name, error), Boolean(error.problem), layer);
    };
  }

  /* Outline layers (options.front) stay above fills whatever order the fetches finish in. */
  var frontLayers = [];

  function raiseFrontLayers(map) {
    frontLayers.forEach(function (layer) {
      if (map.hasLayer(layer)) {
        layer.bringToFront();
      }
    });
  }

  /* ---- Ranked tables beside the map: markup of geo_app.maps.base.ranked_table_html (incident_maps.js
   * builds the same in the browser). A header click sorts by its column, again the other way; "Unduh CSV"
   * saves the values as shown (each cell's data-value) under the headers; level buttons show the table of
   * one level. The handlers listen on the document, so a table built after the page loaded works too. ---- */

  function isEmpty(value) {
    return value === "" || value === null || value === undefined || (typeof value === "number" && isNaN(value));
  }

  /* Rows without a value go last whichever the direction: a missing figure is no extreme. */
  function compareValues(x, y, descending) {
    if (isEmpty(x) || isEmpty(y)) {
      return isEmpty(x) - isEmpty(y);
    }
    var order = typeof x === "number" ? x - y : String(x).localeCompare(String(y), LOCALE);
    return descending ? -order : order;
  }

  function cellValue(row, index, numeric) {
    var raw = row.cells[index].getAttribute("data-value");
    return numeric && raw !== "" ? Number(raw) : raw;
  }

  /* Sort by column ``index``: a column sorted already turns around; another one starts A to Z, or for
   * numbers the way the table's data-first-sort says (ascending unless "descending"). */
  function sortTable(table, index) {
    var header = table.tHead.rows[0].cells[index];
    var numeric = header.getAttribute("data-type") === "number";
    var current = header.getAttribute("aria-sort");
    var descending = current === "ascending" || current === "descending"
      ? current === "ascending"
      : numeric && table.getAttribute("data-first-sort") === "descending";
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    rows.sort(function (a, b) {
      return compareValues(cellValue(a, index, numeric), cellValue(b, index, numeric), descending);
    });
    rows.forEach(function (row) {
      table.tBodies[0].appendChild(row);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  function csvField(text) {
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /* The table as CSV: a header's data-csv-header names its column (else its text), cells their data-value. */
  function tableCsv(table) {
    var lines = [Array.prototype.map.call(table.tHead.rows[0].cells, function (cell) {
      return csvField(cell.getAttribute("data-csv-header") || cell.textContent.trim());
    }).join(",")];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      lines.push(Array.prototype.map.call(row.cells, function (cell) {
        return csvField(cell.getAttribute("data-value"));
      }).join(","));
    });
    return lines.join("\r\n") + "\r\n";
  }

  /* With a byte order mark, so spreadsheet programs read the names as UTF-8. */
  function downloadCsv(table) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(["\ufeff" + tableCsv(table)], { type: "text/csv;charset=utf-8" }));
    link.download = table.getAttribute("data-csv-name") || "tabel.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  /* A button of a ".geo-levels" group shows the ".geo-level" box of its data-level beside the group. */
  function showLevel(button) {
    var group = button.closest(".geo-levels");
    var wanted = button.getAttribute("data-level");
    group.querySelectorAll("button[data-level]").forEach(function (other) {
      other.setAttribute("aria-pressed", String(other === button));
    });
    group.parentElement.querySelectorAll(".geo-level[data-level]").forEach(function (box) {
      box.hidden = box.getAttribute("data-level") !== wanted;
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) {
      return;
    }
    var sortButton = target.closest("table.geo-ranked thead th button");
    var csvButton = target.closest("button.geo-csv[data-table]");
    var levelButton = target.closest(".geo-levels button[data-level]");
    if (sortButton) {
      var header = sortButton.closest("th");
      sortTable(header.closest("table"), header.cellIndex);
    } else if (csvButton) {
      downloadCsv(document.getElementById(csvButton.getAttribute("data-table")));
    } else if (levelButton) {
      showLevel(levelButton);
    }
  });

  var GeoApp = {
    timeZone: TIME_ZONE,
    zoneLabel: ZONE_LABEL,
    pending: 0,
    escapeHtml: escapeHtml,
    fillTemplate: fillTemplate,
    formatValue: formatValue,
    failureText: failureText,
    layerFailure: layerFailure,

    sortTable: sortTable,
    tableCsv: tableCsv,

    /* Rows of a ranked table outline the features of ``layer`` whose ``property`` is the row's key while
     * hovered, and zoom the map to them when clicked. */
    linkTable: function (tableId, map, layer, property, highlight) {
      var table = document.getElementById(tableId);
      if (!table) {
        return;
      }
      function matching(row) {
        var key = row.getAttribute("data-key");
        var found = [];
        layer.eachLayer(function (featureLayer) {
          if (String((featureLayer.feature.properties || {})[property]) === key) {
            found.push(featureLayer);
          }
        });
        return found;
      }
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.addEventListener("mouseenter", function () {
          matching(row).forEach(function (featureLayer) {
            featureLayer.setStyle(highlight);
            featureLayer.bringToFront();
          });
          row.classList.add("geo-row-active");
        });
        row.addEventListener("mouseleave", function () {
          matching(row).forEach(function (featureLayer) {
            layer.resetStyle(featureLayer);
          });
          row.classList.remove("geo-row-active");
          raiseFrontLayers(map);
        });
        row.addEventListener("click", function () {
          var found = matching(row);
          if (found.length) {
            map.fitBounds(L.featureGroup(found).getBounds(), { maxZoom: 15, padding: [20, 20] });
          }
        });
      });
    },

    /* Run ``load`` once, the first time ``layer`` is on ``map`` (at once if it already is): layers that
     * start switched off cost nothing until the reader switches them on. */
    whenShown: function (map, layer, load) {
      if (map.hasLayer(layer)) {
        load();
      } else {
        layer.once("add", load);
      }
    },

    /* A box of HTML (legend, note) as a Leaflet control; clicks and scrolls stay inside it. With
     * ``layers`` it is shown only while one of them is on the map (a layer's own legend). */
    addHtmlControl: function (map, html, position, className, layers) {
      var control = L.control({ position: position });
      control.onAdd = function () {
        var box = L.DomUtil.create("div", className);
        box.innerHTML = html;
        if (window.matchMedia && window.matchMedia("(max-width: 800px)").matches) {
          box.querySelectorAll("details.geo-legend-fold").forEach(function (fold) {
            fold.open = false;
          });
        }
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      };
      control.addTo(map);
      if (layers && layers.length) {
        var update = function () {
          control.getContainer().hidden = !layers.some(function (layer) {
            return map.hasLayer(layer);
          });
        };
        layers.forEach(function (layer) {
          layer.on("add remove", update);
        });
        update();
      }
      return control;
    },

    /* Fetch JSON for a map layer: counted in GeoApp.pending while it runs. By default a failure is logged
     * and shown on the map (the promise then resolves to nothing, so callers only handle data). With
     * ``onFailure(error)`` the page shows the failure itself and the promise resolves to null; a 4xx
     * problem+json answer (e.g. 422 "not enough data") is a message for the reader, in ``error.problem``;
     * ``error.status`` is the HTTP status (none when the server could not be reached). */
    fetchJson: function (map, url, name, onFailure) {
      loadingBox(map);
      GeoApp.pending += 1;
      updateLoading();
      return fetch(url, { headers: { Accept: "application/geo+json, application/json" } })
        .then(function (response) {
          if (response.ok) {
            return response.json();
          }
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (problem) {
              var error = new Error(response.status + " " + response.statusText);
              error.status = response.status;
              error.problem = problem && response.status < 500 ? problem : null;
              throw error;
            });
        })
        .finally(function () {
          GeoApp.pending -= 1;
          updateLoading();
        })
        .catch(function (error) {
          if (!(onFailure && error.problem)) {
            console.error("GeoApp: " + url + ": " + error.message);
          }
          if (onFailure) {
            onFailure(error);
            return null;
          }
          layerFailure(map, null, name)(error);
          return new Promise(function () {});
        });
    },

    /* A marker icon: the Font Awesome ``symbol.icon`` on a disc of ``symbol.colour`` (CSS: className). */
    symbolIcon: function (className, symbol) {
      return L.divIcon({
        className: className,
        html: '<span style="background:' + symbol.colour + '"><i class="fa-solid fa-' + symbol.icon + '"></i></span>',
        iconSize: [24, 24],
        iconAnchor: [12, 12],
        popupAnchor: [0, -12],
      });
    },

    /* Place names from a GeoJSON URL as text labels in options.pane. Each kind of place (properties.category)
     * is named from its own zoom on (options.min_zoom, else options.default_zoom); where two names would
     * overlap, the higher kind (earlier in options.min_zoom) is shown, so names never cover each other. */
    placeLabels: function (map, url, options) {
      var layer = L.layerGroup().addTo(map);
      var kinds = Object.keys(options.min_zoom);
      var labels = [];
      function box(label, zoom) {
        var point = map.project(label.latlng, zoom);
        return [point.x - label.width / 2 - 3, point.y - 9, point.x + label.width / 2 + 3, point.y + 9];
      }
      function overlaps(a, b) {
        return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
      }
      function update() {
        var zoom = map.getZoom();
        var taken = [];
        labels.forEach(function (label) {
          var area = zoom >= label.minZoom ? box(label, zoom) : null;
          var shown = area !== null && !taken.some(function (other) { return overlaps(area, other); });
          if (shown) {
            taken.push(area);
          }
          if (shown !== layer.hasLayer(label.marker)) {
            if (shown) {
              layer.addLayer(label.marker);
            } else {
              layer.removeLayer(label.marker);
            }
          }
        });
      }
      GeoApp.fetchJson(map, url, options.name).then(function (data) {
        (data.features || []).forEach(function (feature) {
          var properties = feature.properties || {};
          var geometry = feature.geometry;
          if (!geometry || !properties.name) {
            return;
          }
          var latlng = geometry.type === "Point"
            ? L.latLng(geometry.coordinates[1], geometry.coordinates[0])
            : L.geoJSON(geometry).getBounds().getCenter();
          var category = String(properties.category || "");
          var rank = kinds.indexOf(category);
          var icon = L.divIcon({
            className: "geo-place-label geo-place-" + category.replace(/[^a-z_]/g, ""),
            html: "<span>" + escapeHtml(properties.name) + "</span>",
            iconSize: null,
          });
          labels.push({
            latlng: latlng,
            rank: rank < 0 ? kinds.length : rank,
            width: properties.name.length * (rank === 0 ? 9.5 : 6.8),
            minZoom: rank < 0 ? options.default_zoom : options.min_zoom[category],
            marker: L.marker(latlng, { icon: icon, pane: options.pane, interactive: false, keyboard: false }),
          });
        });
        labels.sort(function (a, b) { return a.rank - b.rank; });
        map.on("zoomend", update);
        update();
        layer.fire("geoapp:loaded", { count: labels.length });
      });
      return layer;
    },

    geoJsonLayer: function (map, url, options) {
      var style = featureStyle(options);
      var layer = L.geoJSON(null, {
        style: style,
        interactive: options.interactive !== false,
        pointToLayer: options.point
          ? function (feature, latlng) {
              return L.circleMarker(latlng, Object.assign({}, options.point, style(feature)));
            }
          : undefined,
        onEachFeature: function (feature, featureLayer) {
          var properties = feature.properties || {};
          if (options.popup_rows) {
            featureLayer.bindPopup(popupHtml(options.popup_title, options.popup_rows, properties), {
              maxWidth: 360,
            });
          }
          if (options.tooltip) {
            featureLayer.bindTooltip(fillTemplate(options.tooltip, properties), { sticky: true });
          }
          if (options.highlight && featureLayer.setStyle) {
            featureLayer.on("mouseover", function () {
              featureLayer.setStyle(options.highlight);
            });
            featureLayer.on("mouseout", function () {
              layer.resetStyle(featureLayer);
            });
          }
        },
      });
      if (options.front) {
        frontLayers.push(layer);
        map.on("overlayadd", function () {
          raiseFrontLayers(map);
        });
      }
      GeoApp.whenShown(map, layer, function () {
        GeoApp.fetchJson(map, url, options.name, layerFailure(map, layer, options.name)).then(function (data) {
          if (!data) {
            return;
          }
          layer.addData(data);
          GeoApp.firstDrawnAt = GeoApp.firstDrawnAt || performance.now();
          raiseFrontLayers(map);
          layer.fire("geoapp:loaded", { count: (data.features || []).length });
        });
      });
      return layer;
    },
  };

  window.GeoApp = GeoApp;

  /* ---- Phone layout (maps.css, max-width 800px): two header buttons fold the layer control with the
   * legends, and the side panel, in and out of view; on a wide screen the buttons are hidden. ---- */
  function phoneToggle(header, label, bodyClass, target) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", target);
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle(bodyClass);
      button.setAttribute("aria-expanded", String(open));
    });
    header.appendChild(button);
  }

  /* Fold the panel sheet away (e.g. after a panel button switched a layer on, so the reader sees it). */
  GeoApp.foldPhonePanel = function () {
    document.body.classList.remove("geo-show-panel");
    document.querySelectorAll('.geo-phone-toggles button[aria-controls="geo-panel"]').forEach(function (button) {
      button.setAttribute("aria-expanded", "false");
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var header = document.querySelector(".geo-header");
    if (!header) {
      return;
    }
    var toggles = document.createElement("div");
    toggles.className = "geo-phone-toggles";
    var map = document.querySelector(".folium-map");
    phoneToggle(toggles, "Lapisan & legenda", "geo-show-controls", map ? map.id : "");
    var panel = document.querySelector(".geo-panel");
    if (panel) {
      phoneToggle(toggles, "Rincian & filter", "geo-show-panel", panel.id);
    }
    header.appendChild(toggles);
  });
})();
