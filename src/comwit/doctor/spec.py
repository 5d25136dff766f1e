"""Doctor, the spec: compare a published OpenAPI document with `comwit.api.contract`.

Pure: a document in, findings out. Per route: the path and method, the request's fields and
media type, its query parameters, and every field the client needs from the answer (nested
ones too); then each assumed error status. Path parameter names do not matter.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel

from comwit.api import assumed
from comwit.api.contract import JSON, REASONS, ROUTES, Route
from comwit.doctor.findings import Finding, differs, ok, unknown
from comwit.escape import quoted

# A shape is the field names of an object, each with the shape of its value (None: a leaf).
Shape = dict[str, "Shape | None"]
_PARAM: Final = re.compile(r"\{[^}]*\}")


def compare(spec: Mapping[str, Any], routes: Sequence[Route] = ROUTES) -> list[Finding]:
    """One finding per route, then one per assumed status."""
    document = Document(spec)
    findings = [_route_finding(document, route) for route in routes]
    return findings + _status_findings(document, routes)


class Document:
    """An OpenAPI document, looked up by method and path template."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self._paths = {_normal(path): item for path, item in (spec.get("paths") or {}).items()}

    def operation(self, route: Route) -> Mapping[str, Any] | None:
        item = self._paths.get(_normal(route.path)) or {}
        found = item.get(route.method.lower())
        return found if isinstance(found, Mapping) else None

    def resolve(self, schema: Any) -> Mapping[str, Any]:
        """`schema` with `$ref`s followed and `allOf`/`anyOf`/`oneOf` merged (nulls dropped)."""
        seen = 0
        while isinstance(schema, Mapping) and "$ref" in schema and seen < 32:
            schema = self._target(str(schema["$ref"]))
            seen += 1
        if not isinstance(schema, Mapping):
            return {}
        parts = [p for key in ("allOf", "anyOf", "oneOf") for p in schema.get(key) or ()]
        if not parts:
            return schema
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in _COMBINERS}
        for part in (self.resolve(p) for p in parts):
            if part.get("type") == "null":
                continue
            if part.get("properties"):
                merged.setdefault("properties", {}).update(part["properties"])
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        return merged

    def shape(self, schema: Any, depth: int = 0) -> Shape | None:
        """The field names `schema` describes (through arrays), or None for a leaf."""
        resolved = self.resolve(schema)
        if resolved.get("type") == "array" and depth < 16:
            return self.shape(resolved.get("items"), depth + 1)
        properties = resolved.get("properties")
        if not isinstance(properties, Mapping) or depth >= 16:
            return None
        return {name: self.shape(value, depth + 1) for name, value in properties.items()}

    def _target(self, ref: str) -> Any:
        node: Any = self.spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, Mapping) else None
        return node


_COMBINERS: Final = ("allOf", "anyOf", "oneOf")


def model_shape(model: type[BaseModel], *, required_only: bool = False) -> Shape:
    """The fields of `model` (nested models too), or only those the client cannot do without."""
    shape: Shape = {}
    for name, info in model.model_fields.items():
        if required_only and not info.is_required():
            continue
        nested = _nested_model(info.annotation)
        shape[info.alias or name] = (
            None if nested is None else model_shape(nested, required_only=required_only)
        )
    return shape


def answer_shape(document: Document, operation: Mapping[str, Any]) -> Shape | None:
    """The shape of the operation's 2xx JSON answer, or None when it declares none."""
    responses = operation.get("responses") or {}
    for status, response in sorted(responses.items()):
        if str(status).startswith("2"):
            content = document.resolve(response).get("content") or {}
            media = content.get(JSON) or next(iter(content.values()), None)
            if isinstance(media, Mapping) and "schema" in media:
                return document.shape(media["schema"])
    return None


def body_fields(document: Document, operation: Mapping[str, Any], media: str) -> set[str] | None:
    """The request body's field names in `media`, or None when it has no such body."""
    content = document.resolve(operation.get("requestBody")).get("content") or {}
    if media not in content:
        return None
    return set(document.shape(content[media].get("schema")) or ())


def query_names(document: Document, operation: Mapping[str, Any]) -> set[str]:
    parameters = (document.resolve(p) for p in operation.get("parameters") or ())
    return {str(p.get("name")) for p in parameters if p.get("in") == "query"}


def missing(needed: Shape, offered: Shape | None, prefix: str = "") -> list[str]:
    """Dotted names of the `needed` fields that `offered` lacks."""
    gaps: list[str] = []
    for name, inner in needed.items():
        if offered is None or name not in offered:
            gaps.append(prefix + name)
        elif inner:
            gaps += missing(inner, offered[name], f"{prefix}{name}.")
    return gaps


# -- per route --------------------------------------------------------------------------


def _route_finding(document: Document, route: Route) -> Finding:
    check = f"spec: {route.method} {route.path}"
    operation = document.operation(route)
    if operation is None:
        return differs(check, "the published spec has no such route")
    problems = _request_problems(document, operation, route)
    answer, note = _answer_problems(document, operation, route)
    problems += answer
    if problems:
        return differs(check, "; ".join(problems))
    return ok(check, note)


def _request_problems(document: Document, operation: Mapping[str, Any], route: Route) -> list[str]:
    problems: list[str] = []
    if route.body or route.media != JSON:
        fields = body_fields(document, operation, route.media)
        if fields is None:
            problems.append(f"its request body is not {route.media}")
        else:
            lacking = [f for f in route.body if f not in fields]
            if lacking:
                problems.append(
                    f"the request body has no field {_names(route, lacking)}"
                    f"; it has: {_names(route, sorted(fields)) or 'no fields'}"
                )
    params = query_names(document, operation)
    lacking = [q for q in route.query if q not in params]
    if lacking:
        problems.append(f"no query parameter {_names(route, lacking)}")
    return problems


def _answer_problems(
    document: Document, operation: Mapping[str, Any], route: Route
) -> tuple[list[str], str]:
    if not route.answers:
        return [], ""
    offered = answer_shape(document, operation)
    if offered is None:
        return [], "the spec does not describe its answer"
    gaps = [missing(model_shape(m, required_only=True), offered) for m in route.answers]
    if not gaps[0]:
        return [], ""
    fits = next((i for i, gap in enumerate(gaps) if not gap), None)
    if fits is not None:
        return [], _tolerated(route, route.answers[fits])
    return [f"the answer has no field {_names(route, gaps[0])}"], ""


def _tolerated(route: Route, model: type[BaseModel]) -> str:
    if route.assumption == "APP_ENVELOPE":
        return (
            f"it answers the app flat, not in {quoted(assumed.APP_ENVELOPE)} (APP_ENVELOPE); "
            "comwit reads both"
        )
    return f"its answer fits {model.__name__}"


# -- statuses ---------------------------------------------------------------------------


def _status_findings(document: Document, routes: Sequence[Route]) -> list[Finding]:
    by_reason: dict[str, list[tuple[int, Route]]] = {}
    for route in routes:
        if route.auth:
            by_reason.setdefault("STATUS_UNAUTHENTICATED", []).append(
                (assumed.STATUS_UNAUTHENTICATED, route)
            )
        for status, reason in sorted(route.statuses.items()):
            by_reason.setdefault(reason, []).append((status, route))
    findings = []
    for reason, uses in by_reason.items():
        statuses = sorted({status for status, _ in uses})
        check = f"spec: status {'/'.join(map(str, statuses))} for {REASONS.get(reason, reason)}"
        findings.append(_status_finding(document, check, uses, reason))
    return findings


def _status_finding(
    document: Document, check: str, uses: Iterable[tuple[int, Route]], reason: str
) -> Finding:
    lacking, silent, present = [], [], 0
    for status, route in uses:
        operation = document.operation(route)
        if operation is None:
            continue
        present += 1
        declared = {str(code) for code in operation.get("responses") or {}}
        if not any(code[:1] in "45" for code in declared):
            silent.append(route.name)
        elif str(status) not in declared:
            lacking.append(f"{route.name} ({status})")
    if lacking:
        tolerated = reason == "STATUS_UNAUTHENTICATED"
        cope = "; comwit gives a refused token's 403 the same advice" if tolerated else ""
        where = "any route" if len(lacking) == present > 2 else ", ".join(lacking)
        detail = f"not declared by {where}{cope}"
        return Finding(check, "differs", detail, needed=not tolerated)
    if silent:
        return unknown(check, f"the spec declares no error statuses for {', '.join(silent)}")
    return ok(check)


# -- helpers --------------------------------------------------------------------------------


def _normal(path: str) -> str:
    return _PARAM.sub("{}", path.rstrip("/") or "/")


def _names(route: Route, names: Iterable[str]) -> str:
    """Quoted names, each chosen by an assumption followed by that assumption's name."""
    chosen = _CHOSEN.get(route.assumption or "")
    return ", ".join(
        quoted(n) + (f" ({route.assumption})" if n.split(".")[0] == chosen else "") for n in names
    )


_CHOSEN: Final = {
    "APP_ENVELOPE": assumed.APP_ENVELOPE,
    "ROLLBACK_BODY_FIELD": assumed.ROLLBACK_BODY_FIELD,
    "LOGS_PAGE_TOKEN_PARAM": assumed.LOGS_PAGE_TOKEN_PARAM,
}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X`, `X | None`, `tuple[X, ...]` or `list[X]`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, tuple, list):
        for arg in get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None
