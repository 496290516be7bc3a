"""Logs Insights expressions: tokens, a parser into a small tree, and its evaluation over one record.

What the course's queries use (CloudWatch Logs User Guide, "CloudWatch Logs Insights language query
syntax"): fields (@message, a.b, `quoted name`), numbers, "strings" and 'strings', /regular expressions/,
arithmetic, comparisons (= != < <= > >=), like / not like (a string is a substring, a /regex/ a search),
=~, in / not in [lists], and / or / not, parentheses, and the functions in FUNCTIONS.
"""

import math
import re
from dataclasses import dataclass


class MalformedQuery(Exception):
    """What Logs Insights answers as MalformedQueryException."""


KEYWORDS = {"and", "or", "not", "like", "in", "as", "by", "asc", "desc"}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?:[smhd]|ms)?\b)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<quoted>`[^`]*`)
    | (?P<name>[@A-Za-z_][\w.@$]*(?<!\.))
    | (?P<op><=|>=|!=|=~|[=<>+\-*/%(),\[\]])
    )""",
    re.VERBOSE,
)
_REGEX = re.compile(r"\s*/((?:[^/\\]|\\.)*)/")


@dataclass(frozen=True)
class Token:
    kind: str
    """number, string, regex, name, keyword, op, end."""
    text: str
    start: int


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    position = 0
    while text[position:].strip():
        previous = found[-1] if found else None
        # A slash after an operator, a keyword or nothing opens a /regex/; after a value, it divides.
        if previous is None or previous.kind in ("keyword", "op") and previous.text not in (")", "]"):
            if match := _REGEX.match(text, position):
                found.append(Token("regex", match.group(1), match.start(1) - 1))
                position = match.end()
                continue
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise MalformedQuery(f"unexpected character at {position}: {text[position : position + 20]!r}")
        kind = match.lastgroup
        value, start = match.group(kind), match.start(kind)
        if kind == "name" and value.lower() in KEYWORDS:
            kind, value = "keyword", value.lower()
        elif kind == "quoted":
            kind, value = "name", value[1:-1]
        found.append(Token(kind, value, start))
        position = match.end()
    return found


class Parser:
    """Recursive descent over tokens; each parse_* returns a node (a tuple, its kind first)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokens(text)
        self.at = 0

    def peek(self, offset: int = 0) -> Token:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else Token("end", "", len(self.text))

    def take(self, text: str | None = None) -> Token:
        token = self.peek()
        if token.kind == "end" or (text is not None and token.text != text):
            raise MalformedQuery(f"expected {text or 'more'} at {token.start} in {self.text!r}")
        self.at += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("keyword", "op"):
            self.at += 1
            return True
        return False

    def done(self) -> bool:
        return self.peek().kind == "end"

    def expression(self):
        node = self._and()
        while self.accept("or"):
            node = ("or", node, self._and())
        return node

    def _and(self):
        node = self._not()
        while self.accept("and"):
            node = ("and", node, self._not())
        return node

    def _not(self):
        if self.accept("not"):
            return ("not", self._not())
        return self._comparison()

    def _comparison(self):
        node = self._sum()
        token = self.peek()
        if token.kind == "op" and token.text in ("=", "!=", "<", "<=", ">", ">="):
            self.at += 1
            return ("compare", token.text, node, self._sum())
        negated = token.text == "not" and self.peek(1).text in ("like", "in")
        if negated:
            self.at += 1
        if self.accept("like") or (not negated and self.accept("=~")):
            return ("like", node, self._pattern(), negated)
        if self.accept("in"):
            return ("in", node, self._list(), negated)
        if negated:
            raise MalformedQuery(f"expected like or in after not at {token.start}")
        return node

    def _pattern(self):
        token = self.take()
        if token.kind == "regex":
            return compiled(token.text)
        if token.kind == "string":
            return re.compile(re.escape(unquoted(token.text)))
        raise MalformedQuery(f"like needs a string or a /regex/ at {token.start}")

    def _list(self):
        self.take("[")
        items = [] if self.peek().text == "]" else [self._sum()]
        while self.accept(","):
            items.append(self._sum())
        self.take("]")
        return tuple(items)

    def _sum(self):
        node = self._product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            node = ("arith", self.take().text, node, self._product())
        return node

    def _product(self):
        node = self._unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            node = ("arith", self.take().text, node, self._unary())
        return node

    def _unary(self):
        if self.accept("-"):
            return ("arith", "-", ("literal", 0), self._unary())
        return self._primary()

    def _primary(self):
        token = self.take()
        if token.kind == "number":
            return ("literal", _number(token.text))
        if token.kind == "string":
            return ("literal", unquoted(token.text))
        if token.kind == "regex":
            return ("literal", compiled(token.text))
        if token.text == "(":
            node = self.expression()
            self.take(")")
            return node
        if token.kind == "name" and self.peek().text == "(":
            return self._call(token)
        if token.kind == "name":
            return ("field", token.text)
        raise MalformedQuery(f"unexpected {token.text!r} at {token.start} in {self.text!r}")

    def _call(self, name: Token):
        self.take("(")
        arguments = []
        if self.peek().text == "*":
            self.take()
            arguments.append(("literal", "*"))
        elif self.peek().text != ")":
            arguments.append(self.expression())
            while self.accept(","):
                arguments.append(self.expression())
        end = self.take(")")
        return ("call", name.text.lower(), tuple(arguments), self.text[name.start : end.start + 1])

    def source(self, start: int) -> str:
        """The query text from token `start` to the last token taken: an unaliased result's name."""
        first, last = self.tokens[start], self.tokens[self.at - 1]
        end = last.start + len(last.text) + (2 if last.kind in ("string", "regex") else 0)
        return self.text[first.start : end].strip()


def unquoted(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def compiled(pattern: str) -> re.Pattern:
    # Insights takes Java/RE2-style named groups, (?<name>...); Python spells them (?P<name>...).
    try:
        return re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern))
    except re.error as error:
        raise MalformedQuery(f"invalid regular expression /{pattern}/: {error}") from error


TIME_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _number(text: str):
    unit = re.search(r"(ms|[smhd])$", text)
    if unit:
        return float(text[: unit.start()]) * TIME_UNITS[unit.group(1)] * 1000  # a period, in milliseconds
    return float(text) if "." in text else int(text)


def number(value):
    """The value as a number, or None: Insights compares and adds numeric strings as numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value) -> str:
    return "" if value is None else value if isinstance(value, str) else format_value(value)


def format_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


FUNCTIONS = {
    "ispresent": lambda v: v is not None,
    "isempty": lambda v: v is None or v == "",
    "isblank": lambda v: v is None or _text(v).strip() == "",
    "strlen": lambda v: len(_text(v)),
    "tolower": lambda v: _text(v).lower(),
    "toupper": lambda v: _text(v).upper(),
    "trim": lambda v: _text(v).strip(),
    "concat": lambda *vs: "".join(_text(v) for v in vs),
    "abs": lambda v: abs(number(v)),
    "floor": lambda v: math.floor(number(v)),
    "ceil": lambda v: math.ceil(number(v)),
}


def evaluate(node, record: dict):
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "field":
        return record.get(node[1])
    if kind == "and":
        return bool(evaluate(node[1], record)) and bool(evaluate(node[2], record))
    if kind == "or":
        return bool(evaluate(node[1], record)) or bool(evaluate(node[2], record))
    if kind == "not":
        return not evaluate(node[1], record)
    if kind == "compare":
        return _compare(node[1], evaluate(node[2], record), evaluate(node[3], record))
    if kind == "like":
        value = evaluate(node[1], record)
        found = value is not None and node[2].search(_text(value)) is not None
        return found != node[3]
    if kind == "in":
        value = evaluate(node[1], record)
        found = any(_compare("=", value, evaluate(item, record)) for item in node[2])
        return found != node[3]
    if kind == "arith":
        return _arith(node[1], evaluate(node[2], record), evaluate(node[3], record))
    if kind == "call":
        return _call(node, record)
    raise MalformedQuery(f"cannot evaluate {kind}")


def _compare(op: str, left, right) -> bool:
    if left is None or right is None:
        return op == "!=" and (left is None) != (right is None)
    a, b = number(left), number(right)
    if a is None or b is None:
        a, b = _text(left), _text(right)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arith(op: str, left, right):
    a, b = number(left), number(right)
    if a is None or b is None or (op in "/%" and b == 0):
        return None
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "%": a % b}[op]


def _call(node, record: dict):
    _, name, arguments, _ = node
    if name not in FUNCTIONS:
        raise MalformedQuery(f"unknown function {name}")
    try:
        return FUNCTIONS[name](*(evaluate(argument, record) for argument in arguments))
    except TypeError:
        return None
