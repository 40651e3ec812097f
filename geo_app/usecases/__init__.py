"""One function per use case, called alike by the API, the pages, the printable reports and the CLI.

Each takes a connection, the city (geo_app.city.CityContext), what it needs of the catalog or settings and
a typed request (a frozen dataclass beside it), and returns plain data or a typed result, so every figure
the service shows has one source. Lists come in keyset pages (``paging``); a use case that cannot answer
raises one of ``errors`` (NotFound, Rejected, NotEnoughData, NoArea, CoverageError, TooMuchWork), which the
web layer turns into problem+json once (geo_app.web.errors). No use case imports Flask or geo_app.web
(tests/test_layering.py).
"""
