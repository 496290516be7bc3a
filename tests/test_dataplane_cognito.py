"""Cognito user pools on the local cloud sign tokens as AWS does: each pool with its own key, its
public half at the pool's JWKS URL, so a token verifies against its own pool's keys and no other's."""

import uuid

import boto3
import jwt
import pytest

from labkit import urls

PASSWORD = "Correct-horse-7"


@pytest.fixture(scope="module")
def cognito(cloud):
    return boto3.client("cognito-idp")


def signed_in(cognito, pool_name: str) -> tuple[str, str, dict]:
    """A pool with one user and an app client: (pool id, client id, the tokens of a sign-in)."""
    pool = cognito.create_user_pool(PoolName=pool_name)["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="ada", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="ada", Password=PASSWORD, Permanent=True)
    tokens = cognito.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "ada", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    return pool, client, tokens


def test_a_pools_tokens_verify_against_its_own_published_keys_and_not_another_pools(cognito):
    pool, client, tokens = signed_in(cognito, f"shop-{uuid.uuid4().hex[:6]}")
    other, _, _ = signed_in(cognito, f"other-{uuid.uuid4().hex[:6]}")
    keys = jwt.PyJWKClient(urls.jwks_url(pool))
    others = jwt.PyJWKClient(urls.jwks_url(other))

    signing_key = keys.get_signing_key_from_jwt(tokens["IdToken"])
    claims = jwt.decode(
        tokens["IdToken"], signing_key.key, algorithms=["RS256"], audience=client, issuer=urls.issuer(pool)
    )
    assert claims["token_use"] == "id" and claims["cognito:username"] == "ada"
    access = jwt.decode(tokens["AccessToken"], signing_key.key, algorithms=["RS256"], issuer=urls.issuer(pool))
    assert access["token_use"] == "access" and access["client_id"] == client

    kid = jwt.get_unverified_header(tokens["IdToken"])["kid"]
    assert kid != "dummy" and kid != jwt.get_unverified_header(signed_in(cognito, "third")[2]["IdToken"])["kid"]
    with pytest.raises(jwt.PyJWKClientError, match=f'Unable to find a signing key that matches: "{kid}"'):
        others.get_signing_key_from_jwt(tokens["IdToken"])


def test_the_keys_of_a_pool_that_does_not_exist_are_not_found(cognito, cloud):
    with pytest.raises(jwt.PyJWKClientError, match="HTTP Error 404"):
        jwt.PyJWKClient(f"{cloud.endpoint}/us-east-1_nosuchpool/.well-known/jwks.json").get_signing_keys()
