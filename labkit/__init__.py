"""labkit: the course toolkit.

`labkit.url_for(...)` is exported here for notebooks; it loads boto3 only when first used, so the
`labkit` command stays quick to start.
"""


def __getattr__(name):
    if name == "url_for":
        from labkit.urls import url_for

        return url_for
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
