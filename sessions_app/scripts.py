"""Script template parameter schemas (SPEC §5). Rendering with safe PowerShell quoting comes
with script generation."""

import re

from django.core.exceptions import ValidationError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
PARAM_TYPES = ("text", "number", "choice", "boolean", "password")


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
    used = set(PLACEHOLDER.findall(body or ""))
    for missing in sorted(used - set(keys)):
        errors.append(f"The body uses {{{{ {missing} }}}} but no parameter has that key.")
    if errors:
        raise ValidationError({"parameters": errors})
