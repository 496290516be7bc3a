"""ElastiCache Serverless, which moto 5.2.5 lacks: CreateServerlessCache, DescribeServerlessCaches and
DeleteServerlessCache, added as methods of its ElastiCacheResponse. Each cache is kept on moto's backend
(core.state), tagged through its tagging service, and served by a server of its own (servers.py) that speaks
TLS only, as AWS's serverless caches do (encryption in transit is always on)."""

import datetime
import functools

from labkit.dataplane.core import state
from labkit.dataplane.elasticache import lifecycle, reach, servers

ENGINES = {"redis": ("7", "7.1"), "valkey": ("8", "8.0")}  # the default major and full versions
LOOPBACK = "127.0.0.1"


class ServerlessCache:
    """Named as the ServerlessCache shape's members, snake_cased: moto serializes it by those names."""

    def __init__(self, backend, name: str, engine: str, params: dict):
        major, full = ENGINES[engine]
        self.serverless_cache_name = name
        self.description = params.get("Description") or ""
        self.create_time = datetime.datetime.now(datetime.UTC)
        self.status = lifecycle.CREATING
        self.engine = engine
        self.major_engine_version = params.get("MajorEngineVersion") or major
        self.full_engine_version = full
        self.cache_usage_limits = params.get("CacheUsageLimits")
        self.security_group_ids = params.get("SecurityGroupIds") or []
        self.subnet_ids = params.get("SubnetIds") or []
        self.endpoint = self.reader_endpoint = None
        self.arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscache:{name}"
        self.snapshot_retention_limit = params.get("SnapshotRetentionLimit") or 0
        self.daily_snapshot_time = params.get("DailySnapshotTime") or "04:00"

    def serve_at(self, port: int) -> None:
        self.endpoint = {"Address": LOOPBACK, "Port": port}
        self.reader_endpoint = {"Address": LOOPBACK, "Port": port}


def _caches(backend) -> dict[str, ServerlessCache]:
    return state.setdefault(backend, "serverless_caches", dict)


def _result(payload: dict):
    from moto.core.responses import ActionResult

    return ActionResult(payload)


def _not_found(name: str):
    from moto.elasticache.exceptions import ElastiCacheException

    error = ElastiCacheException(f"Serverless cache {name} not found.")
    error.code = "ServerlessCacheNotFoundFault"
    error.http_status_code = 404
    return error


def _refused(code: str, message: str):
    from moto.elasticache.exceptions import ElastiCacheException

    error = ElastiCacheException(message)
    error.code = code
    return error


def _advance(backend) -> None:
    caches = _caches(backend)
    for name, cache in list(caches.items()):
        if lifecycle.gone(cache):
            del caches[name]
        else:
            cache.status = lifecycle.status(cache, cache.status)


def create_serverless_cache(self):
    backend = self.elasticache_backend
    params = self._get_params()
    name = params.get("ServerlessCacheName")
    engine = (params.get("Engine") or "").lower()
    if engine not in ENGINES:
        raise _refused(
            "InvalidParameterValue", f"Unknown parameter for Engine: {engine!r}, must be one of: redis, valkey"
        )
    _advance(backend)
    if name in _caches(backend):
        raise _refused("ServerlessCacheAlreadyExistsFault", f"Serverless cache {name} already exists.")
    arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscache:{name}"
    cache = ServerlessCache(backend, name, engine, params)
    admits = functools.partial(reach.admits, backend, cache, reach.DEFAULT_PORT)
    server = servers.start(arn, admits, transit_encryption=servers.REQUIRED)
    cache.serve_at(server.port)
    lifecycle.creating(cache, "serverless")
    _caches(backend)[name] = cache
    tags = params.get("Tags") or []
    if tags:
        backend.tagging_service.tag_resource(cache.arn, tags)
    return _result({"ServerlessCache": cache})


def describe_serverless_caches(self):
    backend = self.elasticache_backend
    _advance(backend)
    name = self._get_param("ServerlessCacheName")
    caches = _caches(backend)
    if name:
        if name not in caches:
            raise _not_found(name)
        return _result({"ServerlessCaches": [caches[name]]})
    return _result({"ServerlessCaches": list(caches.values())})


def delete_serverless_cache(self):
    backend = self.elasticache_backend
    _advance(backend)
    name = self._get_param("ServerlessCacheName")
    cache = _caches(backend).get(name)
    if cache is None:
        raise _not_found(name)
    servers.stop(cache.arn)
    if cache.status != lifecycle.DELETING:
        cache.status = lifecycle.DELETING
        lifecycle.deleting(cache)
    backend.tagging_service.delete_all_tags_for_resource(cache.arn)
    return _result({"ServerlessCache": cache})


ACTIONS = (create_serverless_cache, describe_serverless_caches, delete_serverless_cache)
