"""`POST /client/v4/graphql`: the `workersInvocationsAdaptive` dataset over the traffic model.

Answers are always HTTP 200: {"data": ..., "errors": null} or {"data": null, "errors": [...]}.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .gql import Field, GraphQLError, Operation, parse, resolve
from .records import parse_time
from .state import CloudflareState

DATASET = "workersInvocationsAdaptive"
TIME_DIMENSIONS: dict[str, Callable[[dt.datetime], str]] = {
    "datetime": lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "datetimeMinute": lambda m: m.strftime("%Y-%m-%dT%H:%M:00Z"),
    "datetimeFiveMinutes": lambda m: m.replace(minute=m.minute - m.minute % 5).strftime("%Y-%m-%dT%H:%M:00Z"),
    "datetimeFifteenMinutes": lambda m: m.replace(minute=m.minute - m.minute % 15).strftime("%Y-%m-%dT%H:%M:00Z"),
    "datetimeHour": lambda m: m.strftime("%Y-%m-%dT%H:00:00Z"),
    "date": lambda m: m.strftime("%Y-%m-%d"),
}
CONSTANT_DIMENSIONS: dict[str, Any] = {
    "cacheStatus": 0, "coloCode": "LHR", "dispatchNamespaceName": "", "environmentName": "production",
    "isPreview": 0, "scriptTag": "", "usageModel": "standard",
}
DIMENSIONS = [*TIME_DIMENSIONS, "scriptName", "scriptVersion", "status", *CONSTANT_DIMENSIONS]
SUMS: dict[str, Callable[[int, int], float]] = {  # (requests, errors) -> value
    "requests": lambda r, _e: r, "errors": lambda _r, e: e, "subrequests": lambda _r, _e: 0,
    "clientDisconnects": lambda _r, _e: 0, "cpuTimeUs": lambda r, _e: r * 1000, "wallTime": lambda r, _e: r * 5000,
    "duration": lambda r, _e: r * 0.000125, "responseBodySize": lambda r, _e: r * 200,
}
QUANTILES = {f"{metric}P{q}": value for metric, value in (("cpuTime", 1000), ("wallTime", 5000), ("duration", 0.000125),
                                                          ("responseBodySize", 200))
             for q in ("25", "50", "75", "90", "99", "999")}
FILTERS = {"scriptName", "scriptVersion", "status"}
TIME_FILTERS = {f"{name}_{op}" for name in ("datetime", "datetimeMinute") for op in ("geq", "gt", "leq", "lt")}
TYPES = {
    "AccountWorkersInvocationsAdaptiveDimensions": DIMENSIONS,
    "AccountWorkersInvocationsAdaptiveSum": list(SUMS),
    "AccountWorkersInvocationsAdaptiveQuantiles": list(QUANTILES),
    "AccountWorkersInvocationsAdaptive": ["avg", "dimensions", "quantiles", "sum"],
}


def answer(state: CloudflareState, body: Any) -> dict[str, Any]:
    try:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise GraphQLError("Must provide query string.")
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            raise GraphQLError("Variables must be an object.")
        operation = parse(body["query"])
        values = _bind(operation, variables)
        return {"data": {f.key: _root(state, f, values) for f in operation.selections}, "errors": None}
    except GraphQLError as exc:
        return {"data": None, "errors": [{"message": str(exc), "path": None, "extensions": {"code": "BAD_REQUEST"}}]}


def _bind(operation: Operation, given: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for name, (type_text, required, default) in operation.variables.items():
        if name in given and given[name] is not None:
            values[name] = given[name]
        elif default is not None:
            values[name] = default
        elif required:
            raise GraphQLError(f'Variable "${name}" of required type "{type_text}" was not provided.')
        else:
            values[name] = None
    return values


def _unknown(name: str, type_name: str) -> GraphQLError:
    return GraphQLError(f'Cannot query field "{name}" on type "{type_name}".')


def _leaf(field: Field, type_name: str) -> None:
    if field.selections:
        raise GraphQLError(f'Field "{field.name}" of type "{type_name}" must not have a selection of subfields.')


def _object(field: Field, type_name: str) -> list[Field]:
    if not field.selections:
        raise GraphQLError(f'Field "{field.name}" of type "{type_name}" must have a selection of subfields.')
    return field.selections


def _root(state: CloudflareState, field: Field, values: dict[str, Any]) -> Any:
    if field.name == "__type":
        return _introspect(field, resolve(field.args.get("name"), values))
    if field.name != "viewer":
        raise _unknown(field.name, "Query")
    out: dict[str, Any] = {}
    for sub in _object(field, "viewer"):
        if sub.name == "__typename":
            out[sub.key] = "viewer"
        elif sub.name == "accounts":
            flt = resolve(sub.args.get("filter"), values) or {}
            tags = flt.get("accountTag_in") or [flt.get("accountTag")]
            if any(tag != state.account_id for tag in tags):
                raise GraphQLError("not authorized for that account")
            out[sub.key] = [_account(state, sub, values)]
        else:
            raise _unknown(sub.name, "viewer")
    return out


def _account(state: CloudflareState, field: Field, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub in _object(field, "account"):
        if sub.name == "__typename":
            out[sub.key] = "account"
        elif sub.name == DATASET:
            args = {k: resolve(v, values) for k, v in sub.args.items()}
            out[sub.key] = _dataset(state, sub, args)
        else:
            raise _unknown(sub.name, "account")
    return out


def _window(flt: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    lo = hi = None
    for key in TIME_FILTERS & flt.keys():
        try:
            moment = parse_time(flt[key])
        except (TypeError, ValueError) as exc:
            raise GraphQLError(f"filter {key}: cannot parse {flt[key]!r} as a time") from exc
        if key.endswith(("_geq", "_gt")):
            lo = moment if lo is None else max(lo, moment)
        else:
            hi = moment if hi is None else min(hi, moment)
    if lo is None:
        raise GraphQLError("a time range filter is required: datetime_geq (or datetime_gt) must be set")
    return lo, hi or dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def _dataset(state: CloudflareState, field: Field, args: dict[str, Any]) -> list[dict[str, Any]]:
    unknown_args = set(args) - {"limit", "filter", "orderBy"}
    if unknown_args:
        raise GraphQLError(f'Unknown argument "{sorted(unknown_args)[0]}" on field "{DATASET}".')
    limit = args.get("limit", 10000)
    if not isinstance(limit, int) or not 0 < limit <= 10000:
        raise GraphQLError("limit must be an integer between 1 and 10000")
    flt = args.get("filter") or {}
    for extra in flt.get("AND") or []:
        flt = {**flt, **extra}
    flt.pop("AND", None)
    allowed = TIME_FILTERS | {f"{name}{op}" for name in FILTERS for op in ("", "_in", "_neq")}
    bad = sorted(set(flt) - allowed)
    if bad:
        raise GraphQLError(f'Unknown field "{bad[0]}" in AccountWorkersInvocationsAdaptiveFilter_InputObject.')
    lo, hi = _window(flt)
    with state.lock:
        scripts = sorted({script for script, _ in state.traffic.segments})
    rows = [{**row, "script": script} for script in scripts for row in state.traffic_rows(script, lo, hi)]
    keys = {"scriptName": "script", "scriptVersion": "version", "status": "status"}
    for name, attr in keys.items():
        if name in flt:
            rows = [r for r in rows if r[attr] == flt[name]]
        if f"{name}_in" in flt:
            rows = [r for r in rows if r[attr] in (flt[f"{name}_in"] or [])]
        if f"{name}_neq" in flt:
            rows = [r for r in rows if r[attr] != flt[f"{name}_neq"]]
    return _group(field, rows, args.get("orderBy") or [], limit)


def _dimension(name: str, row: dict[str, Any]) -> Any:
    if name in TIME_DIMENSIONS:
        return TIME_DIMENSIONS[name](row["minute"])
    if name in ("scriptName", "scriptVersion", "status"):
        return row[{"scriptName": "script", "scriptVersion": "version", "status": "status"}[name]]
    return CONSTANT_DIMENSIONS[name]


def _group(field: Field, rows: list[dict[str, Any]], order: Any, limit: int) -> list[dict[str, Any]]:
    wanted: list[str] = []
    for sub in _object(field, DATASET):
        if sub.name == "dimensions":
            for dim in _object(sub, "AccountWorkersInvocationsAdaptiveDimensions"):
                if dim.name not in DIMENSIONS:
                    raise _unknown(dim.name, "AccountWorkersInvocationsAdaptiveDimensions")
                _leaf(dim, "dimension")
                wanted.append(dim.name)
    _render(field, dict.fromkeys(wanted), [0, 0])  # validates the whole selection, even without data
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        key = tuple(_dimension(name, row) for name in wanted)
        totals = groups.setdefault(key, [0, 0])
        totals[0] += row["requests"]
        totals[1] += row["errors"]
    if not wanted and not groups:
        return []
    results = [(dict(zip(wanted, key, strict=True)), totals) for key, totals in groups.items()]
    results.sort(key=lambda item: tuple(str(v) for v in item[0].values()))
    for spec in reversed(order if isinstance(order, list) else [order]):
        name, _, direction = str(spec).rpartition("_")
        if direction not in ("ASC", "DESC"):
            raise GraphQLError(f"orderBy: unknown value {spec!r}")
        if name.startswith("sum_") and name[4:] in SUMS:
            fn = SUMS[name[4:]]
            results.sort(key=lambda item, fn=fn: fn(*item[1]), reverse=direction == "DESC")  # type: ignore[misc]
        elif name in wanted:
            results.sort(key=lambda item, name=name: str(item[0][name]), reverse=direction == "DESC")  # type: ignore[misc]
        else:
            raise GraphQLError(f"orderBy: {name} must be a selected dimension or sum_<field>")
    return [_render(field, dims, totals) for dims, totals in results[:limit]]


def _render(field: Field, dims: dict[str, Any], totals: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sub in field.selections:
        if sub.name == "__typename":
            out[sub.key] = "AccountWorkersInvocationsAdaptive"
        elif sub.name == "dimensions":
            out[sub.key] = {d.key: dims[d.name] for d in sub.selections}
        elif sub.name == "sum":
            out[sub.key] = _leaves(sub, "AccountWorkersInvocationsAdaptiveSum", lambda n: SUMS[n](*totals), SUMS)
        elif sub.name == "quantiles":
            out[sub.key] = _leaves(sub, "AccountWorkersInvocationsAdaptiveQuantiles", QUANTILES.__getitem__, QUANTILES)
        elif sub.name == "avg":
            out[sub.key] = _leaves(sub, "AccountWorkersInvocationsAdaptiveAvg", lambda _n: 1.0, {"sampleInterval": 1})
        else:
            raise _unknown(sub.name, "AccountWorkersInvocationsAdaptive")
    return out


def _leaves(field: Field, type_name: str, value: Callable[[str], Any], known: Any) -> dict[str, Any]:
    out = {}
    for sub in _object(field, type_name):
        if sub.name not in known:
            raise _unknown(sub.name, type_name)
        _leaf(sub, type_name)
        out[sub.key] = value(sub.name)
    return out


def _introspect(field: Field, name: Any) -> dict[str, Any] | None:
    fields = TYPES.get(str(name))
    if fields is None:
        return None
    out: dict[str, Any] = {}
    for sub in _object(field, "__Type"):
        if sub.name == "name":
            out[sub.key] = name
        elif sub.name == "fields":
            out[sub.key] = [{s.key: f for s in sub.selections if s.name == "name"} for f in fields]
        else:
            raise _unknown(sub.name, "__Type")
    return out
