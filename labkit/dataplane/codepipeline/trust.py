"""Whether CodePipeline may assume a pipeline's role, as IAM evaluates its trust policy. moto reads
each statement's Principal.Service as one string: a trust policy listing services (valid on AWS) was
refused, and one with a statement for an AWS principal failed. moto's CreatePipeline asks its IAM
backend for the role; here it gets the role's trust reduced to IAM's answer. Imported only once
moto.codepipeline is."""

import json
from types import SimpleNamespace

from moto.iam.models import iam_backends

from labkit.dataplane.core import policies

CODEPIPELINE = "codepipeline.amazonaws.com"


class TrustAsEvaluated:
    def __init__(self, iam_backend):
        self._iam = iam_backend

    def get_role_by_arn(self, arn: str):
        role = self._iam.get_role_by_arn(arn)
        trust = policies.parse(role.assume_role_policy_document or "{}")
        request = policies.Request("sts:AssumeRole", role.arn, {}, {"Service": CODEPIPELINE})
        trusted = policies.evaluate([trust], request) == policies.ALLOWED
        statements = [{"Effect": "Allow", "Principal": {"Service": CODEPIPELINE}}] if trusted else []
        return SimpleNamespace(assume_role_policy_document=json.dumps({"Statement": statements}))


def evaluated_trust(_moto_property):
    return property(lambda backend: TrustAsEvaluated(iam_backends[backend.account_id][backend.partition]))
