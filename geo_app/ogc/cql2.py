"""Parse CQL2 text filters (OGC API – Features Part 3) into a pygeofilter AST.

pygeofilter's CQL2 text grammar lacks ``S_DWITHIN(geometry, geometry, distance[, units])``; this module
extends that grammar with it (distance in metres) and otherwise uses pygeofilter unchanged.

A filter is at most MAX_FILTER_LENGTH characters, MAX_FILTER_TERMS terms (operators, properties and
values; a geometry counts once) and MAX_FILTER_DEPTH levels of nesting (a chain of ANDs, or of ORs, is
one level): the SQL it becomes stays small, and turning it into SQL never runs out of stack.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import lark
from pygeofilter import ast
from pygeofilter.parsers import cql2_text
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

MAX_FILTER_LENGTH = 20_000
MAX_FILTER_TERMS = 1_000
MAX_FILTER_DEPTH = 30
DISTANCE_UNITS = {"meters": 1.0, "metres": 1.0, "kilometers": 1000.0, "kilometres": 1000.0, "km": 1000.0}

_DWITHIN_RULE = """
%extend spatial_predicate: "S_DWITHIN"i "(" expression "," expression "," full_number ("," attribute)? ")" \
    -> dwithin_predicate
"""


class FilterSyntaxError(ValueError):
    """The filter is not CQL2 text this service understands; the message says where."""


class FilterTooLarge(FilterSyntaxError):
    """The filter is longer, has more terms or nests deeper than the service evaluates; says which."""


@lark.v_args(inline=True)
class _Transformer(CQLTransformer):
    def dwithin_predicate(self, lhs, rhs, distance, units=None):
        unit = units.name.lower() if units is not None else "meters"
        if unit not in DISTANCE_UNITS:
            raise FilterSyntaxError(f"S_DWITHIN: unknown unit {unit!r}; use {', '.join(DISTANCE_UNITS)}")
        return ast.DistanceWithin(lhs, rhs, float(distance) * DISTANCE_UNITS[unit], "meters")


@cache
def _parser() -> lark.Lark:
    grammar_file = Path(cql2_text.__file__).with_name("grammar.lark")
    return lark.Lark(
        grammar_file.read_text() + _DWITHIN_RULE,
        parser="lalr",
        source_path=str(grammar_file),
        import_paths=[str(grammar_file.parent.parent)],
        maybe_placeholders=False,
        transformer=_Transformer(),
    )


def parse(text: str) -> ast.Node:
    """The AST of a CQL2 text filter; FilterSyntaxError with the position of the first problem."""
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterTooLarge(
            f"the filter has {len(text):,} characters; at most {MAX_FILTER_LENGTH:,} are accepted "
            "(use IN (...) for a list of values, or split the question into several requests)"
        )
    try:
        node = _parser().parse(text)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, FilterSyntaxError):
            raise exc.orig_exc from None
        raise FilterSyntaxError(f"cannot read the filter: {exc.orig_exc}") from None
    except lark.exceptions.UnexpectedInput as exc:
        rest = text[max(exc.column - 1, 0) :][:40]
        raise FilterSyntaxError(f"CQL2 syntax error at character {exc.column}: {rest!r}") from None
    except lark.exceptions.LarkError as exc:
        raise FilterSyntaxError(f"cannot read the filter: {exc}") from None
    check_size(node)
    return node


def check_size(root: ast.Node) -> None:
    """FilterTooLarge when the tree has more than MAX_FILTER_TERMS terms or is nested deeper than
    MAX_FILTER_DEPTH; walked without recursion, so any tree the parser built can be measured."""
    terms, pending = 0, [(root, 1)]
    while pending:
        node, depth = pending.pop()
        terms += 1
        if terms > MAX_FILTER_TERMS:
            raise FilterTooLarge(
                f"the filter has more than {MAX_FILTER_TERMS:,} terms; split the question into several "
                "requests"
            )
        if depth > MAX_FILTER_DEPTH:
            raise FilterTooLarge(
                f"the filter nests more than {MAX_FILTER_DEPTH} levels deep; write it with fewer "
                "NOT, parentheses and nested functions"
            )
        children = node.get_sub_nodes() if isinstance(node, ast.Node) else []
        for child in children:
            same_chain = isinstance(node, ast.And | ast.Or) and type(child) is type(node)
            pending.append((child, depth if same_chain else depth + 1))
