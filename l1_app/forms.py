"""Validation of what the L1 pages send (Django forms, not hand parsing)."""

from collections.abc import Iterable

from django import forms

# --- the category allowlist

MAX_LABEL_CHARS = 120  # L1Category.label
MAX_DESCRIPTION_CHARS = 1000
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 60


def keywords_as_text(keywords: list[str]) -> str:
    """A category's keywords as the editor shows them: one comma-separated line."""
    return ", ".join(keywords)


def keywords_normalise(parts: Iterable[str]) -> list[str]:
    """Each keyword trimmed, its inner spaces collapsed; empties and repeats (ignoring case)
    dropped, in the order given. The form and the services both keep keywords this way."""
    keywords: list[str] = []
    seen: set[str] = set()
    for part in parts:
        keyword = " ".join(str(part).split())
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    return keywords


class L1CategoryForm(forms.Form):
    """Adding or editing a category of the allowlist. The key is not asked for: a new category's
    is made from its label, and an existing one's never changes (walks refer to it)."""

    label = forms.CharField(
        label="Label",
        max_length=MAX_LABEL_CHARS,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Give the category a label, e.g. Scanner paper jam.",
            "max_length": f"Keep the label short (at most {MAX_LABEL_CHARS} characters).",
        },
    )
    description = forms.CharField(
        label="What an L1 tech may do",
        max_length=MAX_DESCRIPTION_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The steps the AI-built walk keeps to, e.g. check the paper path, restart the scanner.",
        error_messages={
            "required": "Say what an L1 tech may do for this category: the AI-built walk keeps to it.",
            "max_length": f"Keep the description to {MAX_DESCRIPTION_CHARS} characters.",
        },
    )
    keywords = forms.CharField(
        label="Keywords",
        required=False,
        max_length=MAX_KEYWORDS * (MAX_KEYWORD_CHARS + 2),
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Comma-separated words a problem description may use, e.g. scanner, paper jam.",
        error_messages={"max_length": f"Too many keywords: give at most {MAX_KEYWORDS}, separated by commas."},
    )

    def clean_keywords(self) -> list[str]:
        """Comma-separated text → a list (see keywords_normalise)."""
        keywords = keywords_normalise(self.cleaned_data["keywords"].replace("\n", ",").split(","))
        for keyword in keywords:
            if len(keyword) > MAX_KEYWORD_CHARS:
                raise forms.ValidationError(
                    f"“{keyword[:30]}…” is too long for a keyword (at most {MAX_KEYWORD_CHARS} characters); "
                    "separate keywords with commas."
                )
        if len(keywords) > MAX_KEYWORDS:
            raise forms.ValidationError(f"Give at most {MAX_KEYWORDS} keywords (you gave {len(keywords)}).")
        return keywords

    def focus_first_error(self) -> None:
        """Put the cursor in the first field to fix when the form is drawn again (htmx focuses an
        [autofocus] element it swaps in; a full page is helped by static/js/app.js)."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return


class L1CategoryAllowedForm(forms.Form):
    """The Allowed switch: it sends the state wanted, not "toggle", so a double tap cannot undo itself."""

    allowed = forms.TypedChoiceField(
        choices=[("true", "Allowed"), ("false", "Not allowed")],
        coerce=lambda value: value == "true",
        error_messages={
            "required": "Say whether the category is allowed.",
            "invalid_choice": "Say whether the category is allowed (true or false).",
        },
    )
