"""Is an item's difficulty visible in its text? A numpy-only classifier and its ROC-AUC.

The fidelity report (`calibration.fidelity`) trains `fit_logistic` on the visible problem text
of train-split items (`features`: counts of its lower-case words plus sizes and numbers) to
predict whether a model solved each item, and scores held-out test items with `roc_auc`. A
policy can only learn to route by difficulty when this signal exists in what it reads.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Lower-case words only: the names a question gives (capitalised) are each too rare to learn
# from, and with a few thousand items they only add noise.
_WORD = re.compile(r"\b[a-z]+\b")
_NUMBER = re.compile(r"\d+")
MIN_COUNT = 2  # words seen in fewer training texts are dropped (they cannot generalise)


def vocabulary(texts: Sequence[str]) -> tuple[str, ...]:
    """The words found in at least `MIN_COUNT` of `texts`, sorted (the bag-of-words columns)."""
    counts = Counter(w for text in texts for w in set(_WORD.findall(text)))
    return tuple(sorted(w for w, c in counts.items() if c >= MIN_COUNT))


def features(texts: Sequence[str], vocab: Sequence[str]) -> np.ndarray:
    """(len(texts), len(vocab) + 5): log1p of each word's count (how many "of"s, "founder"s:
    the hops show), then log length in characters and words, the count of numbers, and log1p
    of the largest number and of the number of digits."""
    column = {w: i for i, w in enumerate(vocab)}
    x = np.zeros((len(texts), len(vocab) + 5))
    for row, text in enumerate(texts):
        words = _WORD.findall(text)
        for w, count in Counter(words).items():
            if w in column:
                x[row, column[w]] = math.log1p(count)
        numbers = _NUMBER.findall(text)
        x[row, len(vocab) :] = (
            math.log1p(len(text)),
            math.log1p(len(words)),
            len(numbers),
            math.log1p(max((int(n) for n in numbers), default=0)),
            math.log1p(sum(len(n) for n in numbers)),
        )
    return x


@dataclass(frozen=True)
class Logistic:
    """A fitted L2-regularised logistic regression on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """The log-odds of success of each row of `x` (any monotone score serves the AUC)."""
        return ((x - self.mean) / self.scale) @ self.weights + self.bias


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, steps: int = 500, rate: float = 0.5
) -> Logistic:
    """Full-batch gradient descent on the mean log-loss plus `l2`/n · |w|² / 2."""
    y = np.asarray(y, dtype=np.float64)
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need as many labels as rows (> 0): {x.shape[0]} rows, {len(y)} labels")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # a constant column stays 0 after centring
    z = (x - mean) / scale
    n = len(y)
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= rate * (z.T @ (p - y) / n + l2 * w / n)
        b -= rate * float(np.mean(p - y))
    return Logistic(mean, scale, w, b)


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """P(a random positive scores above a random negative), ties counting half (Mann–Whitney);
    NaN when `labels` hold only one class."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    for value in np.unique(s):  # tied scores share their average rank
        tied = s == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def visibility_auc(
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    test_texts: Sequence[str],
    test_labels: Sequence[int],
) -> float:
    """ROC-AUC on the test items of the classifier trained on the train items' text."""
    vocab = vocabulary(train_texts)
    model = fit_logistic(features(train_texts, vocab), np.asarray(train_labels))
    return roc_auc(model.score(features(test_texts, vocab)), test_labels)
