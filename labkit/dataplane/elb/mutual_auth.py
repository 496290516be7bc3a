"""A listener's MutualAuthentication (mTLS), which moto 5.2.5 neither reads nor returns: checked here,
set by CreateListener and ModifyListener (listener_api.py), returned by DescribeListeners (moto's
serializer reads the listener's `mutual_authentication` attribute), applied by its TLS (tls.py)."""

from labkit.dataplane.elb import trust_stores

MODES = ("off", "verify", "passthrough")
OFF = {"Mode": "off"}


def of(listener) -> dict:
    return getattr(listener, "mutual_authentication", None) or OFF


def checked(backend, protocol: str | None, asked: dict | None) -> dict | None:
    """The MutualAuthentication to keep for the request's `asked`, refused as AWS refuses it; None when
    the request does not set it. A missing trust store is AWS's TrustStoreNotFound; for the other
    refusals AWS's own messages were not found, so these say what is wrong in words of their own."""
    from moto.elbv2.exceptions import ELBClientError

    if not asked:
        return None
    mode = asked.get("Mode") or "off"
    if mode not in MODES:
        raise ELBClientError("ValidationError", f"Mutual authentication mode '{mode}' is not valid")
    if mode != "off" and protocol != "HTTPS":
        raise ELBClientError(
            "InvalidConfigurationRequest", "Mutual authentication is supported only by HTTPS listeners"
        )
    kept = {"Mode": mode}
    if mode == "verify":
        arn = asked.get("TrustStoreArn")
        if not arn:
            raise ELBClientError(
                "ValidationError", "A trust store must be specified when the mutual authentication mode is verify"
            )
        trust_stores.get(backend, arn)  # TrustStoreNotFound
        kept["TrustStoreArn"] = arn
        kept["IgnoreClientCertificateExpiry"] = bool(asked.get("IgnoreClientCertificateExpiry", False))
        kept["TrustStoreAssociationStatus"] = "active"
        if asked.get("AdvertiseTrustStoreCaNames"):
            kept["AdvertiseTrustStoreCaNames"] = asked["AdvertiseTrustStoreCaNames"]
    return kept
