"""Where a build's source comes from and its artifact goes, with the service role's credentials (a role
that may not read the source fails DOWNLOAD_SOURCE with S3's AccessDenied, as on AWS). Only S3 sources:
CodeCommit is closed to new accounts, and GitHub or Bitbucket through CodeConnections needs a provider
the local cloud does not have."""

import io
import zipfile

import boto3

NOT_FETCHED = (
    "the local cloud fetches only S3 sources (and a pipeline's artifacts): CodeCommit is closed to new "
    "accounts and {kind} through CodeConnections needs a provider"
)


def _s3(credentials: dict, endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def fetch(source: dict, credentials: dict, endpoint: str) -> bytes | None:
    kind = source.get("type")
    if kind == "NO_SOURCE":
        return None
    if kind == "CODEPIPELINE":
        raise ValueError("a CODEPIPELINE source is given by the pipeline that runs the build")
    if kind != "S3":
        raise ValueError(NOT_FETCHED.format(kind=kind))
    bucket, _, key = source["location"].partition("/")
    return _s3(credentials, endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()


def deliverer(artifacts: dict, project_name: str, build_uuid: str, credentials: dict, endpoint: str):
    """How the project's artifact is uploaded, or None (NO_ARTIFACTS; CODEPIPELINE: the pipeline's)."""
    if artifacts.get("type") != "S3":
        return None
    bucket = artifacts["location"]
    parts = [artifacts.get("path", "")]
    if artifacts.get("namespaceType") == "BUILD_ID":
        parts.append(build_uuid)
    parts.append(artifacts.get("name") or project_name)
    key = "/".join(p.strip("/") for p in parts if p)

    def deliver(archive: bytes) -> dict:
        s3 = _s3(credentials, endpoint)
        if artifacts.get("packaging") == "ZIP":
            s3.put_object(Bucket=bucket, Key=key, Body=archive)
        else:
            with zipfile.ZipFile(io.BytesIO(archive)) as files:
                for name in files.namelist():
                    s3.put_object(Bucket=bucket, Key=f"{key}/{name}", Body=files.read(name))
        return {"location": f"arn:aws:s3:::{bucket}/{key}"}

    return deliver
