/* /maps/green (geo_app.maps.green): the hatch patterns of lost land and park gaps, the swipe between the
 * two dates (only while both green layers are on), and the ranked table beside the map: sortable by any
 * column, kelurahan or kecamatan, pointing at a row outlines its area on the map, a click zooms to it. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var HIGHLIGHT = { weight: 4, color: "#0b5e7a", fillOpacity: 0.85 };

  /* Diagonal-line fills as SVG patterns, referenced by the layers' fillColor "url(#id)". */
  function addHatches(colours) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    svg.setAttribute("aria-hidden", "true");
    svg.style.position = "absolute";
    var defs = document.createElementNS(SVG, "defs");
    [
      ["geo-hatch-lost", colours.lost, 45, 2.5],
      ["geo-hatch-gap", "#252525", -45, 1.2],
    ].forEach(function (entry) {
      var pattern = document.createElementNS(SVG, "pattern");
      pattern.setAttribute("id", entry[0]);
      pattern.setAttribute("patternUnits", "userSpaceOnUse");
      pattern.setAttribute("width", "7");
      pattern.setAttribute("height", "7");
      pattern.setAttribute("patternTransform", "rotate(" + entry[2] + ")");
      var back = document.createElementNS(SVG, "rect");
      back.setAttribute("width", "7");
      back.setAttribute("height", "7");
      back.setAttribute("fill", "#ffffff");
      back.setAttribute("fill-opacity", entry[0] === "geo-hatch-lost" ? "0.55" : "0");
      var line = document.createElementNS(SVG, "rect");
      line.setAttribute("width", String(entry[3]));
      line.setAttribute("height", "7");
      line.setAttribute("fill", entry[1]);
      pattern.appendChild(back);
      pattern.appendChild(line);
      defs.appendChild(pattern);
    });
    svg.appendChild(defs);
    document.body.appendChild(svg);
  }

  /* Gained land outlined in blue, lost land in magenta (the fill comes from the colour rule). A change
   * too small to see at the city's zoom also gets a ring of its colour, shown while the layer is on. */
  function styleChanges(map, layer, colours) {
    var rings = L.layerGroup();
    layer.on("geoapp:loaded", function () {
      layer.setStyle(function (feature) {
        return { color: feature.properties.change === "lost" ? colours.lost : colours.gained };
      });
      layer.eachLayer(function (shape) {
        var bounds = shape.getBounds();
        var size = map.latLngToLayerPoint(bounds.getNorthEast()).distanceTo(map.latLngToLayerPoint(bounds.getSouthWest()));
        if (size < 12) {
          var colour = shape.feature.properties.change === "lost" ? colours.lost : colours.gained;
          L.circleMarker(bounds.getCenter(), { radius: 8, color: colour, weight: 2.5, fill: false, interactive: false })
            .addTo(rings);
        }
      });
      if (map.hasLayer(layer)) {
        rings.addTo(map);
      }
    });
    layer.on("add", function () {
      rings.addTo(map);
    });
    layer.on("remove", function () {
      rings.remove();
    });
  }

  /* The swipe control is on the map only while both dates are: one date alone needs no divider. */
  function swipeWhenBoth(map, swipe, left, right) {
    function sync() {
      var both = map.hasLayer(left) && map.hasLayer(right);
      if (both && !swipe._map) {
        swipe.addTo(map);
      } else if (!both) {
        swipe.remove();
        [left, right].forEach(function (layer) {
          layer.getContainer().style.clip = "";
        });
      }
    }
    [left, right].forEach(function (layer) {
      layer.on("add remove", sync);
    });
    sync();
  }

  function areaLayers(areas, level, code) {
    var found = [];
    areas.eachLayer(function (layer) {
      var properties = layer.feature.properties;
      if ((level === "kelurahan" ? properties.code : properties.parent_code) === code) {
        found.push(layer);
      }
    });
    return found;
  }

  function rankingTables(map, areas) {
    var panel = document.querySelector(".geo-panel");
    if (!panel) {
      return;
    }
    var outlined = [];
    var current = null;

    function outline(row) {
      if (row === current) {
        return;
      }
      current = row;
      outlined.forEach(function (layer) {
        areas.resetStyle(layer);
      });
      outlined = row ? areaLayers(areas, row.getAttribute("data-level"), row.getAttribute("data-code")) : [];
      outlined.forEach(function (layer) {
        layer.setStyle(HIGHLIGHT);
        layer.bringToFront();
      });
    }

    function sortBy(header) {
      var table = header.closest("table");
      var body = table.tBodies[0];
      var index = Array.prototype.indexOf.call(header.parentNode.children, header);
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (th) {
        th.setAttribute("aria-sort", "none");
      });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute("data-value");
        var y = b.cells[index].getAttribute("data-value");
        if (x === "" || y === "") {
          return (x === "") - (y === "");  /* no value: always last */
        }
        var order = index === 0 ? x.localeCompare(y, "id") : Number(x) - Number(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) {
        body.appendChild(row);
      });
    }

    panel.addEventListener("click", function (event) {
      var header = event.target.closest(".green-table th");
      if (header) {
        sortBy(header);
        return;
      }
      var level = event.target.closest(".green-level button");
      if (level) {
        var wanted = level.getAttribute("data-level");
        panel.querySelectorAll(".green-level button").forEach(function (button) {
          button.setAttribute("aria-pressed", String(button === level));
        });
        panel.querySelectorAll(".green-ranking").forEach(function (box) {
          box.hidden = box.getAttribute("data-level") !== wanted;
        });
        return;
      }
      var row = event.target.closest(".green-table tbody tr");
      if (row) {
        var shapes = areaLayers(areas, row.getAttribute("data-level"), row.getAttribute("data-code"));
        if (shapes.length) {
          map.fitBounds(L.featureGroup(shapes).getBounds(), { padding: [30, 30], maxZoom: 15 });
        }
      }
    });
    panel.addEventListener("mouseover", function (event) {
      outline(event.target.closest(".green-table tbody tr"));
    });
    panel.addEventListener("mouseleave", function () {
      outline(null);
    });
  }

  window.GeoGreen = {
    init: function (map, layers) {
      addHatches(layers.colours);
      styleChanges(map, layers.changes, layers.colours);
      swipeWhenBoth(map, layers.swipe, layers.left, layers.right);
      rankingTables(map, layers.areas);
    },
  };
})();
