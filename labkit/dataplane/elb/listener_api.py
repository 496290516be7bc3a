"""CreateListener and ModifyListener as AWS answers them for TLS, around moto's ELBV2Response: an HTTPS
listener without a certificate is refused (moto creates it), an unknown SslPolicy is refused at creation
too (moto checks it only on ModifyListener), and MutualAuthentication is checked, kept and returned
(mutual_auth.py)."""

from labkit.dataplane.elb import mutual_auth


def _check_policy(name: str | None) -> None:
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.ssl_policies import SSL_POLICIES

    if name is not None and name not in SSL_POLICIES:
        raise ELBClientError("SSLPolicyNotFound", f"Policy {name} not found")  # moto's ModifyListener's words


def create_listener(original):
    def create_listener(self):
        from moto.elbv2.exceptions import ELBClientError

        if self._get_param("Protocol") == "HTTPS" and not self._get_param("Certificates"):
            raise ELBClientError("ValidationError", "A certificate must be specified for HTTPS listeners")
        _check_policy(self._get_param("SslPolicy"))
        asked = mutual_auth.checked(
            self.elbv2_backend, self._get_param("Protocol"), self._get_param("MutualAuthentication")
        )
        result = original(self)
        balancer = self.elbv2_backend.load_balancers[self._get_param("LoadBalancerArn")]
        port = str(self._get_param("Port"))
        listener = next(found for found in balancer.listeners.values() if str(found.port) == port)
        if listener.protocol == "HTTPS":
            listener.mutual_authentication = asked or dict(mutual_auth.OFF)
        return result

    return create_listener


def modify_listener(original):
    def modify_listener(self):
        arn = self._get_param("ListenerArn")
        listener = self.elbv2_backend.describe_listeners(None, [arn])[0]
        protocol = self._get_param("Protocol") or listener.protocol
        asked = mutual_auth.checked(self.elbv2_backend, protocol, self._get_param("MutualAuthentication"))
        result = original(self)
        if asked is not None:
            listener.mutual_authentication = asked
        elif listener.protocol == "HTTPS" and getattr(listener, "mutual_authentication", None) is None:
            listener.mutual_authentication = dict(mutual_auth.OFF)
        return result

    return modify_listener
