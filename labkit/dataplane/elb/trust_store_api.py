"""The ELBv2 trust store actions moto 5.2.5 lacks, as methods of its ELBv2Response (trust_stores.py
keeps the trust stores): CreateTrustStore, DescribeTrustStores, ModifyTrustStore, DeleteTrustStore,
DescribeTrustStoreAssociations, and the revocation lists (revocations.py): AddTrustStoreRevocations,
DescribeTrustStoreRevocations, RemoveTrustStoreRevocations."""

from labkit.dataplane.elb import revocations, trust_stores


def _result(payload: dict):
    from moto.core.responses import ActionResult

    return ActionResult(payload)


def create_trust_store(self):
    store = trust_stores.create(
        self.elbv2_backend,
        self._get_param("Name"),
        self._get_param("CaCertificatesBundleS3Bucket"),
        self._get_param("CaCertificatesBundleS3Key"),
        self._get_param("CaCertificatesBundleS3ObjectVersion"),
        self._get_param("Tags") or [],
    )
    return _result({"TrustStores": [store.describe()]})


def describe_trust_stores(self):
    found = trust_stores.describe(
        self.elbv2_backend, self._get_param("TrustStoreArns") or [], self._get_param("Names") or []
    )
    return _result({"TrustStores": [store.describe() for store in found]})


def modify_trust_store(self):
    store = trust_stores.modify(
        self.elbv2_backend,
        self._get_param("TrustStoreArn"),
        self._get_param("CaCertificatesBundleS3Bucket"),
        self._get_param("CaCertificatesBundleS3Key"),
        self._get_param("CaCertificatesBundleS3ObjectVersion"),
    )
    return _result({"TrustStores": [store.describe()]})


def delete_trust_store(self):
    trust_stores.delete(self.elbv2_backend, self._get_param("TrustStoreArn"))
    return _result({})


def describe_trust_store_associations(self):
    arn = self._get_param("TrustStoreArn")
    trust_stores.get(self.elbv2_backend, arn)
    listeners = trust_stores.associations(self.elbv2_backend, arn)
    return _result({"TrustStoreAssociations": [{"ResourceArn": listener} for listener in listeners]})


def add_trust_store_revocations(self):
    arn = self._get_param("TrustStoreArn")
    added = revocations.add(self.elbv2_backend, arn, self._get_param("RevocationContents") or [])
    return _result({"TrustStoreRevocations": [revocation.describe(arn) for revocation in added]})


def describe_trust_store_revocations(self):
    arn = self._get_param("TrustStoreArn")
    found = revocations.describe(self.elbv2_backend, arn, self._get_param("RevocationIds") or [])
    return _result({"TrustStoreRevocations": [revocation.describe(arn) for revocation in found]})


def remove_trust_store_revocations(self):
    revocations.remove(self.elbv2_backend, self._get_param("TrustStoreArn"), self._get_param("RevocationIds") or [])
    return _result({})


ACTIONS = (
    create_trust_store,
    describe_trust_stores,
    modify_trust_store,
    delete_trust_store,
    describe_trust_store_associations,
    add_trust_store_revocations,
    describe_trust_store_revocations,
    remove_trust_store_revocations,
)
