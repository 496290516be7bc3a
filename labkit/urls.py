"""Where to send HTTP requests to what a lab deployed, on either target, so notebooks never build
URLs by hand: `labkit.url_for(api_id, "prod")`, `labkit.url_for(load_balancer_arn)`.

boto3 only (no data-plane imports): the target is wherever boto3 sends its calls, the local cloud
(AWS_ENDPOINT_URL) or a real account.
"""

import json
import urllib.request

import boto3

from labkit.errors import LabkitError

HTTP_API_DEFAULT_STAGE = "$default"


def url_for(identifier: str, stage: str | None = None) -> str:
    """The URL of what a lab deployed, without a trailing slash: append the path,
    `url_for(api_id, "prod") + "/books"`.

    - the id of an API Gateway REST API (with its stage) or HTTP API (stage defaults to $default):
      its invoke URL;
    - the ARN of an application load balancer: the URL of its first listener (lowest port).
    """
    if ":loadbalancer/app/" in identifier:
        return _load_balancer_url(identifier)
    if identifier.startswith("arn:"):
        raise LabkitError(
            f"url_for does not know what URL {identifier} has; it takes the id of a "
            "REST API or HTTP API, or the ARN of an application load balancer."
        )
    return _api_gateway_url(identifier, stage)


def _load_balancer_url(arn: str) -> str:
    elbv2 = boto3.client("elbv2")
    try:
        balancer = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        raise LabkitError(
            f"there is no load balancer {arn} in {elbv2.meta.region_name}; check the ARN create_load_balancer returned."
        ) from None
    listeners = sorted(
        elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"], key=lambda listener: listener["Port"]
    )
    if not listeners:
        raise LabkitError(
            f"the load balancer {balancer['LoadBalancerName']} has no listener yet: "
            "create one with create_listener (Port=80, Protocol='HTTP')."
        )
    endpoint = elbv2.meta.endpoint_url
    if _target_of(endpoint) == "aws":
        first = listeners[0]
        scheme = first["Protocol"].lower()
        default_port = {"http": 80, "https": 443}[scheme]
        port = "" if first["Port"] == default_port else f":{first['Port']}"
        return f"{scheme}://{balancer['DNSName']}{port}"
    # Locally each listener serves on a 127.0.0.1 port of its own, which only the local cloud knows.
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_labkit/loadbalancers", timeout=10) as answer:
        served = json.load(answer)["LoadBalancers"]
    for entry in served:
        if entry["LoadBalancerArn"] == arn and entry["Listeners"]:
            return entry["Listeners"][0]["Url"]
    raise LabkitError(
        f"the local cloud does not serve {balancer['LoadBalancerName']}'s listener; run `labkit logs` to see why."
    )


def _api_gateway_url(api_id: str, stage: str | None) -> str:
    rest = boto3.client("apigateway")
    try:
        rest.get_rest_api(restApiId=api_id)
    except rest.exceptions.NotFoundException:
        stage, http_api = _http_api_stage(api_id, stage, rest.meta.region_name), True
    else:
        stage, http_api = _rest_api_stage(rest, api_id, stage), False
    endpoint = rest.meta.endpoint_url
    return invoke_url(
        api_id, stage, target=_target_of(endpoint), region=rest.meta.region_name, endpoint=endpoint, http_api=http_api
    )


def _rest_api_stage(rest, api_id: str, stage: str | None) -> str:
    if not stage:
        raise LabkitError(f"{api_id} is a REST API: say which stage, url_for({api_id!r}, 'prod').")
    try:
        rest.get_stage(restApiId=api_id, stageName=stage)
    except rest.exceptions.NotFoundException:
        raise LabkitError(
            f"the REST API {api_id} has no stage {stage!r}: deploy it with "
            f"create_deployment(restApiId=..., stageName={stage!r})."
        ) from None
    return stage


def _http_api_stage(api_id: str, stage: str | None, region: str) -> str:
    v2 = boto3.client("apigatewayv2")
    try:
        v2.get_api(ApiId=api_id)
    except v2.exceptions.NotFoundException:
        raise LabkitError(
            f"there is no REST API or HTTP API with id {api_id!r} in {region}; check "
            "the id create_rest_api or create_api returned."
        ) from None
    stage = stage or HTTP_API_DEFAULT_STAGE
    try:
        v2.get_stage(ApiId=api_id, StageName=stage)
    except v2.exceptions.NotFoundException:
        raise LabkitError(
            f"the HTTP API {api_id} has no stage {stage!r}: create it with create_stage (AutoDeploy=True)."
        ) from None
    return stage


def invoke_url(
    api_id: str, stage: str, *, target: str, region: str, endpoint: str | None = None, http_api: bool = False
) -> str:
    """The URL from its parts. On aws: https://ID.execute-api.REGION.amazonaws.com/STAGE, where an
    HTTP API's $default stage has no stage segment. On local: under the local cloud's endpoint."""
    if target == "local":
        return f"{endpoint.rstrip('/')}/restapis/{api_id}/{stage}/_user_request_"
    host = f"https://{api_id}.execute-api.{region}.amazonaws.com"
    if http_api and stage == HTTP_API_DEFAULT_STAGE:
        return host
    return f"{host}/{stage}"


def _target_of(endpoint: str) -> str:
    """aws when boto3 talks to AWS itself, local when AWS_ENDPOINT_URL points it elsewhere."""
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return "aws" if host.endswith(".amazonaws.com") else "local"
