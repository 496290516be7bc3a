"""TLS on the Application Load Balancer, as lab 07 meets it: an HTTPS listener serves the learner's
certificate imported into ACM, with the protocols its security policy allows, and mutual TLS verifies
client certificates against a trust store (or passes them through), with AWS's headers for the target.

Clients are real TLS clients: Python's ssl module, and curl and openssl where installed.
"""

import http.client
import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from support import CertificateAuthority, certificate_request, on_premises, open_to_the_internet, wait_for

from labkit import handshake, urls


class Echo:
    """A target that answers each request with the headers it received, and keeps them."""

    def __init__(self):
        self.requests: list[dict] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                headers = {name.lower(): value for name, value in self.headers.items()}
                if self.path != "/health":
                    echo.requests.append(headers)
                body = json.dumps({"path": self.path, "headers": headers}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


class SecureBalancer:
    """One ALB with a target group, the learner's server certificate in ACM, and a trust store of
    their client CA; each test adds an HTTPS listener of its own."""

    def __init__(self, tmp_path_factory):
        self.elb, self.acm, s3, ec2 = (boto3.client(name) for name in ("elbv2", "acm", "s3", "ec2"))
        self.files = tmp_path_factory.mktemp("pki")
        self.ca = CertificateAuthority("Lab 07 Root CA")
        self.server_ca_file = self._write("server-ca.pem", self.ca.pem)
        certificate, key = self.ca.issue("orders.lab07.test")
        self.certificate_arn = self.acm.import_certificate(
            Certificate=certificate, PrivateKey=key, CertificateChain=self.ca.pem
        )["CertificateArn"]
        self.clients_ca = CertificateAuthority("Lab 07 Clients CA")
        s3.create_bucket(Bucket="lab07-trust")
        s3.put_object(Bucket="lab07-trust", Key="clients-ca.pem", Body=self.clients_ca.pem)
        self.trust_store_arn = self.elb.create_trust_store(
            Name="lab07-clients", CaCertificatesBundleS3Bucket="lab07-trust", CaCertificatesBundleS3Key="clients-ca.pem"
        )["TrustStores"][0]["TrustStoreArn"]

        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        web = open_to_the_internet("secure-web", vpc)
        self.arn = self.elb.create_load_balancer(Name="secure", Subnets=subnets, SecurityGroups=[web])["LoadBalancers"][
            0
        ]["LoadBalancerArn"]
        self.echo = Echo()
        self.group = self.elb.create_target_group(
            Name="secure-echo",
            Protocol="HTTP",
            Port=80,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elb.register_targets(TargetGroupArn=self.group, Targets=[on_premises(self.echo.server.server_address[1])])
        self.ports = iter(range(8443, 8543))

    def _healthy(self) -> bool:
        found = self.elb.describe_target_health(TargetGroupArn=self.group)["TargetHealthDescriptions"]
        return [d["TargetHealth"]["State"] for d in found] == ["healthy"]

    def _write(self, name: str, data: bytes) -> str:
        path = self.files / name
        path.write_bytes(data)
        return str(path)

    def listener(self, **settings) -> tuple[str, int]:
        """(listener ARN, its local port) for a new HTTPS listener."""
        arn = self.elb.create_listener(
            LoadBalancerArn=self.arn,
            Protocol="HTTPS",
            Port=next(self.ports),
            Certificates=[{"CertificateArn": self.certificate_arn}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.group}],
            **settings,
        )["Listeners"][0]["ListenerArn"]
        wait_for(self._healthy, 10, "the echo target to be healthy")  # unused until a listener forwards to it
        url = urls.listener_urls(self.arn)
        port = self.elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]["Port"]
        return arn, int(url[f"HTTPS:{port}"].rsplit(":", 1)[1])

    def client(self, name: str, ca: CertificateAuthority, **issue) -> tuple[str, str]:
        """A client certificate and key from `ca`, as files."""
        certificate, key = ca.issue(name, client=True, **issue)
        return self._write(f"{name}.pem", certificate), self._write(f"{name}.key", key)

    def get(self, port: int, client: tuple[str, str] | None = None, context: ssl.SSLContext | None = None) -> dict:
        """GET / over TLS as a client that trusts the learner's CA; the target's echo."""
        context = context or ssl.create_default_context(cafile=self.server_ca_file)
        if client:
            context.load_cert_chain(*client)
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
        try:
            connection.request("GET", "/orders")
            response = connection.getresponse()
            assert response.status == 200
            return json.loads(response.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def secure(cloud, tmp_path_factory):
    balancer = SecureBalancer(tmp_path_factory)
    yield balancer
    balancer.elb.delete_load_balancer(LoadBalancerArn=balancer.arn)
    balancer.elb.delete_target_group(TargetGroupArn=balancer.group)
    balancer.elb.delete_trust_store(TrustStoreArn=balancer.trust_store_arn)
    balancer.echo.server.shutdown()
    balancer.echo.server.server_close()


def test_an_https_listener_serves_its_acm_certificate_to_a_client_that_trusts_the_ca(secure):
    listener, port = secure.listener()
    assert urls.listener_urls(secure.arn)[f"HTTPS:{port_of(secure, listener)}"] == f"https://127.0.0.1:{port}"
    echo = secure.get(port)
    assert echo["path"] == "/orders"
    assert echo["headers"]["x-forwarded-proto"] == "https"
    with ssl.create_default_context(cafile=secure.server_ca_file).wrap_socket(
        __import__("socket").create_connection(("127.0.0.1", port)), server_hostname="orders.lab07.test"
    ) as tls:
        served = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
    assert served.subject.rfc4514_string() == "CN=orders.lab07.test"


def test_an_https_listener_sends_the_imported_chain_without_its_root_and_nothing_else(secure, tmp_path):
    _, port = secure.listener()
    shaken = handshake.shake_hands(f"https://127.0.0.1:{port}", secure.server_ca_file)
    # The chain imported is the root CA alone: only the leaf goes on the wire, not moto's Amazon intermediate.
    assert shaken.completed
    assert shaken.chain == ["CN=orders.lab07.test, issued by CN=Lab 07 Root CA,O=Lab 07"]
    # Nor the root when the trust store holds it too (OpenSSL would build the chain from it).
    bundle = tmp_path / "both.pem"
    bundle.write_bytes(secure.ca.pem + secure.clients_ca.pem)
    boto3.client("s3").put_object(Bucket="lab07-trust", Key="both.pem", Body=bundle.read_bytes())
    store = secure.elb.create_trust_store(
        Name="lab07-both", CaCertificatesBundleS3Bucket="lab07-trust", CaCertificatesBundleS3Key="both.pem"
    )["TrustStores"][0]["TrustStoreArn"]
    listener, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": store})
    client = secure.client("chain-client", secure.clients_ca)
    shaken = handshake.shake_hands(f"https://127.0.0.1:{port}", secure.server_ca_file, client=client)
    assert (shaken.completed, shaken.chain) == (True, ["CN=orders.lab07.test, issued by CN=Lab 07 Root CA,O=Lab 07"])
    secure.elb.delete_listener(ListenerArn=listener)
    secure.elb.delete_trust_store(TrustStoreArn=store)


def test_a_client_that_does_not_trust_the_ca_fails_certificate_verification(secure):
    _, port = secure.listener()
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        secure.get(port, context=ssl.create_default_context())
    assert all(request.get("x-forwarded-port") != str(port) for request in secure.echo.requests)


def test_a_tls13_only_security_policy_refuses_a_tls12_client_and_the_default_policy_a_tls13_one(secure):
    _, strict = secure.listener(SslPolicy="ELBSecurityPolicy-TLS13-1-3-2021-06")
    tls12 = ssl.create_default_context(cafile=secure.server_ca_file)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"):
        secure.get(strict, context=tls12)
    assert secure.get(strict)["path"] == "/orders"  # TLS 1.3 is what it allows

    _, default = secure.listener()  # ELBSecurityPolicy-2016-08: TLS 1.0 to 1.2, as on AWS
    tls13 = ssl.create_default_context(cafile=secure.server_ca_file)
    tls13.minimum_version = ssl.TLSVersion.TLSv1_3
    with pytest.raises(ssl.SSLError, match="PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL"):
        secure.get(default, context=tls13)


def test_an_https_listener_needs_a_certificate_and_a_known_security_policy(secure):
    with pytest.raises(ClientError) as unknown:
        secure.listener(SslPolicy="ELBSecurityPolicy-Made-Up")
    assert unknown.value.response["Error"]["Code"] == "SSLPolicyNotFound"
    with pytest.raises(ClientError) as uncertified:
        secure.elb.create_listener(
            LoadBalancerArn=secure.arn,
            Protocol="HTTPS",
            Port=443,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": secure.group}],
        )
    assert uncertified.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": "A certificate must be specified for HTTPS listeners",
    }


def test_mutual_tls_verify_refuses_a_client_without_a_certificate_in_the_handshake(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    before = len(secure.echo.requests)
    # The alert is TLS 1.2's under the default policy (TLS 1.3 would say CERTIFICATE_REQUIRED).
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE"):
        secure.get(port)
    assert len(secure.echo.requests) == before  # no request reached the target


def test_mutual_tls_verify_refuses_a_client_certificate_from_another_ca(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    stranger = secure.client("stranger", CertificateAuthority("Someone Else's CA"))
    before = len(secure.echo.requests)
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
        secure.get(port, client=stranger)
    assert len(secure.echo.requests) == before


def test_mutual_tls_verify_lets_a_client_of_the_trust_store_through_with_awss_headers(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    certificate_file, key_file = secure.client("billing", secure.clients_ca)
    headers = secure.get(port, client=(certificate_file, key_file), context=None)["headers"]
    certificate = x509.load_pem_x509_certificate(open(certificate_file, "rb").read())
    assert headers["x-amzn-mtls-clientcert-serial-number"] == format(certificate.serial_number, "X")
    assert headers["x-amzn-mtls-clientcert-subject"] == "CN=billing"
    assert headers["x-amzn-mtls-clientcert-issuer"] == "CN=Lab 07 Clients CA,O=Lab 07"
    assert headers["x-amzn-mtls-clientcert-validity"] == (
        f"NotBefore={certificate.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ};"
        f"NotAfter={certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    )
    assert headers["x-amzn-mtls-clientcert-leaf"] == quote(open(certificate_file).read(), safe="+=/")
    assert "x-amzn-mtls-clientcert" not in headers  # the whole chain is passthrough's header


def test_an_expired_client_certificate_is_refused_unless_the_listener_ignores_expiry(secure):
    expired = secure.client("expired", secure.clients_ca, expired=True)
    _, strict = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_EXPIRED"):
        secure.get(strict, client=expired)
    _, lenient = secure.listener(
        MutualAuthentication={
            "Mode": "verify",
            "TrustStoreArn": secure.trust_store_arn,
            "IgnoreClientCertificateExpiry": True,
        }
    )
    assert secure.get(lenient, client=expired)["headers"]["x-amzn-mtls-clientcert-subject"] == "CN=expired"


def test_a_client_certificate_a_revocation_list_names_is_refused_until_the_list_is_removed(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    revoked, still_good = secure.client("revoked", secure.clients_ca), secure.client("still-good", secure.clients_ca)
    crl = secure.clients_ca.revocation_list(open(revoked[0], "rb").read())
    boto3.client("s3").put_object(Bucket="lab07-trust", Key="clients.crl", Body=crl)
    added = secure.elb.add_trust_store_revocations(
        TrustStoreArn=secure.trust_store_arn,
        RevocationContents=[{"S3Bucket": "lab07-trust", "S3Key": "clients.crl", "RevocationType": "CRL"}],
    )["TrustStoreRevocations"][0]
    assert (added["RevocationType"], added["NumberOfRevokedEntries"]) == ("CRL", 1)
    store = secure.elb.describe_trust_stores(TrustStoreArns=[secure.trust_store_arn])["TrustStores"][0]
    assert store["TotalRevokedEntries"] == 1
    with pytest.raises(ssl.SSLError):
        secure.get(port, client=revoked)
    assert secure.get(port, client=still_good)["headers"]["x-amzn-mtls-clientcert-subject"] == "CN=still-good"

    revocation = {"TrustStoreArn": secure.trust_store_arn, "RevocationIds": [added["RevocationId"]]}
    secure.elb.remove_trust_store_revocations(**revocation)
    assert secure.get(port, client=revoked)["headers"]["x-amzn-mtls-clientcert-subject"] == "CN=revoked"
    with pytest.raises(ClientError) as gone:
        secure.elb.describe_trust_store_revocations(**revocation)
    assert gone.value.response["Error"]["Code"] == "RevocationIdNotFound"


def test_a_revocation_list_no_ca_of_the_trust_store_signed_is_refused(secure):
    stranger = CertificateAuthority("Someone Else's CA")
    boto3.client("s3").put_object(Bucket="lab07-trust", Key="stranger.crl", Body=stranger.revocation_list())
    with pytest.raises(ClientError) as refused:
        secure.elb.add_trust_store_revocations(
            TrustStoreArn=secure.trust_store_arn,
            RevocationContents=[{"S3Bucket": "lab07-trust", "S3Key": "stranger.crl", "RevocationType": "CRL"}],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRevocationContent"


def test_mutual_tls_passthrough_accepts_any_client_certificate_and_passes_the_chain_on(secure):
    listener, port = secure.listener(MutualAuthentication={"Mode": "passthrough"})
    certificate_file, key_file = secure.client("anyone", CertificateAuthority("Any CA"))
    headers = secure.get(port, client=(certificate_file, key_file))["headers"]
    assert headers["x-amzn-mtls-clientcert"] == quote(open(certificate_file).read(), safe="+=/")
    assert "x-amzn-mtls-clientcert-subject" not in headers
    assert "x-amzn-mtls-clientcert" not in secure.get(port)["headers"]  # no certificate: no header
    described = secure.elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]
    assert described["MutualAuthentication"]["Mode"] == "passthrough"


def test_a_client_cannot_send_the_load_balancers_mtls_headers_itself(secure):
    _, port = secure.listener()
    context = ssl.create_default_context(cafile=secure.server_ca_file)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
    connection.request("GET", "/", headers={"X-Amzn-Mtls-Clientcert-Subject": "CN=admin"})
    headers = json.loads(connection.getresponse().read())["headers"]
    connection.close()
    assert "x-amzn-mtls-clientcert-subject" not in headers


def test_a_trust_store_in_use_cannot_be_deleted_until_its_listener_is(secure):
    listener, _ = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    described = secure.elb.describe_listeners(ListenerArns=[listener])["Listeners"][0]["MutualAuthentication"]
    assert described == {
        "Mode": "verify",
        "TrustStoreArn": secure.trust_store_arn,
        "IgnoreClientCertificateExpiry": False,
        "TrustStoreAssociationStatus": "active",
    }
    associations = secure.elb.describe_trust_store_associations(TrustStoreArn=secure.trust_store_arn)
    assert {"ResourceArn": listener} in associations["TrustStoreAssociations"]
    with pytest.raises(ClientError) as refused:
        secure.elb.delete_trust_store(TrustStoreArn=secure.trust_store_arn)
    assert refused.value.response["Error"]["Code"] == "TrustStoreInUse"
    assert refused.value.response["Error"]["Message"] == "The specified trust store is currently in use."
    store = secure.elb.describe_trust_stores(TrustStoreArns=[secure.trust_store_arn])["TrustStores"][0]
    assert (store["Name"], store["Status"], store["NumberOfCaCertificates"]) == ("lab07-clients", "ACTIVE", 1)


def test_trust_stores_refuse_what_aws_refuses(secure):
    with pytest.raises(ClientError) as missing:
        secure.elb.create_trust_store(
            Name="nothing-there", CaCertificatesBundleS3Bucket="lab07-trust", CaCertificatesBundleS3Key="nope.pem"
        )
    assert missing.value.response["Error"]["Code"] == "CaCertificatesBundleNotFound"
    boto3.client("s3").put_object(Bucket="lab07-trust", Key="not-a-ca.pem", Body=b"hello")
    with pytest.raises(ClientError) as invalid:
        secure.elb.create_trust_store(
            Name="not-a-ca", CaCertificatesBundleS3Bucket="lab07-trust", CaCertificatesBundleS3Key="not-a-ca.pem"
        )
    assert invalid.value.response["Error"]["Code"] == "InvalidCaCertificatesBundle"
    with pytest.raises(ClientError) as unknown:
        secure.listener(
            MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn.replace("lab07", "other")}
        )
    assert unknown.value.response["Error"]["Code"] == "TrustStoreNotFound"


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_curl_completes_mutual_tls_with_the_right_certificate_and_fails_without(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    certificate_file, key_file = secure.client("curl-client", secure.clients_ca)
    url = f"https://127.0.0.1:{port}/orders"
    ok = subprocess.run(
        ["curl", "-sS", "--cacert", secure.server_ca_file, "--cert", certificate_file, "--key", key_file, url],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["headers"]["x-amzn-mtls-clientcert-subject"] == "CN=curl-client"
    refused = subprocess.run(
        ["curl", "-sS", "--cacert", secure.server_ca_file, url], capture_output=True, text=True, timeout=10
    )
    assert refused.returncode != 0
    assert refused.stdout == ""


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_openssl_s_client_verifies_the_listener_and_completes_mutual_tls(secure):
    _, port = secure.listener(MutualAuthentication={"Mode": "verify", "TrustStoreArn": secure.trust_store_arn})
    certificate_file, key_file = secure.client("openssl-client", secure.clients_ca)
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", secure.server_ca_file, "-brief"]
    shown = subprocess.run(
        [*command, "-cert", certificate_file, "-key", key_file],
        input="",
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert "Verification: OK" in shown.stderr
    assert "CN=orders.lab07.test" in shown.stderr or "CN = orders.lab07.test" in shown.stderr


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_a_listener_advertises_its_trust_stores_ca_names_only_when_asked(secure):
    certificate_file, key_file = secure.client("named", secure.clients_ca)

    def acceptable_ca_names(port: int) -> str:
        command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", secure.server_ca_file]
        command += ["-cert", certificate_file, "-key", key_file]
        shown = subprocess.run(command, input="", capture_output=True, text=True, timeout=10).stdout
        return shown.split("---\nSSL handshake", 1)[0].rsplit("---", 1)[-1]

    mutual = {"Mode": "verify", "TrustStoreArn": secure.trust_store_arn}
    _, advertising = secure.listener(MutualAuthentication={**mutual, "AdvertiseTrustStoreCaNames": "on"})
    assert "Acceptable client certificate CA names\nO = Lab 07, CN = Lab 07 Clients CA" in acceptable_ca_names(
        advertising
    )
    _, silent = secure.listener(MutualAuthentication=mutual)
    assert "No client certificate CA names sent" in acceptable_ca_names(silent)


def port_of(secure, listener_arn: str) -> int:
    return secure.elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]["Port"]


def active_private_ca(name: str) -> tuple[str, str]:
    """(ARN, root certificate PEM) of a new root CA in ACM Private CA, installed and active."""
    pca = boto3.client("acm-pca")
    authority = pca.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "RSA_2048",
            "SigningAlgorithm": "SHA256WITHRSA",
            "Subject": {"CommonName": name},
        },
        CertificateAuthorityType="ROOT",
    )["CertificateAuthorityArn"]
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=authority)["Csr"]
    root_arn = pca.issue_certificate(
        CertificateAuthorityArn=authority,
        Csr=csr,
        SigningAlgorithm="SHA256WITHRSA",
        TemplateArn="arn:aws:acm-pca:::template/RootCACertificate/V1",
        Validity={"Value": 365, "Type": "DAYS"},
    )["CertificateArn"]
    root = pca.get_certificate(CertificateAuthorityArn=authority, CertificateArn=root_arn)["Certificate"]
    pca.import_certificate_authority_certificate(CertificateAuthorityArn=authority, Certificate=root)
    return authority, root


def test_a_certificate_issued_by_acm_private_ca_serves_an_https_listener(secure):
    pca = boto3.client("acm-pca")
    authority, root = active_private_ca("Lab 07 Private CA")
    key_pem, request = certificate_request("orders.lab07.test")
    issued_arn = pca.issue_certificate(
        CertificateAuthorityArn=authority,
        Csr=request,
        SigningAlgorithm="SHA256WITHRSA",
        TemplateArn="arn:aws:acm-pca:::template/EndEntityCertificate/V1",
        Validity={"Value": 30, "Type": "DAYS"},
    )["CertificateArn"]
    issued = pca.get_certificate(CertificateAuthorityArn=authority, CertificateArn=issued_arn)
    certificate_arn = secure.acm.import_certificate(
        Certificate=issued["Certificate"], PrivateKey=key_pem, CertificateChain=issued["CertificateChain"]
    )["CertificateArn"]
    listener, port = secure.listener()
    secure.elb.modify_listener(ListenerArn=listener, Certificates=[{"CertificateArn": certificate_arn}])
    trusting_the_private_ca = ssl.create_default_context(cadata=root)
    assert secure.get(port, context=trusting_the_private_ca)["path"] == "/orders"


def test_a_private_certificate_requested_from_acm_is_signed_by_its_private_ca(secure):
    authority, root = active_private_ca("Lab 07 Issuing CA")
    certificate_arn = secure.acm.request_certificate(
        DomainName="orders.lab07.test", SubjectAlternativeNames=["127.0.0.1"], CertificateAuthorityArn=authority
    )["CertificateArn"]
    described = secure.acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"]
    assert (described["Type"], described["Status"]) == ("PRIVATE", "ISSUED")
    listener, port = secure.listener()
    secure.elb.modify_listener(ListenerArn=listener, Certificates=[{"CertificateArn": certificate_arn}])
    assert secure.get(port, context=ssl.create_default_context(cadata=root))["path"] == "/orders"
    with pytest.raises(ssl.SSLCertVerificationError):
        secure.get(port)  # the learner's own CA did not sign it
