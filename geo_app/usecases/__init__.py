"""One function per use case, called alike by the API, the pages, the printable reports and the CLI.

Each takes a connection, the city (geo_app.city.CityContext) and a typed request, and returns plain data,
so every figure the service shows has one source.
"""
