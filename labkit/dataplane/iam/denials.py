"""AccessDenied as each service answers it, in the service's protocol, with IAM's message:
"User: <assumed-role ARN> is not authorized to perform: <action> on resource: <ARN> because no
identity-based policy allows the <action> action" (or "with an explicit deny in an identity-based
policy"), or, for a KMS key, "... because no resource-based policy allows the <action> action"."""

import json

from labkit.dataplane.core.policies import EXPLICIT_DENY

# (status, error code) per service whose answer differs from the JSON protocol's 400 AccessDeniedException.
_QUERY_ERRORS = {"sns": (403, "AuthorizationError"), "sts": (403, "AccessDenied"), "iam": (403, "AccessDenied")}
_REST_ERRORS = {"lambda": (403, "AccessDeniedException"), "s3": (403, "AccessDenied")}


IDENTITY_BASED, RESOURCE_BASED = "identity-based", "resource-based"


def message(principal_arn: str, action: str, resource: str, decision: str, kind: str = IDENTITY_BASED) -> str:
    """`kind` is the policy that denied: an identity-based one (the role's), or a resource-based one
    (a KMS key policy, which must allow the caller or its account)."""
    article = "an" if kind == IDENTITY_BASED else "a"
    why = (
        f"with an explicit deny in {article} {kind} policy"
        if decision == EXPLICIT_DENY
        else f"because no {kind} policy allows the {action} action"
    )
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"


def response(service: str, protocol: str, text: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the service's AccessDenied answer."""
    if protocol == "query":
        status, code = _QUERY_ERRORS.get(service, (403, "AccessDenied"))
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(text)}</Message>"
            f"</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        ).encode()
        return _status(status), [("Content-Type", "text/xml")], body
    if protocol in ("rest-xml",) or service == "s3":
        status, code = _REST_ERRORS.get(service, (403, "AccessDenied"))
        body = f"<Error><Code>{code}</Code><Message>{_xml(text)}</Message></Error>".encode()
        return _status(status), [("Content-Type", "application/xml")], body
    status, code = _REST_ERRORS.get(service, (400, "AccessDeniedException"))
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    if service == "sqs":  # SQS's JSON protocol also says the query protocol's code
        status, code = 403, "AccessDenied"
        headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
    headers.append(("x-amzn-ErrorType", code))
    return _status(status), headers, json.dumps({"__type": code, "message": text}).encode()


def _status(code: int) -> str:
    return {400: "400 Bad Request", 403: "403 Forbidden"}[code]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
