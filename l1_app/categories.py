"""L1 categories (SPEC §7 "Safety" and "Intake"): the ten defaults an account's allowlist starts
with, and the keyword fallback that classifies a problem when the fast model cannot.

API
  Category(key, label, description, keywords=())
      Frozen. `description` says what an L1 tech may do there (for the category editor and the
      walk builder's prompt); `keywords` are words and short phrases for the fallback.
  DEFAULT_CATEGORIES: tuple[Category, ...]
      The ten defaults, in the order an allowlist editor shows them.
  UNKNOWN = "unknown"
  classify_by_keywords(text: str, categories: Iterable[Category | Mapping]) -> str
      The key of the one category whose own words fit the text best, else UNKNOWN (nothing fits,
      or a tie). A category given as a mapping needs "key" and may have "label" and "keywords"
      (a list of strings), so an account's stored rows can be passed as they are. Never raises:
      classification never blocks intake.

How the fallback scores: each category's words are its key's parts ("scanner_jam" gives scanner,
jam), each word or hyphenated group of its label ("Wi-Fi basics" gives "wi fi", basics) and each
keyword phrase; they match the text on word boundaries, case-insensitively, a plural "s" aside
and ignoring little words ("the", "and", "my"), so a phrase also matches "asking for my password"
for "asking password". A match counts its number of words, divided among the categories that
share it; a lone generic verb ("restart", "update", "reset", "connect") counts half, so "restart
the printer" is a printer problem.
"""

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str
    keywords: tuple[str, ...] = ()


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        key="password_reset",
        label="Password reset",
        description=(
            "Help the user sign in with the password they already know: Caps Lock, keyboard layout, "
            "typing it again, reading the sign-in message. Resetting or changing it is escalated."
        ),
        keywords=(
            "password",
            "forgot password",
            "forgotten password",
            "password expired",
            "expired password",
            "wrong password",
            "incorrect password",
            "password not accepted",
            "caps lock",
        ),
    ),
    Category(
        key="account_lockout",
        label="Account lockout",
        description=(
            "Read the lockout message, wait out the lockout period, find the phone or laptop still "
            "trying an old password and sign it out, then sign in with the current password. "
            "If it stays locked, escalate: L1 does not unlock accounts."
        ),
        keywords=(
            "locked out",
            "lockout",
            "lock out",
            "account locked",
            "account is locked",
            "locked account",
            "too many attempts",
            "too many sign in attempts",
            "too many login attempts",
        ),
    ),
    Category(
        key="printer",
        label="Printer",
        description=(
            "Check power, paper, toner and the printer's display, cancel the user's own stuck print "
            "jobs, restart the printer and the computer, pick the right default printer."
        ),
        keywords=(
            "printer",
            "print",
            "printing",
            "prints",
            "print queue",
            "print job",
            "paper jam",
            "toner",
            "ink",
            "cartridge",
            "offline printer",
            "copier",
        ),
    ),
    Category(
        key="outlook_client",
        label="Outlook client",
        description=(
            "Restart Outlook, check it is connected and not working offline, re-enter the user's "
            "known password when it asks, watch Send/Receive and the Outbox, compare with Outlook "
            "on the web."
        ),
        keywords=(
            "outlook",
            "email",
            "e-mail",
            "emails",
            "inbox",
            "outbox",
            "mailbox",
            "calendar",
            "send receive",
            "working offline",
            "disconnected",
            "asking password",
            "prompting password",
            "password prompt",
        ),
    ),
    Category(
        key="wifi_basics",
        label="Wi-Fi basics",
        description=(
            "Toggle Wi-Fi and airplane mode, forget and rejoin a network with the password the user "
            "knows, move closer to the access point, restart the home router or the laptop."
        ),
        keywords=(
            "wifi",
            "wi-fi",
            "wireless",
            "wlan",
            "no internet",
            "internet",
            "hotspot",
            "router",
            "signal",
            "airplane mode",
            "network",
        ),
    ),
    Category(
        key="vpn_connect",
        label="VPN connect",
        description=(
            "Check the internet works without the VPN, disconnect and reconnect the VPN client, "
            "sign in again with the user's known credentials, restart the client or the laptop."
        ),
        keywords=(
            "vpn",
            "anyconnect",
            "globalprotect",
            "forticlient",
            "remote access",
            "tunnel",
            "connect to the office",
        ),
    ),
    Category(
        key="teams_zoom_av",
        label="Teams/Zoom audio-video",
        description=(
            "Check mute, the selected microphone, speaker and camera in the app, the app's camera "
            "and microphone permissions, reconnect the headset, leave and rejoin, restart the app."
        ),
        keywords=(
            "teams",
            "zoom",
            "meeting",
            "call",
            "microphone",
            "mic",
            "camera",
            "webcam",
            "audio",
            "video",
            "sound",
            "speaker",
            "can't hear",
            "echo",
            "muted",
        ),
    ),
    Category(
        key="browser_cache",
        label="Browser cache and cookies",
        description=(
            "Reload, try a private window or another browser, clear the browser cache and cookies, restart the browser."
        ),
        keywords=(
            "browser",
            "chrome",
            "edge",
            "firefox",
            "safari",
            "website",
            "web page",
            "webpage",
            "site",
            "page won't load",
            "incognito",
            "private window",
        ),
    ),
    Category(
        key="peripheral_reconnect",
        label="Peripheral reconnect",
        description=(
            "Unplug and replug or re-pair keyboards, mice, headsets, docks and monitors, try another "
            "port or cable, replace batteries, check the device shows up."
        ),
        keywords=(
            "keyboard",
            "mouse",
            "wireless mouse",
            "wireless keyboard",
            "monitor",
            "second screen",
            "external display",
            "dock",
            "docking station",
            "usb",
            "bluetooth",
            "headset",
            "cable",
            "pair",
            "receiver",
            "peripheral",
        ),
    ),
    Category(
        key="os_restart_update",
        label="OS restart/update",
        description=(
            "Restart the computer properly, let waiting updates install, check Windows Update or "
            "Software Update from the user's settings, keep it on power until it finishes."
        ),
        keywords=(
            "reboot",
            "windows update",
            "software update",
            "updates",
            "pending update",
            "slow",
            "frozen",
            "freezes",
            "hangs",
            "not responding",
            "stuck on",
        ),
    ),
)

# Little words that say nothing about the problem.
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
        "could",
        "do",
        "does",
        "did",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "i'm",
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
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "just",
        "again",
        "still",
        "any",
        "all",
        "some",
        "get",
        "got",
        "keeps",
        "keep",
    )
)
# Verbs that fit many categories: alone they count half, so the thing restarted wins.
_GENERIC = frozenset(
    (
        "restart",
        "reboot",
        "update",
        "reset",
        "connect",
        "reconnect",
        "client",
        "basic",
        "account",
        "working",
        "work",
        "problem",
        "issue",
        "error",
        "help",
        "fix",
    )
)
_WORD = re.compile(r"[^\W_]+")
_MAX_PHRASE = 6


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _WORD.findall(text.casefold()) if len(w) > 1 and w not in _STOP)


def _terms(category: Category) -> set[tuple[str, ...]]:
    terms = {(word,) for word in _words(category.key)}
    terms |= {_words(chunk) for chunk in re.split(r"[\s/,&+]+", category.label)}
    terms |= {_words(keyword)[:_MAX_PHRASE] for keyword in category.keywords}
    terms.discard(())
    return terms


def _as_category(item: Category | Mapping[str, Any]) -> Category | None:
    if isinstance(item, Category):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("key"), str) and item["key"].strip():
        keywords = item.get("keywords") or ()
        return Category(
            key=item["key"],
            label=str(item.get("label") or ""),
            description=str(item.get("description") or ""),
            keywords=tuple(k for k in keywords if isinstance(k, str)) if not isinstance(keywords, str) else (keywords,),
        )
    return None


def _weight(term: tuple[str, ...]) -> Fraction:
    return Fraction(1, 2) if len(term) == 1 and term[0] in _GENERIC else Fraction(len(term))


def _classify(text: str, categories: Iterable[Category | Mapping[str, Any]]) -> str:
    words = _words(text)
    if not words:
        return UNKNOWN
    grams = {words[i : i + n] for n in range(1, _MAX_PHRASE + 1) for i in range(len(words) - n + 1)}
    terms_by_key: dict[str, set[tuple[str, ...]]] = {}
    for item in categories:
        category = _as_category(item)
        if category and category.key != UNKNOWN and category.key not in terms_by_key:
            terms_by_key[category.key] = _terms(category)
    shared: dict[tuple[str, ...], int] = {}
    for terms in terms_by_key.values():
        for term in terms:
            shared[term] = shared.get(term, 0) + 1
    scores = {
        key: sum((_weight(term) / shared[term] for term in terms & grams), Fraction(0))
        for key, terms in terms_by_key.items()
    }
    best = max(scores.values(), default=Fraction(0))
    leaders = [key for key, score in scores.items() if score == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else UNKNOWN


def classify_by_keywords(text: str, categories: Iterable[Category | Mapping[str, Any]]) -> str:
    if not isinstance(text, str) or not categories:
        return UNKNOWN
    try:
        return _classify(text, categories)
    except Exception:
        # Intake must go on with "unknown" even if an account's stored categories are malformed.
        logger.exception("L1 keyword classification failed")
        return UNKNOWN


# The problem domain each default category belongs to: it lets the flow match at L1 intake score
# the domain part of a match, and a proposal captured from a walk land in the right domain.
CATEGORY_DOMAINS: dict[str, str] = {
    "password_reset": "active_directory",
    "account_lockout": "active_directory",
    "printer": "printing",
    "outlook_client": "email",
    "wifi_basics": "networking",
    "vpn_connect": "networking",
    "teams_zoom_av": "m365",
    "browser_cache": "endpoint",
    "peripheral_reconnect": "hardware",
    "os_restart_update": "endpoint",
}
