"""The X-Ray read APIs over the traces received by OTLP: GetTraceSummaries, BatchGetTraces,
GetServiceGraph, in the shapes of AWS's API reference (docs.aws.amazon.com/xray/latest/api)."""

import json

from labkit.dataplane.xray import store

ACCOUNT_ID = "123456789012"


def summaries(start: float, end: float) -> list[dict]:
    """Traces whose root segment started in [start, end] (epoch seconds)."""
    found = []
    for trace_id in store.trace_ids():
        segments = store.segments(trace_id)
        root = next((s for s in segments if "parent_id" not in s), None)
        if root is None or not start <= root["start_time"] <= end:
            continue
        everything = list(_walk(segments))
        summary = {
            "Id": trace_id,
            "StartTime": root["start_time"],
            "Duration": _duration(segments),
            "ResponseTime": round(root["end_time"] - root["start_time"], 3),
            "HasFault": any(d.get("fault") for d in everything),
            "HasError": any(d.get("error") for d in everything),
            "HasThrottle": any(d.get("throttle") for d in everything),
            "IsPartial": False,
            "Http": _summary_http(root.get("http", {})),
            "Annotations": {},
            "Users": [],
            "ServiceIds": [_service_id(node) for node in _nodes(segments)],
            "EntryPoint": _service_id(_node_of(root)),
        }
        found.append(summary)
    return sorted(found, key=lambda s: s["StartTime"])


def traces(trace_ids: list[str]) -> tuple[list[dict], list[str]]:
    """(the traces found, in BatchGetTraces's shape; the ids not found)."""
    found, missing = [], []
    for trace_id in trace_ids:
        segments = store.segments(trace_id)
        if not segments:
            missing.append(trace_id)
            continue
        found.append(
            {
                "Id": trace_id,
                "Duration": _duration(segments),
                "LimitExceeded": False,
                "Segments": [{"Id": s["id"], "Document": json.dumps(s)} for s in segments],
            }
        )
    return found, missing


def service_graph(start: float, end: float) -> list[dict]:
    """GetServiceGraph's Services: each service, and an edge to each service it called, with counts and
    response times (in seconds, as X-Ray gives them) of the calls as the caller measured them."""
    services: dict[tuple, dict] = {}

    def service(node: tuple) -> dict:
        if node not in services:
            name, kind = node
            services[node] = {
                "ReferenceId": len(services),
                "Names": [name] if name else [],
                "Root": kind == "client",
                "State": "unknown" if kind == "client" else "active",
                "Edges": {},
                "_stats": _new_stats(),
            }
            if name:
                services[node]["Name"] = name
            if kind:
                services[node]["Type"] = kind
        return services[node]

    for trace_id in store.trace_ids():
        segments = store.segments(trace_id)
        by_parent = {s["parent_id"]: s for s in segments if "parent_id" in s}
        for segment in segments:
            if not start <= segment["start_time"] <= end:
                continue
            callee = service(_node_of(segment))
            _count(callee["_stats"], segment)
            if "parent_id" not in segment:
                _edge(service(("", "client")), callee, segment)
            if segment["id"] in by_parent:  # a segment called straight from this one (Lambda's function)
                _edge(callee, service(_node_of(by_parent[segment["id"]])), by_parent[segment["id"]])
            for sub in _walk(segment.get("subsegments", [])):
                if sub["id"] in by_parent:
                    _edge(callee, service(_node_of(by_parent[sub["id"]])), sub)
                elif sub.get("namespace") in ("remote", "aws"):
                    remote = service(_node_of(sub))
                    _count(remote["_stats"], sub)
                    _edge(callee, remote, sub)
    return [_finished(s, services) for s in services.values()]


def _edge(caller: dict, callee: dict, call: dict) -> None:
    stats = caller["Edges"].setdefault(callee["ReferenceId"], _new_stats())
    _count(stats, call)


def _new_stats() -> dict:
    return {
        "OkCount": 0,
        "ErrorStatistics": {"ThrottleCount": 0, "OtherCount": 0, "TotalCount": 0},
        "FaultStatistics": {"OtherCount": 0, "TotalCount": 0},
        "TotalCount": 0,
        "TotalResponseTime": 0.0,
    }


def _count(stats: dict, document: dict) -> None:
    stats["TotalCount"] += 1
    stats["TotalResponseTime"] = round(stats["TotalResponseTime"] + document["end_time"] - document["start_time"], 6)
    if document.get("fault"):
        stats["FaultStatistics"]["OtherCount"] += 1
        stats["FaultStatistics"]["TotalCount"] += 1
    elif document.get("error"):
        kind = "ThrottleCount" if document.get("throttle") else "OtherCount"
        stats["ErrorStatistics"][kind] += 1
        stats["ErrorStatistics"]["TotalCount"] += 1
    else:
        stats["OkCount"] += 1


def _finished(service: dict, services: dict) -> dict:
    done = {key: value for key, value in service.items() if not key.startswith("_") and key != "Edges"}
    if service.get("Type") != "client":
        done["SummaryStatistics"] = service["_stats"]
    done["Edges"] = [
        {"ReferenceId": reference, "SummaryStatistics": stats, "Aliases": []}
        for reference, stats in service["Edges"].items()
    ]
    return done


def _nodes(segments: list[dict]) -> list[tuple]:
    nodes = [_node_of(s) for s in segments]
    nodes += [_node_of(s) for s in _walk(segments) if s.get("namespace") in ("remote", "aws")]
    return list(dict.fromkeys(nodes))


def _node_of(document: dict) -> tuple:
    """(name, type): a segment's service is typed by its origin, a remote call's by its namespace."""
    if "trace_id" in document:
        return document["name"], document.get("origin")
    if document.get("namespace") == "aws":
        return document["name"], f"AWS::{document['name']}"
    return document["name"], "remote"


def _service_id(node: tuple) -> dict:
    name, kind = node
    found = {"Name": name, "Names": [name], "AccountId": ACCOUNT_ID}
    if kind:
        found["Type"] = kind
    return found


def _summary_http(http: dict) -> dict:
    summary = {}
    if "url" in http.get("request", {}):
        summary["HttpURL"] = http["request"]["url"]
    if "method" in http.get("request", {}):
        summary["HttpMethod"] = http["request"]["method"]
    if "status" in http.get("response", {}):
        summary["HttpStatus"] = http["response"]["status"]
    return summary


def _duration(segments: list[dict]) -> float:
    return round(max(s["end_time"] for s in segments) - min(s["start_time"] for s in segments), 3)


def _walk(documents: list[dict]):
    for document in documents:
        yield document
        yield from _walk(document.get("subsegments", []))
