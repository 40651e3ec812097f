"""The sample city: Kota Cilegon's real codes, names, points, populations and outline, with generated
boundaries, roads, assets, 112 calls and green areas, all labelled as sample data.

``load_sample_city(database_url)`` generates and loads it (``geo-app load-sample``);
``generate_sample_city()`` returns the layers without a database (``geo-app make-sample-data``).
"""

from geo_app.sample.city import SampleCity, generate_sample_city
from geo_app.sample.load import is_city_loaded, load_sample_city

__all__ = ["SampleCity", "generate_sample_city", "is_city_loaded", "load_sample_city"]
