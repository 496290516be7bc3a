"""Source action, provider S3: the object S3ObjectKey of the versioned bucket S3Bucket, its current
version, becomes the output artifact as it is (a zip)."""

from botocore.exceptions import ClientError

from labkit.dataplane.codepipeline.actions import ActionContext, ActionFailed, Outcome


def run(context: ActionContext) -> Outcome:
    bucket, key = context.configuration.get("S3Bucket"), context.configuration.get("S3ObjectKey")
    s3 = context.client("s3")
    try:
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        if versioning != "Enabled":
            raise ActionFailed(f"The bucket named {bucket} is not versioned.", code="ConfigurationError")
        found = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("NoSuchKey", "404"):
            raise ActionFailed(f"The object with key '{key}' does not exist.") from error
        if code == "NoSuchBucket":
            raise ActionFailed(f"The bucket named {bucket} does not exist.") from error
        raise ActionFailed(f"Access denied to the S3 object {bucket}/{key}: {error}", code=code) from error
    archive = found["Body"].read()
    for name in context.output_names:
        context.store.write(name, archive)
    version = found.get("VersionId", "")
    context.record.revision = {"revisionId": version, "revisionSummary": f"Amazon S3 version id: {version}"}
    return Outcome(summary=f"Amazon S3 version id: {version}", external_id=version)


def unavailable(provider: str, reason: str):
    def run_unavailable(context: ActionContext) -> Outcome:
        raise ActionFailed(f"The local cloud cannot run a {provider} source: {reason}", code="ConfigurationError")

    return run_unavailable
