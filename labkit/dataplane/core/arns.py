"""Reading ARNs: arn:partition:service:region:account:resource."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> "Arn":
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ValueError(f"{text!r} is not an ARN")
        return cls(*parts[1:])


@dataclass(frozen=True)
class FunctionRef:
    """A Lambda function as callers name it: a name, a partial ARN (account:function:name) or an ARN,
    each maybe qualified by a version or an alias."""

    name: str
    qualifier: str | None
    region: str | None
    account: str | None

    @classmethod
    def parse(cls, text: str, qualifier: str | None = None) -> "FunctionRef":
        head, marker, tail = text.rpartition("function:")
        if not marker:
            tail = text
        name, _, named_qualifier = tail.partition(":")
        fields = head.split(":") if head.startswith("arn:") else []
        region, account = (fields[3], fields[4]) if len(fields) >= 5 else (None, None)
        if not region and head and not head.startswith("arn:"):
            account = head.rstrip(":") or None
        return cls(name, named_qualifier or qualifier, region or None, account)

    @property
    def qualified_name(self) -> str:
        return f"{self.name}:{self.qualifier}" if self.qualifier else self.name
