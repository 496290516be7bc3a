"""The action a call needs permission for, and the resource ARNs it acts on, for the services whose
resources the course's workloads use (IAM Service Authorization Reference, "Actions, resources, and
condition keys"). Any other call acts on "*", as AWS evaluates actions that take no resource."""

from urllib.parse import urlsplit

from labkit.dataplane.iam.requests import Call

# Operations whose IAM action has another name than the operation (or covers a batch of them).
_ACTIONS = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "DeleteObjects"): "DeleteObject",
}


def action(call: Call) -> str:
    return f"{call.action_prefix}:{_ACTIONS.get((call.service, call.operation), call.operation)}"


def context(call: Call, region: str, principal_arn: str) -> dict:
    """The condition keys of the request that the labs' policies use (IAM User Guide, "AWS global
    condition context keys"; KMS's kms:EncryptionContext:KEY)."""
    keys = {"aws:PrincipalArn": principal_arn, "aws:RequestedRegion": region}
    encryption_context = call.params.get("EncryptionContext")
    if call.service == "kms":  # key policies' kms:CallerAccount (AWS's default policy for services uses it)
        keys["kms:CallerAccount"] = principal_arn.split(":")[4]
    if call.service == "kms" and isinstance(encryption_context, dict):
        keys.update({f"kms:EncryptionContext:{name}": value for name, value in encryption_context.items()})
        keys["kms:EncryptionContextKeys"] = list(encryption_context)
    return keys


def arns(call: Call, region: str, account: str) -> list[str]:
    """Each resource the call acts on; the call needs the action on every one of them."""
    params = call.params
    find = _FINDERS.get(call.service)
    found = find(call, params, region, account) if find else []
    return [arn for arn in found if arn] or ["*"]


def _dynamodb(call, params, region, account):
    def table(name, index=None):
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if "RequestItems" in params:
        return [table(name) for name in params["RequestItems"]]
    if "TransactItems" in params:
        return [table(part["TableName"]) for item in params["TransactItems"] for part in item.values()]
    if "TableName" in params:
        return [table(params["TableName"], params.get("IndexName"))]
    if "StreamArn" in params:
        return [params["StreamArn"]]
    return []


def _sqs(call, params, region, account):
    url = params.get("QueueUrl")
    if url:
        parts = urlsplit(url).path.strip("/").split("/")
        if len(parts) >= 2:
            return [f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"]
    if "QueueName" in params:
        return [f"arn:aws:sqs:{region}:{account}:{params['QueueName']}"]
    return []


def _sns(call, params, region, account):
    return [params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")]


def _logs(call, params, region, account):
    group = params.get("logGroupName")
    if not group:
        return []
    arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    stream = params.get("logStreamName")
    return [f"{arn}:log-stream:{stream}" if stream and call.operation == "PutLogEvents" else arn]


def _lambda(call, params, region, account):
    name = params.get("FunctionName")
    if not name:
        return []
    from labkit.dataplane.core.arns import FunctionRef

    ref = FunctionRef.parse(name, params.get("Qualifier"))
    arn = f"arn:aws:lambda:{ref.region or region}:{ref.account or account}:function:{ref.name}"
    return [f"{arn}:{ref.qualifier}" if ref.qualifier else arn]


def _s3(call, params, region, account):
    bucket, key = params.get("Bucket"), params.get("Key")
    if not bucket:
        return []
    return [f"arn:aws:s3:::{bucket}/{key}" if key is not None else f"arn:aws:s3:::{bucket}"]


def _kms(call, params, region, account):
    key = params.get("KeyId")
    if not key and params.get("CiphertextBlob"):  # Decrypt: the key its ciphertext was made with
        from labkit.dataplane import kms

        return [kms.key_of_ciphertext(params["CiphertextBlob"], account, region)]
    if not key:
        return []
    if key.startswith("arn:") and ":key/" in key:
        return [key]
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    try:  # an alias or a key id: the key's ARN, as AWS evaluates it
        return [backend.describe_key(key).arn]
    except Exception:
        return [f"arn:aws:kms:{region}:{account}:key/{key}"]


def _secretsmanager(call, params, region, account):
    secret = params.get("SecretId")
    if not secret:
        return []
    from moto.secretsmanager.models import secretsmanager_backends

    try:  # the secret's ARN, with the random suffix AWS adds to its name
        return [secretsmanager_backends[account][region].describe_secret(secret).arn]
    except Exception:
        return [secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"]


def _events(call, params, region, account):
    if call.operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in params.get("Entries") or []}
    else:
        buses = {params.get("EventBusName") or "default"} if "EventBusName" in params else set()
    return [bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}" for bus in buses]


_FINDERS = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "sns": _sns,
    "logs": _logs,
    "lambda": _lambda,
    "s3": _s3,
    "kms": _kms,
    "secretsmanager": _secretsmanager,
    "events": _events,
}
