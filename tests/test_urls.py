"""`labkit url` and `labkit.url_for`: the URL of what a lab deployed, which then answers."""

import json
import os
import subprocess
import sys

import boto3
import pytest
import requests
from support import mock_rest_api, open_to_the_internet

import labkit
from labkit import urls

FIXED = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "hello"},
}


def labkit_cli(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", *arguments],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
    )


@pytest.fixture
def mock_api(cloud):
    apigateway = boto3.client("apigateway")
    api_id = mock_rest_api("url-test", '{"answer": "mocked"}')
    yield api_id
    apigateway.delete_rest_api(restApiId=api_id)


def test_the_url_of_a_rest_api_stage_answers(mock_api):
    printed = labkit_cli("url", mock_api, "--stage", "prod")
    assert printed.returncode == 0, printed.stderr
    url = printed.stdout.strip()
    assert url == labkit.url_for(mock_api, "prod")
    assert requests.get(url + "/", timeout=10).json() == {"answer": "mocked"}


def test_url_without_a_stage_prints_the_only_stages_url_then_a_line_per_stage_not_a_python_repr(mock_api):
    only_prod = labkit_cli("url", mock_api)
    boto3.client("apigateway").create_deployment(restApiId=mock_api, stageName="beta")
    prod_and_beta = labkit_cli("url", mock_api)
    as_json = labkit_cli("url", mock_api, "--json")

    prod, beta = labkit.url_for(mock_api, "prod"), labkit.url_for(mock_api, "beta")
    assert only_prod.returncode == 0, only_prod.stderr
    assert only_prod.stdout == f"{prod}\n"
    assert prod_and_beta.returncode == 0, prod_and_beta.stderr
    assert prod_and_beta.stdout.splitlines() == [f"beta  {beta}", f"prod  {prod}"]
    assert json.loads(as_json.stdout) == {"beta": beta, "prod": prod}


def test_an_api_without_a_stage_yet_or_an_unknown_id_gets_one_clear_line(cloud):
    apigateway = boto3.client("apigateway")
    undeployed = apigateway.create_rest_api(name="url-undeployed")["id"]
    try:
        no_stage = labkit_cli("url", undeployed)
    finally:
        apigateway.delete_rest_api(restApiId=undeployed)
    assert no_stage.returncode == 1
    assert no_stage.stderr.strip() == (
        f"labkit url: the REST API {undeployed} has no stage yet: "
        "deploy it with create_deployment(restApiId=..., stageName='prod')."
    )
    unknown = labkit_cli("url", "nosuchapi1")
    assert unknown.returncode == 1
    assert "there is no REST API or HTTP API with id 'nosuchapi1'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_the_urls_of_a_load_balancer_are_its_listeners_and_its_url_the_first(cloud):
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    web = open_to_the_internet("url-test-web", ec2.describe_vpcs()["Vpcs"][0]["VpcId"])
    arn = elb.create_load_balancer(Name="url-test", Subnets=subnets, SecurityGroups=[web])["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    try:
        listenerless = labkit_cli("url", arn)
        assert listenerless.returncode == 1 and "has no listener yet" in listenerless.stderr
        elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8081, DefaultActions=[FIXED])
        elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=[FIXED])
        printed = labkit_cli("url", arn)
        assert printed.returncode == 0, printed.stderr
        [(first_label, first), (second_label, second)] = [line.split() for line in printed.stdout.splitlines()]
        assert (first_label, second_label) == ("HTTP:80", "HTTP:8081")
        assert labkit.url_for(arn) == first and first.startswith("http://127.0.0.1:")
        assert requests.get(first + "/anything", timeout=10).text == "hello"
        assert requests.get(second + "/anything", timeout=10).text == "hello"
    finally:
        elb.delete_load_balancer(LoadBalancerArn=arn)


def test_on_aws_the_urls_of_a_load_balancer_are_its_dns_name_and_listener_ports(cloud, monkeypatch):
    """The local cloud stands in for AWS: the same calls, read as if from AWS itself."""
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    balancer = elb.create_load_balancer(Name="url-aws-test", Subnets=subnets)["LoadBalancers"][0]
    arn = balancer["LoadBalancerArn"]
    try:
        elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=8080, DefaultActions=[FIXED])
        elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=[FIXED])
        monkeypatch.setattr(urls, "_target_of", lambda endpoint: "aws")
        assert urls.listener_urls(arn) == {
            "HTTP:80": f"http://{balancer['DNSName']}",
            "HTTP:8080": f"http://{balancer['DNSName']}:8080",
        }
    finally:
        elb.delete_load_balancer(LoadBalancerArn=arn)


def test_the_aws_form_of_urls():
    from labkit.urls import invoke_url

    assert (
        invoke_url("abc123", "prod", target="aws", region="eu-west-1")
        == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    )
    assert (
        invoke_url("abc123", "$default", target="aws", region="eu-west-1", http_api=True)
        == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    )
