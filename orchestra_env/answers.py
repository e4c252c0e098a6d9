"""Answer extraction, normalisation and matching, without an LLM.

`normalize_answer` maps surface variants of one answer to one string: case, accents, articles,
punctuation and spacing go; numbers become canonical ("1,234" == "1234" == "1234.0" ==
"+1234"); a full date becomes ISO ("March 3, 1952" == "3 March 1952" == "1952-03-03"); a
number followed by a bare unit word ("37 years", "1200 people") or preceded by "in" ("in 1952")
is the number; the spelled numbers zero … twenty alone are digits. `answers_match` is exact
equality of normalised strings against the answer and its aliases — never a substring test, so
"1952 or 1953" does not match "1952".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(\d{4})"
_DATES = (  # (pattern, order of the groups as (year, month, day))
    (re.compile(rf"{_YEAR}-(\d{{1,2}})-(\d{{1,2}})"), (1, 2, 3)),  # 1952-03-03
    (re.compile(rf"{_YEAR}-(\d{{1,2}})"), (1, 2, None)),  # 1952-03
    (re.compile(rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}"), (3, 1, 2)),  # March 3, 1952
    (re.compile(rf"{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"), (3, 2, 1)),  # 3 March 1952
    (re.compile(rf"{_MONTH},?\s+{_YEAR}"), (2, 1, None)),  # March 1952
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_UNITS = frozenset(
    "year years yr yrs people persons employees staff workers residents inhabitants attendees "
    "visitors times".split()
)
_ARTICLES = frozenset(("a", "an", "the"))
# A number (optional sign, thousands groups, decimals) standing alone, or a run of letters/digits.
_TOKEN = re.compile(
    r"(?<![^\W_])(?<!\.)([-+]?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?![^\W_])|[^\W_]+"
)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPEN_TAG = re.compile(r"<answer>", re.IGNORECASE)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")


def _fold(text: str) -> str:
    """Compatibility-decompose, drop accents and combining marks, case-fold."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = unicodedata.normalize("NFKD", text)  # case folding can produce decomposable text
    return "".join(c for c in text if not unicodedata.combining(c))


def _canonical_number(sign: str, digits: str) -> str:
    whole, _, fraction = digits.replace(",", "").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    number = f"{whole}.{fraction}" if fraction else whole
    return "-" + number if sign == "-" and number != "0" else number


def _date(text: str) -> str | None:
    for pattern, (y, m, d) in _DATES:
        match = pattern.fullmatch(text)
        if not match:
            continue
        year = match.group(y)
        month = match.group(m)
        month = _MONTHS[month] if month in _MONTHS else int(month)
        day = int(match.group(d)) if d else None
        if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
            return None
        return f"{year}-{month:02d}" + (f"-{day:02d}" if day is not None else "")
    return None


@lru_cache(maxsize=65_536)  # answers, aliases and titles recur across episodes
def normalize_answer(text: str) -> str:
    """A canonical form of an answer: equal forms mean the same answer."""
    text = " ".join(_fold(text).split())
    text = text.rstrip(".!?;: ")  # trailing only: ".5" keeps its point
    date = _date(text)
    if date is not None:
        return date
    tokens = []
    for match in _TOKEN.finditer(text):
        if match.group(2) is not None:
            tokens.append(_canonical_number(match.group(1), match.group(2)))
        elif match.group().isdigit():  # digits after a point: "1.5.3" -> "1.5 3", "a.00" -> "0"
            tokens.append(_canonical_number("", match.group()))
        elif match.group() not in _ARTICLES:
            tokens.append(match.group())
    if len(tokens) == 2 and tokens[0] == "in" and _is_number(tokens[1]):
        tokens = tokens[1:]
    if (
        len(tokens) == 2
        and tokens[1] in _UNITS
        and (_is_number(tokens[0]) or tokens[0] in _NUMBER_WORDS)
    ):
        tokens = tokens[:1]
    if len(tokens) == 1 and tokens[0] in _NUMBER_WORDS:
        tokens = [_NUMBER_WORDS[tokens[0]]]
    out = " ".join(tokens)
    return _date(out) or out  # "March, 3 1952" is a date once its punctuation is gone


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", token))


def answers_match(prediction: str, answer: str, aliases: Sequence[str] = ()) -> bool:
    """Whether `prediction` is `answer` or one of its `aliases`, after normalisation."""
    predicted = normalize_answer(prediction)
    if not predicted:
        return False
    return any(predicted == normalize_answer(a) for a in (answer, *aliases))


def _boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} in `text` (braces balanced), or None."""
    last = None
    for match in _BOXED.finditer(text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            last = text[match.end() : i - 1]
    return last


def extract_answer(text: str) -> str | None:
    """The final answer in model output: the last <answer>…</answer> (or an unclosed last
    <answer>…), else the last \\boxed{…}; None when there is neither."""
    tagged = _ANSWER_TAG.findall(text)
    if tagged:
        found = tagged[-1]
    else:
        opens = list(_OPEN_TAG.finditer(text))
        found = text[opens[-1].end() :] if opens else None
    if found is not None:
        inner = _boxed(found)
        found = inner if inner is not None else found
    else:
        found = _boxed(text)
        if found is None:
            return None
    for _ in range(3):  # \text{\textbf{...}}
        found = _TEXT_CMD.sub(r"\1", found)
    return found.strip().strip("$").strip()
