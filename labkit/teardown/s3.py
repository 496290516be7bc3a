"""S3 buckets of the current region, emptied (every object version and delete marker) first."""

from botocore.exceptions import ClientError

from labkit.awsapi import chunks, pages, tag_dict
from labkit.teardown.base import Kind, Resource, error_code


def find_buckets(client, wanted):
    # ListBuckets is global; the other kinds are regional, and so is a teardown.
    for bucket in pages(client, "list_buckets", "Buckets", BucketRegion=client.meta.region_name):
        try:
            tags = tag_dict(client.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
        except ClientError as error:
            if error_code(error) in ("NoSuchTagSet", "NoSuchBucket"):
                continue  # untagged, or deleted meanwhile
            raise
        if wanted(tags):
            yield Resource(id=bucket["Name"], name=bucket["Name"], tags=tags)


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


KINDS = (
    # BucketNotEmpty: an object written while the bucket was being emptied; emptying runs again.
    Kind("S3 bucket", "s3", find_buckets, delete_bucket, busy_codes=("BucketNotEmpty",)),
)
