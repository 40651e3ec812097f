"""WSGI entry point for gunicorn: ``gunicorn geo_app.wsgi:app``."""

from geo_app import create_app

app = create_app()
