"""Which action a listener takes for a request: rules by priority, then the default action.

Conditions follow the ELB API: all conditions of a rule must match, any value of a condition may.
path-pattern is case-sensitive; host-header, http-header and query-string are not; * matches any
characters and ? exactly one.
"""

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

# What a listener does last. authenticate-oidc/cognito come before one of these; locally they
# are passed over (the fidelity note says so).
FINAL_ACTIONS = ("forward", "fixed-response", "redirect")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # names in lower case
    client_ip: str

    @property
    def host(self) -> str:
        return self.headers.get("host", "").rsplit(":", 1)[0]


def action_for(listener, request: Request):
    """The FakeAction of the first rule, by priority, whose conditions all match."""
    rules = sorted(listener.rules.values(), key=_priority)
    for rule in rules:
        if all(_matches(condition, request) for condition in rule.conditions):
            return final_action(rule.actions)
    return None


def final_action(actions):
    final = [a for a in actions if a.type in FINAL_ACTIONS]
    return sorted(final, key=lambda a: int(a.data.get("Order", 50000)))[-1] if final else None


def target_group_arns(action) -> list[str]:
    if action is None or action.type != "forward":
        return []
    if action.data.get("TargetGroupArn"):
        return [action.data["TargetGroupArn"]]
    groups = action.data.get("ForwardConfig", {}).get("TargetGroups", [])
    return [group["TargetGroupArn"] for group in groups]


def forwarded_to(group) -> bool:
    """Does any listener rule forward to this target group? If not, its targets are unused."""
    return bool(balancers_forwarding_to(group))


def balancers_forwarding_to(group) -> list:
    """The load balancers with a listener rule that forwards to this target group."""
    from moto.elbv2.models import elbv2_backends

    backend = elbv2_backends[group.account_id][group.region_name]
    found = []
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            if any(group.arn in target_group_arns(a) for r in list(listener.rules.values()) for a in r.actions):
                found.append(balancer)
                break
    return found


def _priority(rule) -> float:
    return float("inf") if rule.priority == "default" else int(rule.priority)


def _matches(condition: dict, request: Request) -> bool:
    field = condition.get("Field")
    if field == "path-pattern":
        values = _values(condition, "PathPatternConfig")
        return any(_pattern(v, False).fullmatch(request.path) for v in values)
    if field == "host-header":
        values = _values(condition, "HostHeaderConfig")
        return any(_pattern(v, True).fullmatch(request.host) for v in values)
    if field == "http-header":
        config = condition.get("HttpHeaderConfig", {})
        found = request.headers.get(config.get("HttpHeaderName", "").lower())
        return found is not None and any(_pattern(v, True).fullmatch(found) for v in config.get("Values", []))
    if field == "query-string":
        pairs = parse_qsl(request.query, keep_blank_values=True)
        return any(
            _query_pair_matches(wanted, pairs) for wanted in condition.get("QueryStringConfig", {}).get("Values", [])
        )
    if field == "http-request-method":
        return request.method in _values(condition, "HttpRequestMethodConfig")
    if field == "source-ip":
        address = ipaddress.ip_address(request.client_ip)
        return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in _values(condition, "SourceIpConfig"))
    return False


def _values(condition: dict, config_key: str) -> list[str]:
    return condition.get(config_key, {}).get("Values") or condition.get("Values") or []


def _query_pair_matches(wanted: dict, pairs: list[tuple[str, str]]) -> bool:
    key, value = wanted.get("Key"), _pattern(wanted.get("Value", "*"), True)
    return any((key is None or _pattern(key, True).fullmatch(k)) and value.fullmatch(v) for k, v in pairs)


@lru_cache(maxsize=1024)
def _pattern(text: str, ignore_case: bool) -> re.Pattern:
    """ALB wildcards: * is any run of characters, ? one character; nothing else is special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def find_rule(rule_arn: str):
    """The listener rule (a listener's default rule too) with this ARN, or None."""
    from moto.elbv2.models import elbv2_backends

    from labkit.dataplane.core.arns import Arn

    arn = Arn.parse(rule_arn)
    backend = elbv2_backends[arn.account][arn.region]
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                if rule.arn == rule_arn:
                    return rule
    return None


def forward_weights(rule) -> dict[str, int]:
    """The weight of each target group the rule's forward action sends to."""
    action = final_action(rule.actions)
    if action is None or action.type != "forward":
        return {}
    if action.data.get("TargetGroupArn"):
        return {action.data["TargetGroupArn"]: 1}
    groups = action.data.get("ForwardConfig", {}).get("TargetGroups", [])
    return {group["TargetGroupArn"]: int(group.get("Weight", 1)) for group in groups}


def set_forward_weights(rule, weights: dict[str, int]) -> None:
    """The rule's forward action sends to these target groups with these weights, as a
    ModifyRule with a ForwardConfig does; the listener's next request sees it."""
    action = final_action(rule.actions)
    if action is None or action.type != "forward":
        raise ValueError(f"the rule {rule.arn} does not forward")
    action.data.pop("TargetGroupArn", None)
    config = action.data.setdefault("ForwardConfig", {})
    config["TargetGroups"] = [{"TargetGroupArn": arn, "Weight": int(weight)} for arn, weight in weights.items()]
