"""The national tier: city nodes export GeoParquet collections; the national office analyses them on Dask.

- ``collection``: the layout of a collection (one dataset per layer, partitioned by city code) and how
  to write and read one city of it;
- ``export``: one city node's data, without personal data, into a collection (``geo-app export-parquet``);
- ``city_analysis``: per city, the league figures and the Gi* hot spots, by the city node's own pure
  functions;
- ``cross_border``: one Gi* over H3 cells summed across cities, for hot spots that cross city borders;
- ``run``: the job on a Dask cluster (``geo-app national``), writing a run folder;
- ``simulation``: N synthetic cities written straight into a collection, for benchmarks and tests.
"""
