"""Reads of flows, and matching an intake against the account's published flows."""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import QuerySet

from resolutionflow.taxonomy import Domain

from .models import Flow

# Weights of the score (0–1): how much of the flow's own phrases the intake uses, and the domain.
PHRASE_WEIGHT = 0.75
DOMAIN_WEIGHT = 0.25
GUIDE_THRESHOLD = 0.5  # above: the flow is given to the AI as a guide
GUIDED_THRESHOLD = 0.8  # above: the session starts in the guided tier


@dataclass(frozen=True)
class FlowMatch:
    flow: Flow
    score: float


def flow_list_published(*, account) -> QuerySet[Flow]:
    return Flow.objects.for_account(account).filter(published=True)


def flow_match(*, account, text: str, domain: str = "", limit: int = 3) -> list[FlowMatch]:
    """The best published flows for an intake, best first, each with a score 0–1.

    Score = 0.75 × phrase coverage + 0.25 × domain match, where phrase coverage is the mean of
    the two best phrases (the title and each keyword) by the share of their words the intake
    uses, after stemming and stop words. On PostgreSQL, full-text search (english config) picks
    the candidates, does the stemming and breaks ties by rank; on SQLite a simple equivalent does.
    """
    if not text.strip():
        return []
    flows = flow_list_published(account=account)
    if connection.vendor == "postgresql":
        flows = _pg_candidates(flows, text)
    flows = list(flows)
    if not flows:
        return []
    phrase_lists = [[f.title, *f.keywords] for f in flows]
    lexeme_sets = _lexemes([text] + [p for phrases in phrase_lists for p in phrases])
    intake, rest = lexeme_sets[0], iter(lexeme_sets[1:])
    matches = []
    for flow, phrases in zip(flows, phrase_lists, strict=True):
        coverages = sorted((_coverage(next(rest), intake) for _ in phrases), reverse=True)
        top_two = coverages[:2] + [0.0] * (2 - len(coverages[:2]))
        phrase_score = sum(top_two) / 2
        domain_score = 1.0 if domain and domain != Domain.OTHER and flow.domain == domain else 0.0
        score = round(PHRASE_WEIGHT * phrase_score + DOMAIN_WEIGHT * domain_score, 3)
        if phrase_score > 0:
            matches.append(FlowMatch(flow, score))
    # Stable order: by score, then the database's full-text rank (candidate order), then title.
    order = {f.pk: i for i, f in enumerate(flows)}
    matches.sort(key=lambda m: (-m.score, order[m.flow.pk]))
    return matches[:limit]


def _coverage(phrase: set[str], intake: set[str]) -> float:
    return len(phrase & intake) / len(phrase) if phrase else 0.0


def _pg_candidates(flows: QuerySet[Flow], text: str) -> QuerySet[Flow]:
    words = _WORD.findall(text.lower())[:200]
    if not words:
        return flows.none()
    # OR of the intake's words: a flow is a candidate if it shares any (stemmed) word.
    query = SearchQuery(" | ".join(dict.fromkeys(words)), search_type="raw", config="english")
    document = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("keywords", weight="A", config="english")
        + SearchVector("when_to_use", weight="B", config="english")
    )
    return flows.annotate(rank=SearchRank(document, query)).filter(rank__gt=0).order_by("-rank", "title")[:50]


_WORD = re.compile(r"[a-z0-9]+")
# Only used on SQLite; PostgreSQL's english dictionary does the real work there.
_STOP = frozenset(
    (
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
        "cannot",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "when",
        "where",
        "which",
        "while",
        "who",
        "will",
        "with",
        "you",
        "your",
        "after",
        "again",
        "all",
        "any",
        "every",
        "keeps",
        "keep",
        "still",
        "just",
    )
)


def _stem(word: str) -> str:
    for suffix in ("ingly", "edly", "ing", "ers", "ies", "ied", "ed", "es", "er", "ly", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def _lexemes(texts: list[str]) -> list[set[str]]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tsvector_to_array(to_tsvector('english', t)) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
                [texts],
            )
            return [set(row[0]) for row in cursor.fetchall()]
    return [{_stem(w) for w in _WORD.findall(t.lower()) if w not in _STOP} for t in texts]
