"""S3 buckets of the current region (ListBuckets is global; the other kinds are regional)."""

from botocore.exceptions import ClientError

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import error_code


def _buckets(clients, wanted):
    client = clients("s3")
    for bucket in pages(client, "list_buckets", "Buckets", BucketRegion=clients.region):
        try:
            tags = tag_dict(client.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                continue  # deleted meanwhile
            if error_code(error) != "NoSuchTagSet":
                raise
            tags = {}
        if wanted(tags):
            name = bucket["Name"]
            yield Resource(id=name, name=name, arn=f"arn:aws:s3:::{name}", tags=tags, details=bucket)


BUCKET = Kind("S3 bucket", "s3", _buckets)
KINDS = (BUCKET,)
