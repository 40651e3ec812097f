"""Small declarations next to views that /openapi.json reads: query parameters and the media type.

    @blueprint.get("/api/things")
    @declare(QueryParam("level", "kecamatan or kelurahan", enum=("kecamatan", "kelurahan")))
    def things(): ...

Views without a declaration are still documented: their summary comes from the docstring and their
query parameters from the names they pass to ``reject_unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    type: str = "string"
    enum: tuple[str, ...] = ()
    default: object = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def schema(self) -> dict:
        schema: dict = {"type": self.type}
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.default is not None:
            schema["default"] = self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True)
class ApiDeclaration:
    params: tuple[QueryParam, ...] = ()
    media_type: str | None = None
    per_collection: bool = False  # document once per OGC collection (path value collection_id)
    items: bool = False  # OGC items parameters plus the collection's queryables


def declare(
    *params: QueryParam, media_type: str | None = None, per_collection: bool = False, items: bool = False
) -> Callable:
    """Attach what the OpenAPI document says about a view (the view itself is unchanged)."""

    def attach(view: Callable) -> Callable:
        view.api_declaration = ApiDeclaration(params, media_type, per_collection, items)
        return view

    return attach
