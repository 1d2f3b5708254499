"""L1 categories: the ten defaults, and the keyword fallback that classifies intake text into an
account's own categories (custom ones included) or "unknown", and never raises.

Pure functions: no database, so no django_db mark.
"""

import pytest

from l1_app.categories import DEFAULT_CATEGORIES, UNKNOWN, Category, classify_by_keywords
from l1_app.safety import floor_violation

SCANNER_JAM = {"key": "scanner_jam", "label": "Scanner paper jam"}


def test_the_ten_defaults_are_present_with_labels_and_descriptions():
    assert [(c.key, c.label) for c in DEFAULT_CATEGORIES] == [
        ("password_reset", "Password reset"),
        ("account_lockout", "Account lockout"),
        ("printer", "Printer"),
        ("outlook_client", "Outlook client"),
        ("wifi_basics", "Wi-Fi basics"),
        ("vpn_connect", "VPN connect"),
        ("teams_zoom_av", "Teams/Zoom audio-video"),
        ("browser_cache", "Browser cache and cookies"),
        ("peripheral_reconnect", "Peripheral reconnect"),
        ("os_restart_update", "OS restart/update"),
    ]
    for category in DEFAULT_CATEGORIES:
        assert category.description.strip() and category.keywords
        assert all(isinstance(k, str) and k.strip() for k in category.keywords)


def test_the_defaults_are_immutable():
    with pytest.raises(AttributeError):
        DEFAULT_CATEGORIES[0].key = "anything"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Forgot my password and can't sign in", "password_reset"),
        ("User is locked out after too many sign-in attempts", "account_lockout"),
        ("The printer in reception keeps jamming and won't print", "printer"),
        ("Outlook keeps asking for my password", "outlook_client"),
        ("No internet on the Wi-Fi at home", "wifi_basics"),
        ("Can't connect to the VPN from the hotel", "vpn_connect"),
        ("Nobody can hear me in Teams meetings, microphone seems dead", "teams_zoom_av"),
        ("The website won't load in Chrome", "browser_cache"),
        ("Wireless mouse stopped working", "peripheral_reconnect"),
        ("Laptop is really slow and says it needs a restart for updates", "os_restart_update"),
        ("RESTART THE PRINTER? It still shows offline.", "printer"),
    ],
)
def test_the_defaults_classify_everyday_problems(text, key):
    assert classify_by_keywords(text, DEFAULT_CATEGORIES) == key


def test_a_custom_category_is_classified_from_its_own_key_and_label():
    categories = [*DEFAULT_CATEGORIES, SCANNER_JAM]
    assert classify_by_keywords("The scanner on floor 2 is broken", categories) == "scanner_jam"
    assert classify_by_keywords("Scanner has a paper jam again", categories) == "scanner_jam"
    # word boundaries: "jammed" is not "jam", and a custom key's words count only on their own
    assert classify_by_keywords("The door jammed", [SCANNER_JAM]) == UNKNOWN
    assert classify_by_keywords("Scanners are offline", [SCANNER_JAM]) == "scanner_jam"


def test_a_custom_category_is_classified_from_its_keywords_too():
    payroll = {"key": "payroll_app", "label": "Payroll app", "keywords": ["Sage", "payslip"]}
    assert classify_by_keywords("Can't open my payslip", [*DEFAULT_CATEGORIES, payroll]) == "payroll_app"
    assert classify_by_keywords("sage crashes at startup", [payroll]) == "payroll_app"


def test_only_the_given_categories_count():
    only_printer = [c for c in DEFAULT_CATEGORIES if c.key == "printer"]
    assert classify_by_keywords("Outlook keeps crashing", only_printer) == UNKNOWN
    assert classify_by_keywords("Outlook keeps crashing", DEFAULT_CATEGORIES) == "outlook_client"


def test_unrelated_text_is_unknown():
    assert classify_by_keywords("The coffee machine in the kitchen is leaking", DEFAULT_CATEGORIES) == UNKNOWN
    assert classify_by_keywords("", DEFAULT_CATEGORIES) == UNKNOWN
    assert classify_by_keywords("the and of", DEFAULT_CATEGORIES) == UNKNOWN


def test_a_tie_is_unknown():
    laptops = [{"key": "laptop_a", "label": "Laptop"}, {"key": "laptop_b", "label": "Laptop"}]
    assert classify_by_keywords("My laptop", laptops) == UNKNOWN
    assert classify_by_keywords("Printer and Outlook both broken", DEFAULT_CATEGORIES) == UNKNOWN


@pytest.mark.parametrize(
    "categories",
    [
        [],
        None,
        [None, 42, "printer", {"label": "no key"}, {"key": ""}, {"key": 7}],
        [{"key": "odd", "label": None, "keywords": "single keyword"}],
        [{"key": "odd", "label": "Odd", "keywords": [None, 3, "odd thing"]}],
        [{"key": "unknown", "label": "Printer"}],
    ],
)
def test_malformed_input_never_raises(categories):
    assert classify_by_keywords("printer odd thing single keyword", categories) in {UNKNOWN, "odd"}
    assert classify_by_keywords(None, DEFAULT_CATEGORIES) == UNKNOWN


def test_category_objects_and_stored_rows_classify_alike():
    row = {"key": "scanner_jam", "label": "Scanner paper jam", "description": "", "keywords": []}
    assert classify_by_keywords("scanner", [row]) == classify_by_keywords(
        "scanner", [Category(key="scanner_jam", label="Scanner paper jam", description="")]
    )


def test_no_default_description_reads_as_a_step_over_the_floor():
    """The description is the scope the node builder is given: the AI must never find a refused
    phrasing in it to echo back."""
    assert {c.key: floor_violation(c.description) for c in DEFAULT_CATEGORIES} == dict.fromkeys(
        (c.key for c in DEFAULT_CATEGORIES), None
    )
