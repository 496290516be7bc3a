"""Cognito user pools on the local cloud sign tokens as AWS does: each pool with its own key, its
public half at the pool's JWKS URL, so a token verifies against its own pool's keys and no other's;
tokens last as long as the app client says; a pool's domain answers the client credentials grant."""

import json
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import jwt
import pytest
import requests
from support import wait_for

from labkit import urls
from labkit.errors import LabkitError

PASSWORD = "Correct-horse-7"


@pytest.fixture(scope="module")
def cognito(cloud):
    return boto3.client("cognito-idp")


def signed_in(cognito, pool_name: str, **client_settings) -> tuple[str, str, dict]:
    """A pool with one user and an app client: (pool id, client id, the tokens of a sign-in)."""
    pool = cognito.create_user_pool(PoolName=pool_name)["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        **client_settings,
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


def test_a_token_lasts_as_long_as_its_app_client_says_on_the_local_clock(cognito):
    pool, client, tokens = signed_in(
        cognito,
        f"short-{uuid.uuid4().hex[:6]}",
        AccessTokenValidity=5,
        IdTokenValidity=10,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "minutes"},
    )
    key = jwt.PyJWKClient(urls.jwks_url(pool)).get_signing_key_from_jwt(tokens["AccessToken"]).key
    access = jwt.decode(tokens["AccessToken"], key, algorithms=["RS256"])
    identity = jwt.decode(tokens["IdToken"], key, algorithms=["RS256"], audience=client)
    # Five minutes of AWS's clock are five seconds of the local cloud's.
    assert (tokens["ExpiresIn"], access["exp"] - access["iat"], identity["exp"] - identity["iat"]) == (5, 5, 10)
    time.sleep(access["exp"] - time.time() + 1)
    with pytest.raises(jwt.ExpiredSignatureError, match="Signature has expired"):
        jwt.decode(tokens["AccessToken"], key, algorithms=["RS256"])


@pytest.mark.parametrize(
    "validity",
    [
        {"AccessTokenValidity": 4, "TokenValidityUnits": {"AccessToken": "minutes"}},
        {"IdTokenValidity": 2, "TokenValidityUnits": {"IdToken": "days"}},
        {"RefreshTokenValidity": 59, "TokenValidityUnits": {"RefreshToken": "minutes"}},
        {"AccessTokenValidity": 25},  # hours when no unit is given
    ],
)
def test_a_token_validity_out_of_aws_range_is_refused_on_create_and_update(cognito, validity):
    pool = cognito.create_user_pool(PoolName=f"ranges-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    with pytest.raises(cognito.exceptions.InvalidParameterException, match="Invalid range for token validity."):
        cognito.create_user_pool_client(UserPoolId=pool, ClientName="web", **validity)
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    with pytest.raises(cognito.exceptions.InvalidParameterException, match="Invalid range for token validity."):
        cognito.update_user_pool_client(UserPoolId=pool, ClientId=client, **validity)


def machine_pool(cognito, scopes: list[str], allowed: list[str]) -> tuple[str, dict]:
    """A pool with a domain, a resource server "orders" with these scopes and a confidential machine client
    allowed those scopes (orders/...); (the pool's id, the client)."""
    pool = cognito.create_user_pool(PoolName=f"machines-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    cognito.create_user_pool_domain(Domain=f"shop-{uuid.uuid4().hex[:8]}", UserPoolId=pool)
    cognito.create_resource_server(
        UserPoolId=pool,
        Identifier="orders",
        Name="orders",
        Scopes=[{"ScopeName": scope, "ScopeDescription": scope} for scope in scopes],
    )
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="notifications",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=allowed,
    )["UserPoolClient"]
    return pool, client


@pytest.fixture(scope="module")
def machine(cognito):
    pool, client = machine_pool(cognito, ["read", "write"], ["orders/read"])
    return pool, client["ClientId"], client["ClientSecret"]


def test_a_machine_client_gets_an_access_token_with_its_scope_from_the_token_endpoint(machine):
    pool, client_id, secret = machine
    answer = requests.post(
        urls.token_url(pool),
        data={"grant_type": "client_credentials", "scope": "orders/read"},
        auth=(client_id, secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 60)  # an hour on the local clock
    key = jwt.PyJWKClient(urls.jwks_url(pool)).get_signing_key_from_jwt(body["access_token"]).key
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"], issuer=urls.issuer(pool))
    assert (claims["token_use"], claims["scope"], claims["client_id"], claims["sub"]) == (
        "access",
        "orders/read",
        client_id,
        client_id,
    )


@pytest.mark.parametrize(
    ("form", "credentials", "error"),
    [
        ({"grant_type": "client_credentials", "scope": "orders/write"}, "right", "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "orders/read"}, "wrong secret", "invalid_client"),
        ({"grant_type": "password", "scope": "orders/read"}, "right", "unsupported_grant_type"),
    ],
    ids=["a scope the client is not allowed", "a wrong secret", "a grant it does not offer"],
)
def test_the_token_endpoint_refuses_as_cognito_does(machine, form, credentials, error):
    pool, client_id, secret = machine
    auth = (client_id, secret if credentials == "right" else "not-the-secret")
    answer = requests.post(urls.token_url(pool), data=form, auth=auth, timeout=10)
    assert (answer.status_code, answer.json()) == (400, {"error": error})


def test_a_pool_without_a_domain_has_no_token_endpoint_and_labkit_says_so(cognito):
    pool = cognito.create_user_pool(PoolName="no-domain")["UserPool"]["Id"]
    with pytest.raises(LabkitError, match=f"the user pool {pool} has no domain yet: create one"):
        urls.token_url(pool)


def mail_to(cloud, address: str) -> list[dict]:
    query = urllib.parse.urlencode({"to": address})
    with urllib.request.urlopen(f"{cloud.endpoint}/_labkit/mailbox?{query}", timeout=10) as response:
        return json.load(response)["Messages"]


def test_a_sign_up_code_arrives_by_mail_and_only_that_code_confirms_the_user(cognito, cloud):
    pool = cognito.create_user_pool(
        PoolName=f"signup-{uuid.uuid4().hex[:6]}",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        VerificationMessageTemplate={"EmailSubject": "Your Bookshop code", "EmailMessage": "Your code: {####}"},
    )["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    email = f"reader-{uuid.uuid4().hex[:6]}@bookshop.example"
    signed_up = cognito.sign_up(ClientId=client, Username=email, Password=PASSWORD)
    assert signed_up["UserConfirmed"] is False
    [mail] = mail_to(cloud, email)
    assert (mail["sender"], mail["subject"]) == ("no-reply@verificationemail.com", "Your Bookshop code")
    code = mail["body"].removeprefix("Your code: ")
    assert len(code) == 6 and code.isdigit()

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(cognito.exceptions.CodeMismatchException, match="Invalid verification code provided"):
        cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=wrong)
    assert cognito.admin_get_user(UserPoolId=pool, Username=email)["UserStatus"] == "UNCONFIRMED"
    cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=code)
    assert cognito.admin_get_user(UserPoolId=pool, Username=email)["UserStatus"] == "CONFIRMED"
    with pytest.raises(cognito.exceptions.NotAuthorizedException, match="Current status is CONFIRMED"):
        cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=code)


# A PreSignUp trigger that lets only bookshop.example addresses in, and confirms them at once.
PRE_SIGN_UP = """
    def handler(event, context):
        email = event["request"]["userAttributes"]["email"]
        if not email.endswith("@bookshop.example"):
            raise Exception("only Bookshop staff may sign up")
        print("PRE " + event["triggerSource"] + " " + event["userPoolId"])
        event["response"]["autoConfirmUser"] = True
        return event
"""
# A PreTokenGeneration trigger that adds a claim and suppresses one.
PRE_TOKEN = """
    def handler(event, context):
        event["response"]["claimsOverrideDetails"] = {
            "claimsToAddOrOverride": {"bookshop:tier": "gold"}, "claimsToSuppress": ["email"]}
        return event
"""


@pytest.fixture(scope="module")
def functions(cloud):
    from test_dataplane_lambda import clients_for

    return clients_for(boto3.Session())


def trigger(functions, source: str, pool_arn: str | None) -> str:
    """A function deployed from source; with pool_arn, its resource policy lets that pool invoke it."""
    from test_dataplane_lambda import deploy

    name = deploy(functions, source)
    if pool_arn is not None:
        functions["lambda"].add_permission(
            FunctionName=name,
            StatementId="cognito",
            Action="lambda:InvokeFunction",
            Principal="cognito-idp.amazonaws.com",
            SourceArn=pool_arn,
        )
    return functions["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def set_triggers(cognito, pool: str, **lambda_config) -> None:
    """The pool's Lambda triggers (UpdateUserPool resets what it is not given: email stays auto-verified)."""
    cognito.update_user_pool(UserPoolId=pool, AutoVerifiedAttributes=["email"], LambdaConfig=lambda_config)


def pool_with(cognito, **lambda_config) -> tuple[str, str, str]:
    """(pool id, pool ARN, client id) of a pool with email usernames and these triggers."""
    pool = cognito.create_user_pool(
        PoolName=f"triggers-{uuid.uuid4().hex[:6]}", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]
    if lambda_config:
        set_triggers(cognito, pool["Id"], **lambda_config)
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool["Id"], pool["Arn"], client


def test_a_pre_sign_up_trigger_refuses_with_its_message_and_confirms_whom_it_accepts(cognito, functions, cloud):
    pool, pool_arn, client = pool_with(cognito)
    set_triggers(cognito, pool, PreSignUp=trigger(functions, PRE_SIGN_UP, pool_arn))
    # UpdateUserPool resets what it is not given, but never what cannot change after creation.
    assert cognito.describe_user_pool(UserPoolId=pool)["UserPool"]["UsernameAttributes"] == ["email"]
    with pytest.raises(cognito.exceptions.UserLambdaValidationException) as refused:
        cognito.sign_up(ClientId=client, Username="mallory@elsewhere.example", Password=PASSWORD)
    assert refused.value.response["Error"]["Message"] == "PreSignUp failed with error only Bookshop staff may sign up."
    assert cognito.list_users(UserPoolId=pool)["Users"] == []

    staff = f"staff-{uuid.uuid4().hex[:6]}@bookshop.example"
    assert cognito.sign_up(ClientId=client, Username=staff, Password=PASSWORD)["UserConfirmed"] is True
    assert mail_to(cloud, staff) == []  # confirmed by the trigger: no code is sent


def test_a_trigger_the_function_does_not_allow_fails_the_sign_up_as_on_aws(cognito, functions):
    pool, _, client = pool_with(cognito)
    set_triggers(cognito, pool, PreSignUp=trigger(functions, PRE_SIGN_UP, None))
    with pytest.raises(
        cognito.exceptions.UnexpectedLambdaException,
        match="PreSignUp invocation failed due to error AccessDeniedException.",
    ):
        cognito.sign_up(ClientId=client, Username="ada@bookshop.example", Password=PASSWORD)


def test_a_pre_token_generation_trigger_changes_the_id_tokens_claims(cognito, functions):
    pool, pool_arn, client = pool_with(cognito)
    set_triggers(cognito, pool, PreTokenGeneration=trigger(functions, PRE_TOKEN, pool_arn))
    cognito.admin_create_user(
        UserPoolId=pool,
        Username="ada@bookshop.example",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "ada@bookshop.example"}],
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username="ada@bookshop.example", Password=PASSWORD, Permanent=True)
    tokens = cognito.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada@bookshop.example", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    key = jwt.PyJWKClient(urls.jwks_url(pool)).get_signing_key_from_jwt(tokens["IdToken"]).key
    claims = jwt.decode(tokens["IdToken"], key, algorithms=["RS256"], audience=client)
    assert claims["bookshop:tier"] == "gold" and "email" not in claims
    assert "bookshop:tier" not in jwt.decode(tokens["AccessToken"], key, algorithms=["RS256"])  # ID token only


POST_CONFIRMATION = """
    def handler(event, context):
        attributes = event["request"]["userAttributes"]
        print("WELCOME " + attributes["email"] + " " + attributes["cognito:user_status"] + " " + event["triggerSource"])
        return event
"""


def test_a_post_confirmation_trigger_runs_once_the_code_confirms_the_user(cognito, functions, cloud):
    from test_dataplane_lambda import log_messages

    pool, pool_arn, client = pool_with(cognito)
    welcome = trigger(functions, POST_CONFIRMATION, pool_arn)
    set_triggers(cognito, pool, PostConfirmation=welcome)
    email = f"reader-{uuid.uuid4().hex[:6]}@bookshop.example"
    cognito.sign_up(ClientId=client, Username=email, Password=PASSWORD)
    code = mail_to(cloud, email)[0]["body"].rsplit(" ", 2)[-2].rstrip(".")
    cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=code)
    name = welcome.rsplit(":", 1)[-1]
    lines = wait_for(
        lambda: [m for m in log_messages(functions, name) if m.startswith("WELCOME")], 10, "the trigger's log"
    )
    assert lines == [f"WELCOME {email} CONFIRMED PostConfirmation_ConfirmSignUp"]


def test_a_forgotten_password_is_reset_only_with_the_code_that_came_by_mail(cognito, cloud):
    pool = cognito.create_user_pool(
        PoolName=f"reset-{uuid.uuid4().hex[:6]}", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    email = f"forgetful-{uuid.uuid4().hex[:6]}@bookshop.example"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
    )
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    answer = cognito.forgot_password(ClientId=client, Username=email)
    [mail] = mail_to(cloud, email)
    code = mail["body"].rsplit(" ", 2)[-2].rstrip(".")
    assert code not in json.dumps(answer["ResponseMetadata"]["HTTPHeaders"])  # only the mail has it
    with pytest.raises(cognito.exceptions.CodeMismatchException, match="Invalid verification code provided"):
        cognito.confirm_forgot_password(
            ClientId=client, Username=email, ConfirmationCode="000000", Password="New-pass-1x"
        )
    cognito.confirm_forgot_password(ClientId=client, Username=email, ConfirmationCode=code, Password="New-pass-1x")
    tokens = cognito.initiate_auth(
        ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": "New-pass-1x"}
    )
    assert "AccessToken" in tokens["AuthenticationResult"]


def test_labkit_reads_the_code_from_the_local_mailbox_and_says_when_there_is_none(cognito):
    from labkit import mailbox

    pool = cognito.create_user_pool(
        PoolName=f"inbox-{uuid.uuid4().hex[:6]}", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]["ClientId"]
    email = f"inbox-{uuid.uuid4().hex[:6]}@bookshop.example"
    with pytest.raises(LabkitError, match=f"no message with a code has reached {email} yet"):
        mailbox.latest_code(email)
    cognito.sign_up(ClientId=client, Username=email, Password=PASSWORD)
    cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=mailbox.latest_code(email))
    assert cognito.admin_get_user(UserPoolId=pool, Username=email)["UserStatus"] == "CONFIRMED"


def test_a_resource_server_updated_grants_only_its_new_scopes_at_the_token_endpoint(cognito):
    pool, client = machine_pool(cognito, ["read"], ["orders/read", "orders/write"])

    def token_for(wanted: str) -> tuple[int, dict]:
        answer = requests.post(
            urls.token_url(pool),
            data={"grant_type": "client_credentials", "scope": wanted},
            auth=(client["ClientId"], client["ClientSecret"]),
            timeout=10,
        )
        return answer.status_code, answer.json()

    assert token_for("orders/write") == (400, {"error": "invalid_scope"})
    updated = cognito.update_resource_server(
        UserPoolId=pool, Identifier="orders", Name="orders v2", Scopes=[{"ScopeName": "write", "ScopeDescription": "w"}]
    )["ResourceServer"]
    assert (updated["Name"], [s["ScopeName"] for s in updated["Scopes"]]) == ("orders v2", ["write"])
    assert token_for("orders/write")[0] == 200
    assert token_for("orders/read") == (400, {"error": "invalid_scope"})
    with pytest.raises(cognito.exceptions.ResourceNotFoundException):
        cognito.update_resource_server(UserPoolId=pool, Identifier="payments", Name="payments")


# A UserMigration trigger standing for the monolith's user store: one user, with her old password.
USER_MIGRATION = """
    def handler(event, context):
        print("MIGRATE " + event["triggerSource"] + " " + event["userName"])
        if event["userName"] != "ada@bookshop.example" or event["request"]["password"] != "Analytical-1843":
            raise Exception("Bad password")
        event["response"]["userAttributes"] = {"email": "ada@bookshop.example", "email_verified": "true",
                                               "name": "Ada"}
        event["response"]["finalUserStatus"] = "CONFIRMED"
        event["response"]["messageAction"] = "SUPPRESS"
        return event
"""


def test_a_user_migration_trigger_brings_a_user_across_on_her_first_sign_in_with_her_old_password(cognito, functions):
    pool, pool_arn, client = pool_with(cognito)
    set_triggers(cognito, pool, UserMigration=trigger(functions, USER_MIGRATION, pool_arn))

    def sign_in(email, password):
        return cognito.initiate_auth(
            ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password}
        )

    with pytest.raises(cognito.exceptions.UserLambdaValidationException) as refused:
        sign_in("ada@bookshop.example", "a-wrong-password")
    assert refused.value.response["Error"]["Message"] == "UserMigration failed with error Bad password."
    assert cognito.list_users(UserPoolId=pool)["Users"] == []

    tokens = sign_in("ada@bookshop.example", "Analytical-1843")["AuthenticationResult"]
    user = cognito.admin_get_user(UserPoolId=pool, Username="ada@bookshop.example")
    assert user["UserStatus"] == "CONFIRMED"
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["name"] == "Ada"
    key = jwt.PyJWKClient(urls.jwks_url(pool)).get_signing_key_from_jwt(tokens["IdToken"]).key
    assert jwt.decode(tokens["IdToken"], key, algorithms=["RS256"], audience=client)["email"] == "ada@bookshop.example"
    # Migrated once: the next sign-in is the pool's own, with the password it now keeps.
    assert "AuthenticationResult" in sign_in("ada@bookshop.example", "Analytical-1843")
    with pytest.raises(cognito.exceptions.NotAuthorizedException, match="Incorrect username or password."):
        sign_in("ada@bookshop.example", "a-wrong-password")


def test_a_migrated_user_without_a_final_status_must_reset_her_password_first(cognito, functions):
    pool, pool_arn, client = pool_with(cognito)
    unconfirmed = USER_MIGRATION.replace('event["response"]["finalUserStatus"] = "CONFIRMED"', "")
    set_triggers(cognito, pool, UserMigration=trigger(functions, unconfirmed, pool_arn))
    with pytest.raises(cognito.exceptions.PasswordResetRequiredException, match="Password reset required for the user"):
        cognito.initiate_auth(
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ada@bookshop.example", "PASSWORD": "Analytical-1843"},
        )
    assert cognito.admin_get_user(UserPoolId=pool, Username="ada@bookshop.example")["UserStatus"] == "RESET_REQUIRED"


# A CustomMessage trigger that writes the Bookshop's own sign-up mail around Cognito's code.
CUSTOM_MESSAGE = """
    def handler(event, context):
        if event["triggerSource"] == "CustomMessage_SignUp":
            event["response"]["emailSubject"] = "Welcome to the Bookshop"
            event["response"]["emailMessage"] = ("Hello " + event["request"]["userAttributes"]["email"]
                                                 + ", your code is " + event["request"]["codeParameter"])
        return event
"""


def test_a_custom_message_trigger_writes_the_mail_that_carries_the_code(cognito, functions, cloud):
    pool, pool_arn, client = pool_with(cognito)
    set_triggers(cognito, pool, CustomMessage=trigger(functions, CUSTOM_MESSAGE, pool_arn))
    email = f"reader-{uuid.uuid4().hex[:6]}@bookshop.example"
    cognito.sign_up(ClientId=client, Username=email, Password=PASSWORD)
    [mail] = mail_to(cloud, email)
    assert mail["subject"] == "Welcome to the Bookshop"
    greeting, code = mail["body"].rsplit(" ", 1)
    assert greeting == f"Hello {email}, your code is" and len(code) == 6 and code.isdigit()
    cognito.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=code)
    assert cognito.admin_get_user(UserPoolId=pool, Username=email)["UserStatus"] == "CONFIRMED"
