"""Normalised keywords of a session's problem (SPEC §8, the repeated-pattern knowledge gap): lower
case, stop words out, light stemming. Pure functions, no models: the session services store them
when a summary or key symptoms are written (`AISession.summary_keywords`, in `stored` form), and
the knowledge gaps group sessions on them without tokenising every summary on each computation."""

import re

_STOP = frozenset(
    re.findall(
        r"\w+",
        """a about after again all also am an and any are as at be been before being but by can cannot
        could did do does doing down during each even every for from get gets getting got had has have
        having he her here his how i if in into is it its just keep keeps kept me more most my no nor not
        now of off on once only or other our out over own same she should since so some still such than
        that the their them then there these they this those through to too under until up upon us very
        was we were what when where which while who why will with without would yet you your
        user users issue issues problem problems error errors help please fails failing failed working
        work works doesn't don't can't won't isn't wont cant dont doesnt isnt unable anymore today
        yesterday monday tuesday wednesday thursday friday saturday sunday morning every""",
    )
)
_WORD = re.compile(r"[a-z][a-z0-9'\-]*[a-z0-9]|[a-z]")


def _stem(word: str) -> str:
    """Light stemming: plurals and -ing / -ed endings, enough for "prompts", "prompting" and
    "prompted" to meet; a word of four letters or fewer is left alone, a stem keeps three."""
    word = word.strip("'-")
    if len(word) <= 4:
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            stem = word[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # "stopped", "jamming": stop, jam
            return stem
    return word


def keywords(*texts: str) -> dict[str, str]:
    """Normalised keywords of `texts` in order of appearance: stem → the first word seen for it."""
    found: dict[str, str] = {}
    for text in texts:
        for word in _WORD.findall(str(text or "").lower()):
            if word in _STOP or word.strip("'-") in _STOP or len(word) < 3:
                continue
            found.setdefault(_stem(word), word.strip("'-"))
    return found


def stored(*, summary: str, key_symptoms) -> str:
    """The keywords of a session's key symptoms and summary (in that order), as stored on the
    session: space-separated `stem` or `stem=word` (when the first word seen differs from its
    stem). Words are `_WORD` matches ([a-z0-9'-]), so neither a space nor "=" is ever in one."""
    found = keywords(*(key_symptoms or []), summary)
    return " ".join(stem if stem == word else f"{stem}={word}" for stem, word in found.items())


def from_stored(text: str) -> dict[str, str]:
    """`stored`'s text back as `keywords` gives it: stem → the first word seen for it, in order."""
    if "=" not in text:  # most words are their own stem: no pair per word to make
        return {word: word for word in text.split()}
    found: dict[str, str] = {}
    for token in text.split():
        stem, _, word = token.partition("=")
        found[stem] = word or stem
    return found
