"""Which listener serves on which local port: one proxy server per listener, kept in step with
what moto holds (created with the listener, stopped with it or its load balancer)."""

import threading

from labkit.dataplane.core import state
from labkit.dataplane.elb.proxy import ListenerServer

_servers: dict[str, ListenerServer] = {}  # listener ARN -> its server
_lock = threading.Lock()


def sync() -> None:
    """Start a server for each listener moto holds and stop those whose listener is gone."""
    from moto.elbv2.models import elbv2_backends

    wanted = {}
    for backend in _backends(elbv2_backends):
        for balancer in list(backend.load_balancers.values()):
            if balancer.type != "application":
                continue
            for listener in list(balancer.listeners.values()):
                wanted[listener.arn] = (backend, balancer, listener)
    with _lock:
        for arn in [arn for arn in _servers if arn not in wanted or _servers[arn].listener is not wanted[arn][2]]:
            _stop(_servers.pop(arn))
        for arn, (backend, balancer, listener) in wanted.items():
            if arn not in _servers:
                server = ListenerServer(backend, balancer, listener)
                state.put(listener, "server", server)
                _servers[arn] = server
                threading.Thread(
                    target=server.serve_forever, daemon=True, name=f"listener {balancer.name}:{listener.port}"
                ).start()


def stop_all() -> None:
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        _stop(server)


def describe() -> list[dict]:
    """Every application load balancer with its listeners' local URLs, for /_labkit/loadbalancers."""
    sync()
    with _lock:
        servers = list(_servers.values())
    balancers: dict[str, dict] = {}
    for server in servers:
        balancer = server.balancer
        entry = balancers.setdefault(
            balancer.arn,
            {
                "LoadBalancerArn": balancer.arn,
                "LoadBalancerName": balancer.name,
                "DNSName": balancer.dns_name,
                "Listeners": [],
            },
        )
        entry["Listeners"].append(
            {
                "ListenerArn": server.listener.arn,
                "Port": int(server.listener.port),
                "Protocol": server.listener.protocol,
                "LocalPort": server.local_port,
                "Url": f"{server.scheme}://127.0.0.1:{server.local_port}",
            }
        )
    for entry in balancers.values():
        entry["Listeners"].sort(key=lambda listener: listener["Port"])
    return sorted(balancers.values(), key=lambda entry: entry["LoadBalancerName"])


def _stop(server: ListenerServer) -> None:
    state.pop(server.listener, "server")
    # shutdown() waits for serve_forever to notice; close the socket after, from another thread,
    # so a request thread calling sync() never blocks on its own server.
    threading.Thread(target=lambda: (server.shutdown(), server.server_close()), daemon=True).start()


def _backends(backend_dict):
    for regions in list(backend_dict.values()):
        yield from list(regions.values())
