"""A key's state as AWS enforces it (KMS Developer Guide, "Key states of AWS KMS keys"): a disabled
key refuses cryptographic operations with DisabledException ("<key ARN> is disabled."), a key pending
deletion with KMSInvalidStateException ("<key ARN> is pending deletion."). A Decrypt naming another
key than its ciphertext's is refused with IncorrectKeyException, and a key pending deletion is neither
enabled nor disabled before its deletion is cancelled. Encrypt, GenerateDataKey
(with or without plaintext) and ReEncrypt's new ciphertext all go through KmsBackend.encrypt in moto,
Decrypt and ReEncrypt's source through KmsBackend.decrypt. Imported once moto.kms.models is."""

import functools

from moto.core.exceptions import JsonRESTError

from labkit.dataplane.core.seams import Seam


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, arn: str):
        super().__init__("DisabledException", f"{arn} is disabled.")


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, arn: str):
        super().__init__("KMSInvalidStateException", f"{arn} is pending deletion.")


class IncorrectKeyException(JsonRESTError):
    code = 400

    def __init__(self):
        super().__init__(
            "IncorrectKeyException",
            "The key ID in the request does not identify a KMS key that can perform this operation.",
        )


def refuse_unless_usable(key) -> None:
    if key.key_state == "Disabled":
        raise DisabledException(key.arn)
    if key.key_state == "PendingDeletion":
        raise KMSInvalidStateException(key.arn)


def _encrypting_with_a_usable_key(encrypt):
    @functools.wraps(encrypt)
    def encrypting(self, key_id, plaintext, encryption_context):
        key = self.keys.get(self.any_id_to_key_id(key_id))
        if key is not None:  # an unknown key: moto's NotFoundException
            refuse_unless_usable(key)
        return encrypt(self, key_id, plaintext, encryption_context)

    return encrypting


def _decrypting_with_a_usable_key(decrypt):
    from moto.kms.utils import _deserialize_ciphertext_blob

    @functools.wraps(decrypt)
    def decrypting(self, ciphertext_blob, encryption_context, key_id=None):
        try:
            key = self.keys.get(_deserialize_ciphertext_blob(ciphertext_blob).key_id)
        except Exception:  # not a ciphertext: moto's InvalidCiphertextException
            key = None
        if key is not None and key_id and self.keys.get(self.any_id_to_key_id(key_id)) not in (None, key):
            raise IncorrectKeyException()  # moto: AccessDeniedException
        if key is not None:
            refuse_unless_usable(key)
        return decrypt(self, ciphertext_blob, encryption_context, key_id)

    return decrypting


def _refusing_a_key_pending_deletion(change):
    """EnableKey and DisableKey: a key pending deletion changes only by CancelKeyDeletion first. The key is
    named by its id or its ARN, as AWS accepts (moto looked the ARN up as an id: KeyError)."""

    @functools.wraps(change)
    def changing(self, key_id):
        key = self.keys.get(self.any_id_to_key_id(key_id))
        if key is not None and key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(key.arn)
        return change(self, self.get_key_id(key_id))

    return changing


def _accepting_a_key_arn(method):
    """CancelKeyDeletion and ScheduleKeyDeletion name the key by its id or its ARN, as AWS accepts."""

    @functools.wraps(method)
    def by_id_or_arn(self, key_id, *rest):
        return method(self, self.get_key_id(key_id), *rest)

    return by_id_or_arn


SEAMS = (
    Seam("moto.kms.models.KmsBackend.enable_key", ("self", "key_id"), replace=_refusing_a_key_pending_deletion),
    Seam("moto.kms.models.KmsBackend.disable_key", ("self", "key_id"), replace=_refusing_a_key_pending_deletion),
    Seam("moto.kms.models.KmsBackend.cancel_key_deletion", ("self", "key_id"), replace=_accepting_a_key_arn),
    Seam(
        "moto.kms.models.KmsBackend.schedule_key_deletion",
        ("self", "key_id", "pending_window_in_days"),
        replace=_accepting_a_key_arn,
    ),
    Seam(
        "moto.kms.models.KmsBackend.encrypt",
        ("self", "key_id", "plaintext", "encryption_context"),
        replace=_encrypting_with_a_usable_key,
    ),
    Seam(
        "moto.kms.models.KmsBackend.decrypt",
        ("self", "ciphertext_blob", "encryption_context", "key_id"),
        replace=_decrypting_with_a_usable_key,
    ),
    Seam("moto.kms.models.KmsBackend.generate_data_key", contains="self.encrypt("),
    Seam("moto.kms.models.KmsBackend.re_encrypt", contains="self.decrypt("),
    Seam("moto.kms.utils._deserialize_ciphertext_blob", ("ciphertext_blob",)),
)
