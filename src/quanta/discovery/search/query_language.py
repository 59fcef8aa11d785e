"""The search query language: words, never operators; plurals, prefixes, stop words and typo correction.

Backend-neutral: a ``Query`` is a list of units (one per word typed, each the word's tokens) that every
index renders into its own syntax (an FTS5 expression, a PostgreSQL tsquery), so no input can read as an
operator and both backends match the same products.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from quanta.discovery.search.documents import fold, key, words

MAX_COLUMNS = 5  # column names listed in a hit's ``matched``; more are counted
_STOP = "a an and are as at by for from in is near not of on or the to with"  # dropped beside other words
STOPWORDS = frozenset(_STOP.split())
_NEWLINE = re.compile("\n")


class Vocabulary(Protocol):
    """The words an index has seen: what parsing and typo correction ask of it."""

    def is_word(self, token: str) -> bool: ...

    def has_prefix(self, prefix: str) -> bool: ...

    def similar(self, token: str) -> list[str]:
        """Up to 100 indexed words sharing trigrams with ``token``, most shared first."""
        ...


@dataclass(frozen=True)
class Query:
    """A query as units, one per word typed, each the word's tokens; ``whole`` are indexed words."""

    text: str
    units: tuple[tuple[str, ...], ...]
    whole: frozenset[str] = frozenset()
    relaxed: bool = False  # any unit rather than every unit

    @property
    def key(self) -> str:
        return key(self.text)

    def terms(self) -> list[tuple[frozenset[str], tuple[str, ...], bool]]:
        """Per unit: the words any of which match it (a whole word and its plurals), or else a phrase and
        whether its last word is a prefix (a single letter is too short to be one)."""
        found: list[tuple[frozenset[str], tuple[str, ...], bool]] = []
        for unit in self.units:
            if unit[0] in self.whole:  # a whole word matches itself and its plurals: no prefix scan
                found.append((variants(unit[0]), (), False))
            else:
                found.append((frozenset(), unit, len(unit[-1]) > 1))
        return found

    @cached_property
    def patterns(self) -> list[re.Pattern[str]]:
        """Per unit, where it occurs in folded text as the index matches it: a whole word or one of its
        plurals, or a phrase on one line whose last word may be a prefix. Each starts with its words, so
        the regular expression engine scans for them fast; that a match starts a word is checked after."""
        found = []
        for any_of, phrase, prefix in self.terms():
            if any_of:
                longest_first = sorted(map(re.escape, any_of), key=len, reverse=True)
                found.append(re.compile("(?:" + "|".join(longest_first) + r")(?!\w)"))
            else:
                found.append(
                    re.compile(r"[^\w\n]+".join(map(re.escape, phrase)) + ("" if prefix else r"(?!\w)"))
                )
        return found

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds a unit, as the index matches it."""
        return any(self._starts(_folded(text)))

    def lines_found_in(self, text: str) -> list[int]:
        """The numbers of the lines of ``text`` holding a unit."""
        low = _folded(text)
        breaks = [m.start() for m in _NEWLINE.finditer(low)]
        return sorted({bisect_right(breaks, start) for start in self._starts(low)})

    def _starts(self, low: str) -> Iterator[int]:
        for pattern in self.patterns:
            for m in pattern.finditer(low):
                before = low[m.start() - 1] if m.start() else " "
                if not (before.isalnum() or before == "_"):
                    yield m.start()


def _folded(text: str) -> str:
    low = text.lower()
    return low if low.isascii() else fold(low)


def parse(text: str, is_word: Callable[[str], bool] = lambda _: False) -> Query:
    """Units of a query: plurals folded, lone stop words dropped (unless nothing else is left)."""
    units = [(*u[:-1], _singular(u[-1])) for u in (tuple(words(w)) for w in text.split()) if u]
    units = [u for u in units if len(u) > 1 or u[0] not in STOPWORDS] or units
    return Query(text, tuple(units), frozenset(u[0] for u in units if len(u) == 1 and is_word(u[0])))


def _singular(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def variants(token: str) -> frozenset[str]:
    """A whole word and its plurals."""
    return frozenset((token, f"{token}s", f"{token}es"))


def matched(query: Query, texts: Sequence[str]) -> list[str]:
    """Where a hit matched: name, each tag and glossary term, description, each column, owner."""
    name, tags, glossary, description, columns, owner = texts

    def labels(field: str) -> list[str]:
        lines = field.split("\n")
        return [lines[n].split("\t", 1)[0] for n in query.lines_found_in(field)]

    found = ["name"] if query.found_in(name) else []
    found += [f"tag {t}" for t in labels(tags)] + [f"glossary {t}" for t in labels(glossary)]
    found += ["description"] if query.found_in(description) else []
    hit = labels(columns)
    found += [f"column {c}" for c in hit[:MAX_COLUMNS]]
    more = len(hit) - MAX_COLUMNS
    found += [f"{more} more column{'s' if more > 1 else ''}"] if more > 0 else []
    return found + (["owner"] if query.found_in(owner) else [])


def correct(index: Vocabulary, query: Query) -> Query | None:
    """The query with each word the index has never seen replaced: a misspelt word by the closest word
    it has, an unknown snake_case name by its words."""
    text = query.text
    for token in dict.fromkeys(words(query.text)):
        if len(token) < 4 or index.has_prefix(_singular(token)):
            continue
        best = token.replace("_", " ") if "_" in token.strip("_") else closest(index, token)
        if best is None:
            return None
        text = re.sub(rf"(?i)(?<![^\W_]){re.escape(token)}(?![^\W_])", best, text)
    return parse(text, index.is_word) if text != query.text else None


def trigrams(word: str) -> set[str]:
    return {word[i : i + 3] for i in range(len(word) - 2)}


def closest(index: Vocabulary, token: str) -> str | None:
    """The indexed word nearest ``token``: candidates share its trigrams, the edit distance decides."""
    if not token.isalpha():
        return None
    grams, allowed = trigrams(token), 1 if len(token) <= 5 else 2
    overlap = {
        t: len(grams & trigrams(t)) for t in index.similar(token) if abs(len(t) - len(token)) <= allowed
    }
    shortlist = sorted(overlap, key=lambda t: -overlap[t])[:20]
    best = min(((distance(token, t), -overlap[t], t) for t in shortlist), default=None)
    return best[2] if best and best[0] <= allowed else None


def distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit (optimal string alignment)."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]
