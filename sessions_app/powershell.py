"""Script template parameter schemas (SPEC §5). Rendering with safe PowerShell quoting comes
with script generation."""

import re

from django.core.exceptions import ValidationError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
PARAM_TYPES = ("text", "number", "choice", "boolean", "password")


# A key that names a secret: its value is asked for in a password field and redacted wherever the
# script is shown again.
SECRET_KEY = re.compile(r"password|passwd|pwd|secret|token|api_?key", re.IGNORECASE)


def parameters_from_placeholders(body: str) -> list[dict]:
    """One required parameter per {{ key }} of `body`, in the order they first appear: a label from
    the key ("computer_name" and "computerName" read "Computer name"), the password type when the
    key names a secret, text otherwise."""
    parameters = []
    for key in dict.fromkeys(PLACEHOLDER.findall(body or "")):
        words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
        label = " ".join(words.split()).capitalize() or key
        kind = "password" if SECRET_KEY.search(key) else "text"
        parameters.append({"key": key, "label": label, "type": kind, "required": True})
    return parameters


def validate_parameter_schema(parameters, body: str) -> None:
    """Raise ValidationError listing every problem with a template's parameters."""
    errors: list[str] = []
    if not isinstance(parameters, list):
        raise ValidationError({"parameters": "Parameters must be a list."})
    keys: list[str] = []
    for number, param in enumerate(parameters, 1):
        if not isinstance(param, dict):
            errors.append(f"Parameter {number} is not an object.")
            continue
        key = str(param.get("key") or "")
        if not KEY.match(key):
            errors.append(f"Parameter {number}: key '{key}' must be letters, digits or _ and start with a letter.")
        elif key in keys:
            errors.append(f"Parameter key '{key}' is used twice.")
        keys.append(key)
        if not str(param.get("label") or "").strip():
            errors.append(f"Parameter '{key}' needs a label.")
        kind = param.get("type")
        if kind not in PARAM_TYPES:
            errors.append(f"Parameter '{key}' has type '{kind}'; expected one of {', '.join(PARAM_TYPES)}.")
        if kind == "choice" and not (isinstance(param.get("choices"), list) and param["choices"]):
            errors.append(f"Choice parameter '{key}' needs a list of choices.")
        if kind == "password" and param.get("default") not in (None, ""):
            errors.append(f"Password parameter '{key}' cannot have a default: it is asked for each time.")
    used = set(PLACEHOLDER.findall(body or ""))
    for missing in sorted(used - set(keys)):
        errors.append(f"The body uses {{{{ {missing} }}}} but no parameter has that key.")
    errors += placeholder_position_errors(body or "")
    if errors:
        raise ValidationError({"parameters": errors})


# --- where a placeholder may stand -------------------------------------------------------------

# PowerShell closes a double-quoted string on these too, not only the ASCII double quote.
DOUBLE_QUOTES = ('"', "\u201c", "\u201d", "\u201e")
_WHERE = {
    "single": "inside a single-quoted string",
    "double": "inside a double-quoted string, where $(...) would run",
    "here_double": 'inside a double-quoted here-string (@" "@), where $(...) would run',
    "here_single": "inside a single-quoted here-string (@' '@)",
    "line_comment": "inside a # comment, where a line break in the value would start code",
    "block_comment": "inside a <# #> comment, which a #> in the value would close",
}


def _non_code_spans(body: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every string and comment of a PowerShell script, read the way
    PowerShell reads them: single and double quotes (smart quotes too), doubled-quote and backtick
    escapes, here-strings closed only at the start of a line, # and <# #> comments."""
    spans, i, n = [], 0, len(body)
    while i < n:
        ch = body[i]
        if body.startswith("<#", i):
            end = body.find("#>", i + 2)
            end = n if end < 0 else end + 2
            spans.append((i, end, "block_comment"))
            i = end
        elif ch == "#":
            end = body.find("\n", i)
            end = n if end < 0 else end
            spans.append((i, end, "line_comment"))
            i = end
        elif ch == "@" and i + 1 < n and (body[i + 1] in DOUBLE_QUOTES or body[i + 1] in SINGLE_QUOTES):
            double = body[i + 1] in DOUBLE_QUOTES
            closers = DOUBLE_QUOTES if double else SINGLE_QUOTES
            j = body.find("\n", i)
            end = n
            while j >= 0:
                line_start = j + 1
                if line_start < n and body[line_start] in closers and body.startswith("@", line_start + 1):
                    end = line_start + 2
                    break
                j = body.find("\n", line_start)
            spans.append((i, end, "here_double" if double else "here_single"))
            i = end
        elif ch in SINGLE_QUOTES:
            j = i + 1
            while j < n and not (body[j] in SINGLE_QUOTES and not (j + 1 < n and body[j + 1] in SINGLE_QUOTES)):
                j += 2 if body[j] in SINGLE_QUOTES else 1
            spans.append((i, min(j + 1, n), "single"))
            i = j + 1
        elif ch in DOUBLE_QUOTES:
            j = i + 1
            while j < n:
                if body[j] == "`" or body[j] in DOUBLE_QUOTES and j + 1 < n and body[j + 1] in DOUBLE_QUOTES:
                    j += 2
                elif body[j] in DOUBLE_QUOTES:
                    break
                else:
                    j += 1
            spans.append((i, min(j + 1, n), "double"))
            i = j + 1
        else:
            i += 1
    return spans


def placeholder_position_errors(body: str) -> list[str]:
    """A placeholder must stand where code stands: its value is rendered as a single-quoted literal,
    which is a literal only there. Inside a string or a comment the value would be read as part of
    it — and could run as code — so such a template is refused, saying where and what to do."""
    spans = _non_code_spans(body)
    errors = []
    for match in PLACEHOLDER.finditer(body):
        kind = next((k for start, end, k in spans if start <= match.start() < end), None)
        if kind is not None:
            line = body.count("\n", 0, match.start()) + 1
            errors.append(
                f"{{{{ {match.group(1)} }}}} on line {line} stands {_WHERE[kind]}. Put it where code stands "
                f'and use the variable, e.g. $value = {{{{ {match.group(1)} }}}} then "...$value...".'
            )
    return errors


# --- rendering --------------------------------------------------------------------------

# PowerShell closes a single-quoted string on any of these, not only the ASCII apostrophe.
SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")
REDACTED = "********"


def ps_quote(value: str) -> str:
    """A PowerShell single-quoted literal holding exactly `value`. Inside single quotes nothing is
    expanded ($, backtick, subexpressions); a quote character is escaped by doubling it."""
    out = []
    for ch in value:
        out.append(ch * 2 if ch in SINGLE_QUOTES else ch)
    return "'" + "".join(out) + "'"


def clean_parameter_values(parameters: list[dict], raw: dict[str, object]) -> dict[str, object]:
    """Validate submitted values against the schema. Returns typed values or raises
    ValidationError with one clear message per parameter."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for param in parameters:
        key, kind, label = param["key"], param["type"], param.get("label") or param["key"]
        value = raw.get(key)
        if value is None or (isinstance(value, str) and value.strip() == "" and kind != "password"):
            value = param.get("default")
        if value in (None, ""):
            if param.get("required"):
                errors[key] = f"{label} is required."
            else:
                values[key] = False if kind == "boolean" else ""
            continue
        text = str(value)
        if "\x00" in text:
            errors[key] = f"{label} contains a character that cannot be used."
        elif kind == "number":
            try:
                number = float(text)
            except ValueError:
                errors[key] = f"{label} must be a number."
                continue
            if number != number or number in (float("inf"), float("-inf")):
                errors[key] = f"{label} must be a number."
                continue
            values[key] = int(number) if number.is_integer() else number
        elif kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                errors[key] = f"{label} must be yes or no."
                continue
            values[key] = lowered in ("true", "1", "yes", "on")
        elif kind == "choice":
            choices = [str(c) for c in param.get("choices") or []]
            if text not in choices:
                errors[key] = f"{label} must be one of: {', '.join(choices)}."
                continue
            values[key] = text
        else:  # text, password
            if len(text) > 4000:
                errors[key] = f"{label} is too long (at most 4,000 characters)."
                continue
            values[key] = text
    if errors:
        raise ValidationError(errors)
    return values


def _literal(kind: str, value: object) -> str:
    if kind == "boolean":
        return "$true" if value else "$false"
    if kind == "number" and value != "":
        return repr(value)
    return ps_quote(str(value))


def render_script(body: str, parameters: list[dict], values: dict[str, object], *, redact: bool = False) -> str:
    """Replace each {{ key }} with its value as a safe PowerShell literal. With `redact`, password
    values become a redaction marker (for everything shown again or given to the AI)."""
    kinds = {p["key"]: p["type"] for p in parameters}

    def replace(match) -> str:
        key = match.group(1)
        kind = kinds.get(key, "text")
        if redact and kind == "password":
            return ps_quote(REDACTED)
        return _literal(kind, values.get(key, ""))

    return PLACEHOLDER.sub(replace, body)


def redact_values(parameters: list[dict], values: dict[str, object]) -> dict[str, object]:
    kinds = {p["key"]: p["type"] for p in parameters}
    return {k: (REDACTED if kinds.get(k) == "password" and v not in ("", None) else v) for k, v in values.items()}
