"""ElastiCache on the local cloud: a cache answers at the endpoint its describe call returns.

Each Redis OSS or Valkey cache, node-based (CreateCacheCluster, CreateReplicationGroup) or serverless
(CreateServerlessCache), is a real `redis-server` process on a 127.0.0.1 port of its own (servers.py),
started on create, stopped on delete, on `labkit reset` and when the local cloud exits. Its endpoint is a gate
in front of it (gate.py) that lets through only what the cache's VPC and security groups admit (reach.py): a
Lambda function or an ECS task in the cache's VPC, whose process is found from the connection (peers.py). Its
status goes from `creating` to `available` on the local clock (lifecycle.py). moto keeps the records (caches.py
says what is corrected); the serverless caches, which moto lacks, are kept here (serverless.py).
"""

import atexit

from labkit.dataplane.core import seams
from labkit.dataplane.elasticache import servers, tls


def install() -> None:
    tls.server_files()  # before a kernel, function or task reads the bundle its SSL_CERT_FILE names
    seams.declare(
        "elasticache: caches are real servers",
        "moto.elasticache.responses",
        "labkit.dataplane.elasticache.moto_patches:SEAMS",
    )
    atexit.register(servers.stop_all)


def reset() -> None:
    servers.stop_all()
