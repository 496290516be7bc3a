"""X-Ray filter expressions (X-Ray Developer Guide, "Use filter expressions") over trace summaries, the
subset the course uses: boolean keywords (ok, error, fault, throttle, alone or = true/false, ! before them),
numbers (responsetime, duration, http.status: = != < <= > >=), strings (http.url, http.method:
= != CONTAINS BEGINSWITH ENDSWITH), annotation.KEY, service("name"), AND / OR and parentheses.
Anything else is refused rather than ignored."""

import re

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"[^"]*")|(?P<number>\d+(?:\.\d+)?)|(?P<op><=|>=|!=|[=<>!(){}])|(?P<word>[\w.]+))'
)
BOOLEANS = {"ok", "error", "fault", "throttle"}
NUMBERS = {"responsetime": "ResponseTime", "duration": "Duration"}
STRING_OPS = {"contains", "beginswith", "endswith"}


class Invalid(Exception):
    pass


def parse(text: str):
    tokens, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if not match:
            raise Invalid(f"Invalid filter expression at {position}: {text[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    parser = _Parser(tokens)
    node = parser.disjunction()
    if parser.at != len(tokens):
        raise Invalid(f"Invalid filter expression: unexpected {tokens[parser.at][1]!r}")
    return node


class _Parser:
    def __init__(self, tokens):
        self.tokens, self.at = tokens, 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else (None, None)

    def take(self):
        if self.at >= len(self.tokens):
            raise Invalid("Invalid filter expression: it ends too soon")
        self.at += 1
        return self.tokens[self.at - 1]

    def disjunction(self):
        node = self.conjunction()
        while (self.peek()[1] or "").upper() == "OR":
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.term()
        while (self.peek()[1] or "").upper() == "AND":
            self.take()
            node = ("and", node, self.term())
        return node

    def term(self):
        kind, value = self.take()
        if value == "!":
            return ("not", self.term())
        if value == "(":
            node = self.disjunction()
            if self.take()[1] != ")":
                raise Invalid("Invalid filter expression: ( without )")
            return node
        if kind != "word":
            raise Invalid(f"Invalid filter expression: unexpected {value!r}")
        keyword = value.lower()
        if keyword == "service" and self.peek()[1] == "(":
            self.take()
            name = self.take()
            if name[0] != "string" or self.take()[1] != ")":
                raise Invalid('Invalid filter expression: service("name")')
            node = ("service", name[1][1:-1])
            if self.peek()[1] == "{":
                self.take()
                inner = self.disjunction()
                if self.take()[1] != "}":
                    raise Invalid("Invalid filter expression: { without }")
                node = ("and", node, inner)
            return node
        if keyword in BOOLEANS:
            if self.peek()[1] in ("=", "!="):
                op, (_, literal) = self.take()[1], self.take()
                if literal.lower() not in ("true", "false"):
                    raise Invalid(f"Invalid filter expression: {keyword} is true or false")
                return ("flag", keyword, (literal.lower() == "true") == (op == "="))
            return ("flag", keyword, True)
        op = self.take()[1]
        literal_kind, literal = self.take()
        if literal_kind == "string":
            literal = literal[1:-1]
        elif literal_kind == "number":
            literal = float(literal)
        if op.lower() in STRING_OPS and literal_kind != "string":
            raise Invalid(f"Invalid filter expression: {op} takes a string")
        if op.lower() not in STRING_OPS and op not in ("=", "!=", "<", "<=", ">", ">="):
            raise Invalid(f"Invalid filter expression: unknown operator {op!r}")
        if (
            keyword in NUMBERS
            or keyword in ("http.status", "http.url", "http.method")
            or keyword.startswith("annotation.")
        ):
            return ("compare", keyword, op.lower(), literal)
        raise Invalid(f"Invalid filter expression: unknown keyword {value!r}")


def matches(node, summary: dict) -> bool:
    kind = node[0]
    if kind == "or":
        return matches(node[1], summary) or matches(node[2], summary)
    if kind == "and":
        return matches(node[1], summary) and matches(node[2], summary)
    if kind == "not":
        return not matches(node[1], summary)
    if kind == "service":
        return any(node[1] == service.get("Name") for service in summary.get("ServiceIds", []))
    if kind == "flag":
        flags = {
            "error": summary.get("HasError"),
            "fault": summary.get("HasFault"),
            "throttle": summary.get("HasThrottle"),
        }
        flags["ok"] = not any(flags.values())
        return bool(flags[node[1]]) == node[2]
    _, keyword, op, literal = node
    value = _value(keyword, summary)
    if value is None:
        return False
    if op in STRING_OPS:
        value = str(value)
        return {
            "contains": literal in value,
            "beginswith": value.startswith(literal),
            "endswith": value.endswith(literal),
        }[op]
    if isinstance(literal, float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False
    return {"=": value == literal, "!=": value != literal, "<": value < literal, "<=": value <= literal}.get(
        op, value > literal if op == ">" else value >= literal
    )


def _value(keyword: str, summary: dict):
    if keyword in NUMBERS:
        return summary.get(NUMBERS[keyword])
    http = summary.get("Http", {})
    if keyword == "http.status":
        return http.get("HttpStatus")
    if keyword == "http.url":
        return http.get("HttpURL")
    if keyword == "http.method":
        return http.get("HttpMethod")
    return summary.get("Annotations", {}).get(keyword.split(".", 1)[1])
