"""X-Ray's sampling API, which SDKs and collectors poll (X-Ray remote sampling): GetSamplingRules answers the
account's one rule, the default one AWS gives every account (the first request each second, then 5 % of the
others, for every service, host, method and path); GetSamplingTargets hands each client reporting on it the
rule's fixed rate and a reservoir quota of its own. Rules cannot be created here (moto 5.2.5 has no sampling
API); any other X-Ray operation moto does not route is refused, naming the operation, instead of answering
moto server's HTML 404."""

import json
import time

import botocore.session

from labkit import config

DEFAULT_RULE = "Default"
FIXED_RATE, RESERVOIR_SIZE, PRIORITY = 0.05, 1, 10000
# How long a client may use the quota it got, and how often it should report again (AWS: 10 s).
QUOTA_TTL_S, REPORT_INTERVAL_S = 10, 10
# Accounts get the default rule when X-Ray is first used; its creation time is reported as "long ago".
CREATED_AT = 0.0
# The X-Ray paths moto server routes itself (moto.xray.urls).
MOTO_ROUTES = frozenset({"/TelemetryRecords", "/TraceSegments", "/Traces", "/ServiceGraph", "/TraceGraph"})
MOTO_ROUTES |= {"/TraceSummaries"}


def _operations_by_path() -> dict[str, str]:
    model = botocore.session.get_session().get_service_model("xray")
    found = {}
    for name in model.operation_names:
        path = model.operation_model(name).http["requestUri"]
        if path not in MOTO_ROUTES:
            found[path] = name
    return found


UNROUTED = _operations_by_path()


def rule_arn(region: str) -> str:
    return f"arn:aws:xray:{region}:{config.LOCAL_ACCOUNT_ID}:sampling-rule/{DEFAULT_RULE}"


def sampling_rules(region: str) -> dict:
    rule = {
        "RuleName": DEFAULT_RULE,
        "RuleARN": rule_arn(region),
        "ResourceARN": "*",
        "Priority": PRIORITY,
        "FixedRate": FIXED_RATE,
        "ReservoirSize": RESERVOIR_SIZE,
        "ServiceName": "*",
        "ServiceType": "*",
        "Host": "*",
        "HTTPMethod": "*",
        "URLPath": "*",
        "Version": 1,
        "Attributes": {},
    }
    return {"SamplingRuleRecords": [{"SamplingRule": rule, "CreatedAt": CREATED_AT, "ModifiedAt": CREATED_AT}]}


def sampling_targets(request: dict, now: float | None = None) -> dict:
    """Targets for the statistics documents of the default rule; documents of any other rule are unprocessed."""
    now = time.time() if now is None else now
    targets, unprocessed = [], []
    for document in request.get("SamplingStatisticsDocuments", []):
        name = document.get("RuleName")
        if name == DEFAULT_RULE:
            if all(t["RuleName"] != name for t in targets):
                targets.append(
                    {
                        "RuleName": name,
                        "FixedRate": FIXED_RATE,
                        "ReservoirQuota": RESERVOIR_SIZE,
                        "ReservoirQuotaTTL": now + QUOTA_TTL_S,
                        "Interval": REPORT_INTERVAL_S,
                    }
                )
        else:
            unprocessed.append({"RuleName": name, "ErrorCode": "400", "Message": f"Sampling rule {name} not found"})
    return {
        "SamplingTargetDocuments": targets,
        "LastRuleModification": CREATED_AT,
        "UnprocessedStatistics": unprocessed,
    }


def answer(operation: str, region: str, body: bytes) -> tuple[int, dict]:
    """(HTTP status, JSON body) of one X-Ray operation moto does not route."""
    if operation == "GetSamplingRules":
        return 200, sampling_rules(region)
    if operation == "GetSamplingTargets":
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return 400, {"__type": "InvalidRequestException", "message": "The request body is not valid JSON"}
        return 200, sampling_targets(request)
    return 501, {
        "__type": "NotImplemented",
        "message": f"The local cloud does not implement X-Ray's {operation} (it serves PutTraceSegments, "
        "GetTraceSummaries, BatchGetTraces, GetServiceGraph, GetTraceGraph, GetSamplingRules and GetSamplingTargets)",
    }
