"""Cache parameter groups, which moto 5.2.5 lacks: CreateCacheParameterGroup, DescribeCacheParameterGroups and
DeleteCacheParameterGroup, added as methods of its ElastiCacheResponse, kept on moto's backend (core.state)
and tagged through its tagging service. Their parameters are recorded, not applied to the servers."""

from labkit.dataplane.core import state


class CacheParameterGroup:
    """Named as the CacheParameterGroup shape's members, snake_cased: moto serializes it by those names."""

    def __init__(self, backend, name: str, family: str, description: str):
        self.cache_parameter_group_name = name
        self.cache_parameter_group_family = family
        self.description = description
        self.is_global = False
        self.arn = f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}"


def _groups(backend) -> dict[str, CacheParameterGroup]:
    return state.setdefault(backend, "cache_parameter_groups", dict)


def _error(code: str, message: str, status: int = 400):
    from moto.elasticache.exceptions import ElastiCacheException

    error = ElastiCacheException(message)
    error.code = code
    error.http_status_code = status
    return error


def _result(payload: dict):
    from moto.core.responses import ActionResult

    return ActionResult(payload)


def create_cache_parameter_group(self):
    backend = self.elasticache_backend
    params = self._get_params()
    name = params.get("CacheParameterGroupName")
    if name in _groups(backend):
        raise _error("CacheParameterGroupAlreadyExists", f"Parameter group {name} already exists.")
    group = CacheParameterGroup(backend, name, params.get("CacheParameterGroupFamily"), params.get("Description"))
    _groups(backend)[name] = group
    if params.get("Tags"):
        backend.tagging_service.tag_resource(group.arn, params["Tags"])
    return _result({"CacheParameterGroup": group})


def describe_cache_parameter_groups(self):
    groups = _groups(self.elasticache_backend)
    name = self._get_param("CacheParameterGroupName")
    if name:
        if name not in groups:
            raise _error("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
        return _result({"CacheParameterGroups": [groups[name]]})
    return _result({"CacheParameterGroups": list(groups.values())})


def delete_cache_parameter_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    group = _groups(backend).pop(name, None)
    if group is None:
        raise _error("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    return _result({})


ACTIONS = (create_cache_parameter_group, describe_cache_parameter_groups, delete_cache_parameter_group)
