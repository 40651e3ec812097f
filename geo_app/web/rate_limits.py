"""The one request limiter of the app (Flask-Limiter, per process): sign-in attempts and PDF reports.

Limits are strings in Flask-Limiter's notation ("10 per minute"), read from the settings at request
time; going over answers 429 problem+json with Retry-After (geo_app.web.errors).
"""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from geo_app.auth.identity import current_identity

limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", strategy="fixed-window")


def user_or_address() -> str:
    """Signed-in people and tokens are counted per user (many share one office address), the public per
    address."""
    identity = current_identity()
    return f"user:{identity.user_id}" if identity.signed_in else f"address:{request.remote_addr}"
