"""AWS KMS on the local cloud: keys refuse as AWS's do.

moto encrypts with a key whatever its state and reads a key policy only for an explicit Deny of
DescribeKey. Here a disabled key refuses Encrypt, Decrypt and GenerateDataKey with DisabledException,
a key pending deletion with KMSInvalidStateException (states.py), and a workload's call (a function's
or a task's role) is allowed only as KMS allows it: by the key policy, by the key policy's trust in the
account together with the role's IAM policies, or by a grant. The iam package's middleware asks
`authorize` for every KMS call made with a role's credentials; a Decrypt names no key, so the key is
read from its ciphertext (`key_of_ciphertext`), as AWS does. A wrong encryption context already fails
in moto with AWS's InvalidCiphertextException (the context is the AES-GCM cipher's associated data).
"""

from labkit.dataplane.core import seams
from labkit.dataplane.kms.access import authorize, key_of_ciphertext

__all__ = ["authorize", "install", "key_of_ciphertext"]


def install() -> None:
    seams.declare("kms: a disabled or deleting key refuses", "moto.kms.models", "labkit.dataplane.kms.states:SEAMS")
