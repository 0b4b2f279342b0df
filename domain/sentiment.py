"""Sentiment of a customer's text: VADER's compound score (a lexicon and rules tuned for
short social-media text, which SMS is), from the vaderSentiment library.

The analyser loads its lexicon from the package's files once, on first use; scoring is pure
and deterministic after that.
"""

from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@cache
def _analyser() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """-1 (most negative) to 1 (most positive); 0 for neutral or empty text."""
    if not text.strip():
        return 0.0
    return float(_analyser().polarity_scores(text)["compound"])
