"""A tenant's FAQ and the first-line chat bot's retrieval over it.

The FAQ is a Markdown file: each `## ` heading is a question, the text under it (up to the
next heading) its answer; anything before the first question is a preamble for its editors. Retrieval is plain Okapi BM25 over words (lower-cased, common
English function words dropped, a light plural/-ing/-ed fold), scored on the question and
on the answer and summed with the question's score counted twice; an answer is given only when the best entry's BM25 score leads and it
covers at least `min_coverage` of the distinct words asked. It is keyword retrieval, not
language understanding: it finds "How do I return an item?" for "can I return this jacket",
and says it does not know otherwise. Pure and deterministic.
"""

import math
import re
from collections import Counter

from pydantic import BaseModel, Field

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
    ]
)
K1, B = 1.2, 0.75
QUESTION_WEIGHT = 2.0


class FaqEntry(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=4000)


class FaqMatch(BaseModel):
    entry: FaqEntry
    score: float
    coverage: float


class FaqError(ValueError):
    pass


def parse_faq(text: str) -> list[FaqEntry]:
    """The entries of a FAQ file; raises FaqError saying what is wrong (and on which line)."""
    entries: list[FaqEntry] = []
    question: str | None = None
    start = 0
    answer: list[str] = []

    def close() -> None:
        if question is None:
            return
        body = "\n".join(answer).strip()
        if not body:
            raise FaqError(f"line {start}: the question {question!r} has no answer under it")
        if len(body) > 4000:
            raise FaqError(f"line {start}: the answer to {question!r} is over 4,000 characters")
        entries.append(FaqEntry(question=question, answer=body))

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            close()
            question, start, answer = line[3:].strip(), number, []
            if not question or len(question) > 500:
                raise FaqError(f"line {number}: a question must have 1 to 500 characters")
        elif question is not None:
            answer.append(line)  # (text before the first question is a preamble, not used)
    close()
    if not entries:
        raise FaqError("no questions: write each as a '## ' heading with its answer below")
    return entries


def words(text: str) -> list[str]:
    """Content words, folded: "Returns", "returning" and "returned" are all "return"."""
    found = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        found.append(word)
    return found


class _Bm25:
    """Okapi BM25 over one field of the entries."""

    def __init__(self, texts: list[str]) -> None:
        self.docs = [Counter(words(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.average = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df = Counter(w for d in self.docs for w in d)
        n = len(texts)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def score(self, asked: set[str], i: int) -> float:
        doc = self.docs[i]
        norm = K1 * (1 - B + B * self.lengths[i] / (self.average or 1))
        return sum(self.idf[w] * doc[w] * (K1 + 1) / (doc[w] + norm) for w in asked if w in doc)


class FaqIndex:
    """BM25 over questions (weighted x2) and answers; built once per tenant."""

    def __init__(self, entries: list[FaqEntry]) -> None:
        self.entries = entries
        self.questions = _Bm25([e.question for e in entries])
        self.answers = _Bm25([e.answer for e in entries])

    def best(self, question: str, min_coverage: float) -> FaqMatch | None:
        asked = set(words(question))
        if not asked or not self.entries:
            return None
        ranked = [
            (QUESTION_WEIGHT * self.questions.score(asked, i) + self.answers.score(asked, i), i)
            for i in range(len(self.entries))
        ]
        score, i = max(ranked, key=lambda pair: (pair[0], -pair[1]))
        covered = asked & (set(self.questions.docs[i]) | set(self.answers.docs[i]))
        coverage = len(covered) / len(asked)
        if score <= 0 or coverage < min_coverage:
            return None
        return FaqMatch(entry=self.entries[i], score=round(score, 4), coverage=coverage)
