"""Where to send HTTP requests to what a lab deployed, on either target, so notebooks never build
URLs by hand: `labkit.url_for(api_id, "prod")`, `labkit.url_for(load_balancer_arn)`.

boto3 only (no data-plane imports): the target is wherever boto3 sends its calls, the local cloud
(AWS_ENDPOINT_URL) or a real account.
"""

import json
import urllib.request

import boto3

from labkit.awsapi import pages
from labkit.errors import LabkitError

HTTP_API_DEFAULT_STAGE = "$default"


def url_for(identifier: str, stage: str | None = None) -> str:
    """The URL of what a lab deployed, without a trailing slash: append the path,
    `url_for(api_id, "prod") + "/books"`.

    - the id of an API Gateway REST API (with its stage) or HTTP API (stage defaults to $default):
      its invoke URL;
    - the ARN of an application load balancer: the URL of its first listener (lowest port).
    """
    if _is_load_balancer(identifier):
        return next(iter(_served_listener_urls(identifier).values()))
    return _api_gateway_url(identifier, stage)


def issuer(user_pool_id: str) -> str:
    """The `iss` claim of a Cognito user pool's tokens, on either target (AWS's, also locally)."""
    region = user_pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def jwks_url(user_pool_id: str) -> str:
    """Where a Cognito user pool publishes its signing keys: the issuer's /.well-known/jwks.json on
    AWS, the local cloud's on the local target (which has no DNS name of AWS's)."""
    endpoint = boto3.client("cognito-idp").meta.endpoint_url
    base = issuer(user_pool_id) if _target_of(endpoint) == "aws" else f"{endpoint.rstrip('/')}/{user_pool_id}"
    return f"{base}/.well-known/jwks.json"


def token_url(user_pool_id: str) -> str:
    """The token endpoint (/oauth2/token) of the user pool's domain, on either target."""
    cognito = boto3.client("cognito-idp")
    domain = cognito.describe_user_pool(UserPoolId=user_pool_id)["UserPool"].get("Domain")
    if not domain:
        raise LabkitError(
            f"the user pool {user_pool_id} has no domain yet: create one with "
            "create_user_pool_domain(Domain=..., UserPoolId=...)."
        )
    endpoint = cognito.meta.endpoint_url
    if _target_of(endpoint) == "aws":
        return f"https://{domain}.auth.{cognito.meta.region_name}.amazoncognito.com/oauth2/token"
    return f"{endpoint.rstrip('/')}/_labkit/cognito/{domain}/oauth2/token"


def urls_for(identifier: str, stage: str | None = None) -> dict[str, str]:
    """Every URL of what a lab deployed, by what it is reached through (`labkit url`): each stage of
    an API (only `stage`, when given), each listener of a load balancer ("HTTP:80", lowest port first)."""
    if _is_load_balancer(identifier):
        return _served_listener_urls(identifier)
    if stage:
        return {stage: _api_gateway_url(identifier, stage)}
    if _is_rest_api(identifier):
        found, kind = rest_api_urls(identifier), "REST API"
        fix = "deploy it with create_deployment(restApiId=..., stageName='prod')"
    else:
        found, kind = http_api_urls(identifier), "HTTP API"
        fix = "create one with create_stage(ApiId=..., StageName='$default', AutoDeploy=True)"
    if not found:
        raise LabkitError(f"the {kind} {identifier} has no stage yet: {fix}.")
    return found


def rest_api_urls(api_id: str) -> dict[str, str]:
    """The invoke URL of each stage of a REST API, by stage name; empty before its first deployment."""
    rest = boto3.client("apigateway")
    stages = sorted(stage["stageName"] for stage in rest.get_stages(restApiId=api_id)["item"])
    return {stage: _invoke_url_of(rest, api_id, stage, http_api=False) for stage in stages}


def http_api_urls(api_id: str) -> dict[str, str]:
    """The invoke URL of each stage of an HTTP API, by stage name; empty before its first stage."""
    v2 = boto3.client("apigatewayv2")
    stages = sorted(stage["StageName"] for stage in pages(v2, "get_stages", "Items", ApiId=api_id))
    return {stage: _invoke_url_of(v2, api_id, stage, http_api=True) for stage in stages}


def listener_urls(arn: str) -> dict[str, str]:
    """The URL of each listener of a load balancer, by protocol and port ("HTTP:80"), lowest port
    first; empty before its first listener."""
    elbv2 = boto3.client("elbv2")
    listeners = sorted(
        pages(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=arn), key=lambda listener: listener["Port"]
    )
    if not listeners:
        return {}
    if _target_of(elbv2.meta.endpoint_url) == "aws":
        dns_name = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["DNSName"]
        return {_listener_label(listener): _aws_listener_url(dns_name, listener) for listener in listeners}
    # Locally each listener serves on a 127.0.0.1 port of its own, which only the local cloud knows.
    served = _locally_served_urls(elbv2.meta.endpoint_url)
    return {
        _listener_label(listener): served[listener["ListenerArn"]]
        for listener in listeners
        if listener["ListenerArn"] in served
    }


def certificate_names(balancer_arn: str) -> list[str]:
    """The names clients reach the load balancer's listeners by, which its TLS certificate must hold: its DNS
    name on AWS; locally, where every listener serves on 127.0.0.1, that address and localhost."""
    elbv2 = boto3.client("elbv2")
    if _target_of(elbv2.meta.endpoint_url) == "local":
        return ["127.0.0.1", "localhost"]
    return [elbv2.describe_load_balancers(LoadBalancerArns=[balancer_arn])["LoadBalancers"][0]["DNSName"]]


def _is_load_balancer(identifier: str) -> bool:
    """True for a load balancer's ARN, False for an API's id, one clear line for any other ARN."""
    if ":loadbalancer/app/" in identifier:
        return True
    if identifier.startswith("arn:"):
        raise LabkitError(
            f"{identifier} is not something labkit knows the URL of: give the id of a REST API or "
            "HTTP API, or the ARN of an application load balancer."
        )
    return False


def _served_listener_urls(arn: str) -> dict[str, str]:
    """listener_urls, or one clear line why there are none."""
    elbv2 = boto3.client("elbv2")
    try:
        name = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["LoadBalancerName"]
    except elbv2.exceptions.LoadBalancerNotFoundException:
        raise LabkitError(
            f"there is no load balancer {arn} in {elbv2.meta.region_name}; check the ARN create_load_balancer returned."
        ) from None
    found = listener_urls(arn)
    if found:
        return found
    if elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]:
        raise LabkitError(f"the local cloud does not serve {name}'s listener; run `labkit logs` to see why.")
    raise LabkitError(
        f"the load balancer {name} has no listener yet: create one with create_listener (Port=80, Protocol='HTTP')."
    )


def _listener_label(listener: dict) -> str:
    return f"{listener['Protocol']}:{listener['Port']}"


def _aws_listener_url(dns_name: str, listener: dict) -> str:
    scheme = listener["Protocol"].lower()
    default_port = {"http": 80, "https": 443}[scheme]
    port = "" if listener["Port"] == default_port else f":{listener['Port']}"
    return f"{scheme}://{dns_name}{port}"


def _locally_served_urls(endpoint: str) -> dict[str, str]:
    """The local URL of every listener the local cloud serves, by listener ARN."""
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_labkit/loadbalancers", timeout=10) as answer:
        balancers = json.load(answer)["LoadBalancers"]
    return {listener["ListenerArn"]: listener["Url"] for balancer in balancers for listener in balancer["Listeners"]}


def _api_gateway_url(api_id: str, stage: str | None) -> str:
    if _is_rest_api(api_id):
        rest = boto3.client("apigateway")
        return _invoke_url_of(rest, api_id, _rest_api_stage(rest, api_id, stage), http_api=False)
    v2 = boto3.client("apigatewayv2")
    return _invoke_url_of(v2, api_id, _http_api_stage(v2, api_id, stage), http_api=True)


def _is_rest_api(api_id: str) -> bool:
    """True for a REST API, False for an HTTP API, one clear line for neither."""
    rest = boto3.client("apigateway")
    try:
        rest.get_rest_api(restApiId=api_id)
        return True
    except rest.exceptions.NotFoundException:
        pass
    v2 = boto3.client("apigatewayv2")
    try:
        v2.get_api(ApiId=api_id)
        return False
    except v2.exceptions.NotFoundException:
        raise LabkitError(
            f"there is no REST API or HTTP API with id {api_id!r} in {rest.meta.region_name}; check "
            "the id create_rest_api or create_api returned."
        ) from None


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


def _http_api_stage(v2, api_id: str, stage: str | None) -> str:
    stage = stage or HTTP_API_DEFAULT_STAGE
    try:
        v2.get_stage(ApiId=api_id, StageName=stage)
    except v2.exceptions.NotFoundException:
        raise LabkitError(
            f"the HTTP API {api_id} has no stage {stage!r}: create it with create_stage (AutoDeploy=True)."
        ) from None
    return stage


def _invoke_url_of(client, api_id: str, stage: str, http_api: bool) -> str:
    """invoke_url, on the target and in the region `client` talks to."""
    endpoint = client.meta.endpoint_url
    return invoke_url(
        api_id, stage, target=_target_of(endpoint), region=client.meta.region_name, endpoint=endpoint, http_api=http_api
    )


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
