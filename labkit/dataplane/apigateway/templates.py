"""Mapping templates: the subset of API Gateway's Velocity Template Language (VTL) labkit renders.

References, also written ${...} or $!{...}:
  $input.body  $input.json('<path>')  $input.path('<path>')  $input.params('<name>')
  $input.params()  (then .header, .querystring or .path, and .get('<name>'))
  $context.<name>[.<name>...]  $stageVariables.<name>
  $util.escapeJavaScript|urlEncode|urlDecode|base64Encode|base64Decode|parseJson(<argument>)
  <map>.get('<key>')  <map or list>.size()
JSON paths: $  $.a.b  $['a']  $.a[0].
Comments (## and #* *#) are dropped. Directives (#set, #if, #foreach, ...) are refused with
TemplateNotSupported: the API then answers 500 and the local cloud's log says which part is missing.
Objects and lists render as JSON (AWS renders Java's map notation); a missing value renders empty,
except $input.json of a missing path, which renders null so that the result stays JSON.
"""

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, unquote_plus

_DIRECTIVE = re.compile(
    r"#\{?(set|if|elseif|else|end|foreach|macro|parse|include|evaluate|define|"
    r"break|stop)\b"
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_PATH_STEP = re.compile(r"\.([A-Za-z0-9_\-:]+)|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")


class TemplateNotSupported(Exception):
    """The template uses VTL beyond the subset above."""


@dataclass
class TemplateScope:
    """What a template can refer to."""

    body: str = ""  # the payload $input reads
    params: dict[str, dict[str, str]] = field(default_factory=dict)  # path, querystring, header
    context: dict[str, Any] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)

    def document(self):
        """The body as JSON: None when empty, the text itself when it is not JSON."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body


def render(template: str, scope: TemplateScope) -> str:
    out, index, length = [], 0, len(template)
    while index < length:
        char = template[index]
        if char == "$":
            parsed = _Parser(template, index, scope).reference()
            if parsed is None:
                out.append(char)
                index += 1
            else:
                text, index = parsed
                out.append(text)
        elif char == "#" and template.startswith("##", index):
            end = template.find("\n", index)
            index = length if end < 0 else end
        elif char == "#" and template.startswith("#*", index):
            end = template.find("*#", index + 2)
            index = length if end < 0 else end + 2
        elif char == "#" and _DIRECTIVE.match(template, index):
            directive = _DIRECTIVE.match(template, index).group(0)
            raise TemplateNotSupported(f"the directive {directive}")
        else:
            next_special = min(
                (found for found in (template.find("$", index), template.find("#", index)) if found >= 0),
                default=length,
            )
            end = max(next_special, index + 1)
            out.append(template[index:end])
            index = end
    return "".join(out)


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def select(document, path: str):
    """The part of a JSON document a JSON path names (the subset above); None when missing."""
    if not path.startswith("$"):
        raise TemplateNotSupported(f"the JSON path {path!r} (it must start with $)")
    position, value = 1, document
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            raise TemplateNotSupported(f"the JSON path {path!r}")
        key = next(group for group in step.groups() if group is not None)
        if step.group(4) is not None:
            index = int(key)
            value = value[index] if isinstance(value, list) and index < len(value) else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
        position = step.end()
    return value


class _Input:
    def __init__(self, scope: TemplateScope):
        self.scope = scope

    def member(self, name: str, args):
        if name == "body" and args is None:
            return self.scope.body
        if name == "json" and args and len(args) == 1:
            found = select(self.scope.document(), args[0])
            return json.dumps(found, separators=(",", ":"))
        if name == "path" and args and len(args) == 1:
            return select(self.scope.document(), args[0])
        if name == "params" and args == []:
            return self.scope.params
        if name == "params" and args and len(args) == 1:
            for where in ("path", "querystring", "header"):
                found = lookup(self.scope.params.get(where, {}), args[0])
                if found is not None:
                    return found
            return None
        raise TemplateNotSupported(f"$input.{name}{'' if args is None else '(...)'}")


class _Util:
    FUNCTIONS = {
        "escapeJavaScript": lambda text: _escape_javascript(as_text(text)),
        "urlEncode": lambda text: quote_plus(as_text(text)),
        "urlDecode": lambda text: unquote_plus(as_text(text)),
        "base64Encode": lambda text: base64.b64encode(as_text(text).encode()).decode(),
        "base64Decode": lambda text: base64.b64decode(as_text(text)).decode("utf-8", "replace"),
        "parseJson": lambda text: json.loads(as_text(text)),
    }

    def member(self, name: str, args):
        function = self.FUNCTIONS.get(name)
        if function is None or args is None or len(args) != 1:
            raise TemplateNotSupported(f"$util.{name}")
        return function(args[0])


def _escape_javascript(text: str) -> str:
    # As Java's StringEscapeUtils.escapeJavaScript, which API Gateway uses: ' becomes \' too.
    replacements = {
        "\\": "\\\\",
        '"': '\\"',
        "'": "\\'",
        "/": "\\/",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\b": "\\b",
        "\f": "\\f",
    }
    return "".join(replacements.get(char, char) for char in text)


def lookup(mapping: dict, key: str):
    """mapping[key], else a key differing only in case: header names are case-insensitive."""
    if key in mapping:
        return mapping[key]
    wanted = str(key).lower()
    return next((value for name, value in mapping.items() if str(name).lower() == wanted), None)


def _member(value, name: str, args):
    if isinstance(value, (_Input, _Util)):
        return value.member(name, args)
    if isinstance(value, dict):
        if args is None:
            return value.get(name)
        if name == "get" and len(args) == 1:
            return lookup(value, args[0])
    if name == "size" and args == [] and isinstance(value, (dict, list, str)):
        return len(value)
    if value is None:
        return None
    raise TemplateNotSupported(f".{name}{'' if args is None else '(...)'}")


class _NotAReference(Exception):
    """A "$" that does not start a reference this subset knows: it stays literal text, as in VTL."""


class _Parser:
    """Reads one reference starting at a "$" and evaluates it."""

    def __init__(self, text: str, start: int, scope: TemplateScope):
        self.text, self.position, self.scope = text, start, scope

    def reference(self):
        """(rendered text, index after the reference), or None if no reference starts here."""
        start = self.position
        try:
            value = self._value()
        except _NotAReference:
            self.position = start
            return None
        return as_text(value), self.position

    def _value(self):
        start = self.position
        self.position += 1  # the "$"
        self._take("!")
        braced = self._take("{")
        root = self._name()
        roots = {
            "input": lambda: _Input(self.scope),
            "context": lambda: self.scope.context,
            "stageVariables": lambda: self.scope.stage_variables,
            "util": _Util,
        }
        if root not in roots:
            raise _NotAReference
        value = roots[root]()
        while self._peek(".") and _NAME.match(self.text, self.position + 1):
            self.position += 1
            name = self._name()
            value = _member(value, name, self._arguments())
        if braced and not self._take("}"):
            raise TemplateNotSupported(f"the reference {self.text[start : self.position + 1]!r}")
        return value

    def _arguments(self):
        """None when no parentheses follow, else the evaluated argument list."""
        if not self._take("("):
            return None
        args = []
        while True:
            self._skip_spaces()
            if self._take(")"):
                return args
            args.append(self._argument())
            self._skip_spaces()
            self._take(",")

    def _argument(self):
        quote = self.text[self.position : self.position + 1]
        if quote in ("'", '"'):
            end = self.text.find(quote, self.position + 1)
            if end < 0:
                raise TemplateNotSupported("an unterminated string")
            value = self.text[self.position + 1 : end]
            self.position = end + 1
            return value
        if quote == "$":
            try:
                return self._value()
            except _NotAReference:
                pass
        raise TemplateNotSupported(f"the argument {self.text[self.position : self.position + 20]!r}")

    def _name(self) -> str:
        found = _NAME.match(self.text, self.position)
        if not found:
            return ""
        self.position = found.end()
        return found.group(0)

    def _take(self, char: str) -> bool:
        if self._peek(char):
            self.position += 1
            return True
        return False

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.position)

    def _skip_spaces(self) -> None:
        while self.position < len(self.text) and self.text[self.position] in " \t":
            self.position += 1
