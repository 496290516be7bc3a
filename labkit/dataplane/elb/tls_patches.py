"""Where trust stores and mutual TLS meet moto's ELBv2 (moto 5.2.5, which has neither): the trust store
actions added to its ELBV2Response (trust_store_api.py), CreateListener and ModifyListener reading
MutualAuthentication (listener_api.py), and what tls.py and trust_stores.py read from moto's security
policies, ACM and S3."""

from labkit.dataplane.core.seams import Seam
from labkit.dataplane.elb import listener_api, trust_store_api, trust_stores


def _added(action):
    return Seam(f"{_RESPONSE}.{action.__name__}", replace=lambda _absent: action)


_RESPONSE = "moto.elbv2.responses.ELBV2Response"
SEAMS = (
    *(_added(action) for action in trust_store_api.ACTIONS),
    Seam(f"{_RESPONSE}.create_listener", ("self",), replace=listener_api.create_listener),
    Seam(f"{_RESPONSE}.modify_listener", ("self",), replace=listener_api.modify_listener),
    Seam("moto.elbv2.models.ELBv2Backend._get_resource_by_arn", ("self", "arn"), replace=trust_stores.resource_by_arn),
    Seam("moto.elbv2.models.ELBv2Backend.describe_tags", ("self", "resource_arns"), contains="tagging_service"),
    Seam("moto.elbv2.ssl_policies.SSL_POLICIES"),
    Seam("moto.acm.models.AWSCertificateManagerBackend.get_certificate", ("self", "arn")),
    Seam(
        "moto.s3.models.S3Backend.get_object",
        ("self", "bucket_name", "key_name", "version_id", "part_number", "return_delete_marker"),
    ),
)
