"""Path templates as API Gateway matches them: literal segments, {param} and a final greedy {name+}.

When several templates match a path, the most specific wins: compared segment by segment from the
left, a literal beats {param}, which beats a greedy variable. REST API resources and HTTP API routes
both match this way.
"""

from dataclasses import dataclass

LITERAL, PARAM, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class PathTemplate:
    text: str  # as written: "/books/{id}", "/{proxy+}", "/"
    segments: tuple[tuple[int, str], ...]  # (kind, literal text or variable name)

    @classmethod
    def parse(cls, text: str) -> "PathTemplate":
        segments = []
        for part in [piece for piece in text.strip("/").split("/") if piece]:
            if part.startswith("{") and part.endswith("+}"):
                segments.append((GREEDY, part[1:-2]))
            elif part.startswith("{") and part.endswith("}"):
                segments.append((PARAM, part[1:-1]))
            else:
                segments.append((LITERAL, part))
        return cls(text, tuple(segments))

    def match(self, path: list[str]) -> dict[str, str] | None:
        """The path variables when the decoded path segments fit this template, else None."""
        params: dict[str, str] = {}
        for index, (kind, name) in enumerate(self.segments):
            if kind == GREEDY:
                rest = path[index:]
                if not rest:
                    return None
                params[name] = "/".join(rest)
                return params
            if index >= len(path):
                return None
            if kind == LITERAL and path[index] != name:
                return None
            if kind == PARAM:
                if not path[index]:
                    return None
                params[name] = path[index]
        return params if len(path) == len(self.segments) else None

    @property
    def specificity(self) -> tuple[int, ...]:
        """Smaller is more specific."""
        return tuple(kind for kind, _ in self.segments)


def best_match(candidates, path: list[str]):
    """(item, path variables) for the most specific candidate that matches the path, or None.

    Candidates are (template, tiebreak, item); between equally specific templates the smaller
    tiebreak wins (HTTP APIs prefer a route's own method to ANY), then the first given.
    """
    best = None
    for template, tiebreak, item in candidates:
        params = template.match(path)
        if params is None:
            continue
        rank = (template.specificity, tiebreak)
        if best is None or rank < best[0]:
            best = (rank, item, params)
    return None if best is None else (best[1], best[2])
