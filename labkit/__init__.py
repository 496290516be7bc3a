"""labkit: the course toolkit.

`labkit.url_for(...)` and `labkit.ls()` (what you deployed, with URLs) are exported here for
notebooks; each loads boto3 only when first used, so the `labkit` command stays quick to start.
"""


def __getattr__(name):
    if name == "url_for":
        from labkit.urls import url_for

        return url_for
    if name == "ls":
        from labkit.listing import ls

        return ls
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
