"""Reads of flows and proposals: matching an intake against the account's published flows, the
review queue's summary, and a proposed tree compared with the flow it would change."""

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import QuerySet

from resolutionflow.taxonomy import Domain

from .models import Flow, FlowProposal
from .trees import tree_outline

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


# --- the review queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewQueueSummary:
    waiting: int
    newest: list[FlowProposal]


def proposal_review_summary(*, account, limit: int = 5) -> ReviewQueueSummary:
    """How many proposals wait for a decision in `account`, and the newest of them."""
    pending = FlowProposal.objects.for_account(account).filter(status=FlowProposal.Status.PENDING)
    newest = list(pending.order_by("-created_at", "-id")[:limit])
    waiting = len(newest) if len(newest) < limit else pending.count()
    return ReviewQueueSummary(waiting=waiting, newest=newest)


# What an admin sees marked beside each node of a compared tree.
ADDED, CHANGED, REMOVED = "added", "changed", "removed"


@dataclass(frozen=True)
class TreeComparison:
    """A proposed tree beside the current one (None for a new flow), both as outlines whose items
    carry `mark` (added / changed / removed / ""), `changed` (what differs: text, type, options,
    next), `was` (the current text, when it changed) and `unexplored` (a needs_review stub)."""

    proposed: list[dict]
    current: list[dict] | None
    added: int = 0
    changed: int = 0
    removed: int = 0
    unexplored: int = 0
    marks: dict[str, str] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def _nodes_by_id(tree) -> dict[str, dict]:
    nodes = tree.get("nodes", []) if isinstance(tree, dict) else []
    return {str(n["id"]): n for n in nodes if isinstance(n, dict) and n.get("id")}


def _options(node: dict) -> list[tuple[str, str]]:
    return [(str(o.get("label") or "").strip(), str(o.get("next") or "")) for o in node.get("options") or []
            if isinstance(o, dict)]  # fmt: skip


def _differences(before: dict, after: dict) -> list[str]:
    """What differs between two versions of one node (compared by id)."""
    differs = []
    if before.get("type") != after.get("type"):
        differs.append("type")
    if " ".join(str(before.get("text") or "").split()) != " ".join(str(after.get("text") or "").split()):
        differs.append("text")
    if _options(before) != _options(after):
        differs.append("options")
    if (before.get("next") or "") != (after.get("next") or ""):
        differs.append("next")
    return differs


def _marked(items: list[dict], marks: dict[str, str], differences: dict[str, list[str]], others: dict) -> list[dict]:
    for item in items:
        node_id = str(item["node"].get("id") or "")
        item["mark"] = marks.get(node_id, "")
        item["changed"] = differences.get(node_id, [])
        before = others.get(node_id)
        item["was"] = before.get("text", "") if before and "text" in item["changed"] else ""
        item["unexplored"] = bool(item["node"].get("needs_review"))
        _marked(item["children"], marks, differences, others)
    return items


def proposal_tree_comparison(*, proposal: FlowProposal) -> TreeComparison:
    """The proposed tree readably, beside the target flow's current tree for an enhancement not yet
    made a flow, with the nodes added, changed and removed marked (nodes are compared by id: text,
    type, options and where they lead). `proposal.target_flow` should come with the proposal
    (select_related)."""
    proposed_nodes = _nodes_by_id(proposal.tree)
    unexplored = sum(1 for n in proposed_nodes.values() if n.get("needs_review"))
    target = proposal.target_flow if proposal.type == FlowProposal.Type.ENHANCEMENT else None
    if target is None or proposal.flow_id:
        # A new flow has nothing to compare with; a proposal that became a flow is that flow now.
        return TreeComparison(proposed=_marked(tree_outline(proposal.tree), {}, {}, {}), current=None,
                              unexplored=unexplored)  # fmt: skip
    current_nodes = _nodes_by_id(target.tree)
    differences = {
        node_id: differs
        for node_id, node in proposed_nodes.items()
        if node_id in current_nodes and (differs := _differences(current_nodes[node_id], node))
    }
    marks = {node_id: CHANGED for node_id in differences}
    marks.update({node_id: ADDED for node_id in proposed_nodes.keys() - current_nodes.keys()})
    removed = current_nodes.keys() - proposed_nodes.keys()
    current_marks = {**{node_id: CHANGED for node_id in differences}, **dict.fromkeys(removed, REMOVED)}
    return TreeComparison(
        proposed=_marked(tree_outline(proposal.tree), marks, differences, current_nodes),
        current=_marked(tree_outline(target.tree), current_marks, differences, {}),
        added=len(proposed_nodes.keys() - current_nodes.keys()),
        changed=len(differences),
        removed=len(removed),
        unexplored=unexplored,
        marks=marks | dict.fromkeys(removed, REMOVED),
    )
