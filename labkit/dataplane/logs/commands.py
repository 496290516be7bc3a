"""A Logs Insights query as its commands: the text split at pipes (outside quotes, /regexes/ and
`names`, after dropping # comments), each parsed into what it does. Commands the local cloud does not
run are refused as a malformed query rather than ignored."""

import re
from dataclasses import dataclass

from labkit.dataplane.logs.expressions import MalformedQuery, Parser, compiled, unquoted

AGGREGATIONS = {"count", "count_distinct", "sum", "avg", "min", "max", "pct"}


@dataclass(frozen=True)
class Fields:
    columns: tuple  # (expression, name)


@dataclass(frozen=True)
class Display:
    names: tuple


@dataclass(frozen=True)
class Filter:
    condition: tuple


@dataclass(frozen=True)
class Parse:
    source: tuple
    pattern: re.Pattern
    names: tuple


@dataclass(frozen=True)
class Stats:
    aggregations: tuple  # (function, arguments, name)
    groups: tuple  # (expression, name)


@dataclass(frozen=True)
class Sort:
    keys: tuple  # (expression, descending)


@dataclass(frozen=True)
class Limit:
    count: int


@dataclass(frozen=True)
class Dedup:
    names: tuple


def parse(query: str) -> list:
    parts = [part.strip() for part in _split(query)]
    if not any(parts):
        raise MalformedQuery("the query is empty")
    return [_command(part) for part in parts if part]


def _split(query: str) -> list[str]:
    parts, current, quote, previous = [], [], None, ""
    for line in query.splitlines():
        for char in line:
            if quote:
                current.append(char)
                if char == quote and previous != "\\":
                    quote = None
            elif char == "#":
                break
            elif char in "\"'`/":
                quote = char
                current.append(char)
            elif char == "|":
                parts.append("".join(current))
                current = []
            else:
                current.append(char)
            previous = char
        current.append(" ")
    parts.append("".join(current))
    return parts


def _command(text: str):
    verb, _, rest = text.partition(" ")
    verb = verb.lower()
    if verb == "parse":
        return _parse(rest)
    parser = Parser(rest)
    if verb == "fields":
        return Fields(_columns(parser))
    if verb == "display":
        return Display(tuple(name for _, name in _columns(parser)))
    if verb == "filter":
        condition = parser.expression()
        _end(parser)
        return Filter(condition)
    if verb == "stats":
        return _stats(parser)
    if verb == "sort":
        return Sort(_sort_keys(parser))
    if verb == "limit":
        token = parser.take()
        _end(parser)
        if token.kind != "number" or not token.text.isdigit() or not 0 < int(token.text) <= 10_000:
            raise MalformedQuery("limit takes a whole number from 1 to 10000")
        return Limit(int(token.text))
    if verb == "dedup":
        return Dedup(tuple(name for _, name in _columns(parser)))
    raise MalformedQuery(f"unknown or unsupported command {verb!r}")


def _end(parser: Parser) -> None:
    if not parser.done():
        token = parser.peek()
        raise MalformedQuery(f"unexpected {token.text!r} at {token.start} in {parser.text!r}")


def _columns(parser: Parser) -> tuple:
    columns = []
    while True:
        start = parser.at
        expression = parser.expression()
        name = parser.source(start)
        if parser.accept("as"):
            name = parser.take().text
        columns.append((expression, name))
        if not parser.accept(","):
            break
    _end(parser)
    return tuple(columns)


def _stats(parser: Parser) -> Stats:
    aggregations = []
    while True:
        start = parser.at
        call = parser.expression()
        if call[0] != "call" or call[1] not in AGGREGATIONS:
            raise MalformedQuery(f"stats needs an aggregation function ({', '.join(sorted(AGGREGATIONS))})")
        name = parser.source(start)
        if parser.accept("as"):
            name = parser.take().text
        aggregations.append((call[1], call[2], name))
        if not parser.accept(","):
            break
    groups = ()
    if parser.accept("by"):
        groups = _columns(parser)
    _end(parser)
    return Stats(tuple(aggregations), groups)


def _sort_keys(parser: Parser) -> tuple:
    keys = []
    while True:
        expression = parser.expression()
        descending = False
        if parser.accept("desc"):
            descending = True
        else:
            parser.accept("asc")
        keys.append((expression, descending))
        if not parser.accept(","):
            break
    _end(parser)
    return tuple(keys)


_PARSE_REGEX = re.compile(r"\s*(?P<source>[^/\"']*?)\s*/(?P<regex>(?:[^/\\]|\\.)*)/\s*$")


def _parse(text: str) -> Parse:
    # parse [field] /regex/: a slash after a field would be read as division, so the regex form is split off first.
    if match := _PARSE_REGEX.match(text):
        source = Parser(match["source"]).expression() if match["source"] else ("field", "@message")
        pattern = compiled(match["regex"])
        return Parse(source, pattern, tuple(pattern.groupindex))
    parser = Parser(text)
    source = ("field", "@message")
    if parser.peek().kind != "string":
        source = parser.expression()
    token = parser.take()
    if token.kind != "string":
        raise MalformedQuery('parse needs a "glob * pattern" with as, or a /regex/ with named groups')
    glob = unquoted(token.text)
    parser.take("as")
    names = [parser.take().text]
    while parser.accept(","):
        names.append(parser.take().text)
    _end(parser)
    if glob.count("*") != len(names):
        raise MalformedQuery(f"parse's pattern has {glob.count('*')} wildcards for {len(names)} names")
    # Every * captures as little as it can; one that ends the pattern, the rest of the text.
    pieces = [re.escape(piece) for piece in glob.split("*")]
    regex = pieces[0]
    for index, piece in enumerate(pieces[1:], start=1):
        regex += ("(.*)" if index == len(pieces) - 1 and not piece else "(.*?)") + piece
    return Parse(source, re.compile(regex, re.DOTALL), tuple(names))
