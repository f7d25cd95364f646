"""Diagnostics of the language (ESC's hcl diagnostics, reduced) and "did you mean" suggestions.

Stdlib only: other stages and the command line import this without pulling in YAML.
"""
from dataclasses import dataclass, field
from typing import Any, Optional


class EnvironmentNotFound(Exception):
    """Raised by an environment loader for a name that does not exist.

    ``str(exc)`` becomes the diagnostic summary at the import entry or ``${environments...}`` reference.
    """


@dataclass
class Diagnostic:
    """One problem found while loading or evaluating an environment.

    severity: "error" | "warning"; environment: the name the blamed environment was evaluated under;
    line/column: 1-based start of the blamed node or accessor (None when the problem has no place,
    e.g. a YAML syntax error); path: YAML document path ('values.a["fn::join"][1]', 'imports[0]').
    cause: the exception a provider (or loader) raised, else None.
    """

    severity: str
    summary: str
    environment: str = ""
    line: Optional[int] = None
    column: Optional[int] = None
    path: str = ""
    cause: Any = field(default=None, repr=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        """``ENV:LINE:COL: SUMMARY`` like `esc env open`, or ``ENV: SUMMARY`` without a position."""
        if self.line is None:
            return f"{self.environment}: {self.summary}"
        return f"{self.environment}:{self.line}:{self.column}: {self.summary}"

    def sort_key(self):
        # ESC's order: subject-less diagnostics first (by summary), then by file, line, column.
        if self.line is None:
            return (0, self.summary, "", 0, 0)
        return (1, "", self.environment, self.line, self.column or 0)


def sort_diagnostics(diags):
    return sorted(diags, key=lambda d: d.sort_key())


def has_errors(diags) -> bool:
    return any(d.severity == "error" for d in diags)


# --- suggestions ---------------------------------------------------------------------------------

def levenshtein(a: str, b: str, transpositions: bool = False) -> int:
    """Edit distance (insert, delete, substitute; with transpositions, swapping two neighbours
    also costs 1: optimal string alignment). O(len(a)*len(b)) time."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    before, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if transpositions and before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, previous = previous, current
    return previous[-1]


def _fold(s: str) -> bytes:
    # ESC compares ignoring case and underscores, on bytes.
    return s.lower().replace("_", "").encode("utf-8", "surrogateescape")


# Longer candidate lists are not searched: a suggestion is a courtesy, not worth quadratic time.
_MAX_CANDIDATES = 1000
_MAX_NAME = 256
# Edit-distance cells one evaluation may spend on suggestions (about a second of Python): one
# misspelt long name among 1000 long keys costs 64 Mi cells, and a definition may misspell many.
SUGGESTION_CELLS = 2_000_000


class SuggestionAllowance:
    """The edit-distance work left for suggestions; once spent, messages carry no suggestion."""

    __slots__ = ("cells",)

    def __init__(self, cells=SUGGESTION_CELLS):
        self.cells = cells

    def take(self, cells) -> bool:
        if cells > self.cells:
            self.cells = 0
            return False
        self.cells -= cells
        return True


def suggest(name: str, candidates, transpositions: bool = False, allowance=None) -> Optional[str]:
    """The nearest candidate at distance < ceil(len(name)/2) (bytes, ignoring case and '_'), or None.

    That is ESC's rule for properties; builtin names also count a swap of two letters as one edit.
    allowance: a SuggestionAllowance the comparisons are paid from (None: unbounded).
    """
    if len(name) > _MAX_NAME:
        return None
    folded = _fold(name)
    limit = (len(name.encode("utf-8", "surrogateescape")) + 1) // 2
    best, best_distance = None, None
    for i, candidate in enumerate(candidates):
        if i >= _MAX_CANDIDATES:
            break
        if candidate == name or len(candidate) > _MAX_NAME:
            continue
        folded_candidate = _fold(candidate)
        if abs(len(folded_candidate) - len(folded)) >= limit:  # the distance is at least that
            continue
        if allowance is not None and not allowance.take((len(folded) + 1) * (len(folded_candidate) + 1)):
            return None
        distance = levenshtein(folded.decode("latin-1"), folded_candidate.decode("latin-1"), transpositions)
        if distance < limit and (best_distance is None or distance < best_distance):
            best, best_distance = candidate, distance
    return best


def did_you_mean(name: str, candidates, allowance=None) -> str:
    """``'; did you mean "X"?'`` or the empty string."""
    found = suggest(name, candidates, allowance=allowance)
    if found is None:
        return ""
    from credproc.lang.values import go_quote  # stdlib-only module

    return f"; did you mean {go_quote(found)}?"
