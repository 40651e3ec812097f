"""OGC API – Features and vector tiles as a small framework-neutral core over a collection registry.

``geo_app.published`` declares each published layer (source table, id column, properties, time, public
restrictions) and ``geo_app.crs`` the coordinate reference systems offered; both sit below ``store`` and
``ogc``, so imports run one way. ``core`` answers the OGC API requests from those declarations through
``geo_app.store.features`` (the SQL) and ``geo_app.store.cql2`` (CQL2 filters as parameterised SQL).
``geo_app.web.ogc`` and ``geo_app.web.tiles`` are the thin Flask adapters. Publishing another layer is a
collection definition, not new code.
"""
