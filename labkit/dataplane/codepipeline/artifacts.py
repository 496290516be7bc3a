"""The pipeline's artifact store: an S3 bucket, each artifact one zip under the key AWS gives it,
PIPELINE/ARTIFACT/RANDOM (pipeline and artifact names cut to 20 characters, 7 random characters),
read and written with the pipeline's role."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


class ArtifactStore:
    def __init__(self, bucket: str, pipeline_name: str, s3_client):
        self.bucket = bucket
        self.pipeline_name = pipeline_name
        self._s3 = s3_client
        self.locations: dict[str, dict] = {}  # artifact name -> {"bucket", "key"}, as written in this execution

    def key_for(self, artifact_name: str) -> str:
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(7))
        return f"{self.pipeline_name[:20]}/{artifact_name[:20]}/{suffix}"

    def write(self, artifact_name: str, archive: bytes) -> dict:
        key = self.key_for(artifact_name)
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=archive)
        self.locations[artifact_name] = {"bucket": self.bucket, "key": key}
        return self.locations[artifact_name]

    def read(self, artifact_name: str) -> bytes:
        location = self.locations[artifact_name]
        return self._s3.get_object(Bucket=location["bucket"], Key=location["key"])["Body"].read()
