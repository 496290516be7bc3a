"""S3 buckets of the current region, emptied (every object version and delete marker) first."""

from labkit.awsapi import chunks
from labkit.inventory import s3
from labkit.teardown.base import Deletion


def delete_bucket(client, bucket):
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket.id):
        objects = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])
        ]
        for batch in chunks(objects, 1000):  # DeleteObjects takes at most 1000 keys
            result = client.delete_objects(Bucket=bucket.id, Delete={"Objects": batch, "Quiet": True})
            if result.get("Errors"):
                error = result["Errors"][0]
                raise RuntimeError(
                    f"could not delete object {error['Key']}: {error['Code']} {error.get('Message', '')}"
                )
    client.delete_bucket(Bucket=bucket.id)


DELETIONS = (
    # BucketNotEmpty: an object written while the bucket was being emptied; emptying runs again.
    Deletion(s3.BUCKET, delete_bucket, busy_codes=("BucketNotEmpty",)),
)
