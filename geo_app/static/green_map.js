/* /maps/green (geo_app.maps.green): the hatch patterns of lost land and park gaps, and the swipe between the
 * two dates (only while both green layers are on). The ranked tables beside the map are maps.js's. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";

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

  window.GeoGreen = {
    init: function (map, layers) {
      addHatches(layers.colours);
      styleChanges(map, layers.changes, layers.colours);
      swipeWhenBoth(map, layers.swipe, layers.left, layers.right);
    },
  };
})();
