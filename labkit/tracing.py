"""OpenTelemetry tracers that export to X-Ray's OTLP endpoint, on either target.

AWS takes spans over OTLP/HTTP at https://xray.REGION.amazonaws.com/v1/traces, signed with SigV4 for the
service `xray` (X-Ray's Transaction Search must be enabled in the account); the local cloud takes them at its
own /v1/traces. The endpoint is the one boto3's X-Ray client uses, so the same code reaches either."""

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SIGNED_HEADERS = ("Content-Type", "Content-Encoding")


class SigV4ForXRay(requests.auth.AuthBase):
    """Signs each OTLP export as X-Ray's endpoint requires, with the session's current credentials."""

    def __init__(self, session: boto3.Session, region: str):
        self.session, self.region = session, region

    def __call__(self, request):
        signed = AWSRequest(
            method=request.method,
            url=request.url,
            data=request.body,
            headers={name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers},
        )
        SigV4Auth(self.session.get_credentials().get_frozen_credentials(), "xray", self.region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        return request


def tracer(service: str, session: boto3.Session | None = None):
    """A tracer whose spans belong to `service` (X-Ray's segment name) and are exported as each one ends.

    Its own provider (the SDK's global one can be set once per process), with a simple span processor so that
    a trace is exported by the time the code that made it returns: fine for a lab, while a service under load
    batches its spans (BatchSpanProcessor)."""
    session = session or boto3.Session()
    client = session.client("xray")
    http = requests.Session()
    http.auth = SigV4ForXRay(session, client.meta.region_name)
    exporter = OTLPSpanExporter(endpoint=f"{client.meta.endpoint_url}/v1/traces", session=http)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("bookshop")
