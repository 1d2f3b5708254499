"""Script rendering (SPEC §5): values are quoted so no value can break out of its PowerShell string."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app.models import ScriptTemplate
from sessions_app.powershell import (
    REDACTED,
    SINGLE_QUOTES,
    clean_parameter_values,
    ps_quote,
    render_script,
    validate_parameter_schema,
)

PARAMS = [
    {"key": "user", "label": "User name", "type": "text", "required": True},
    {"key": "secret", "label": "Password", "type": "password", "required": True},
    {"key": "days", "label": "Days", "type": "number", "required": False, "default": 30},
    {"key": "force", "label": "Force", "type": "boolean", "required": False},
    {"key": "scope", "label": "Scope", "type": "choice", "required": True, "choices": ["user", "machine"]},
]
BODY = "$User = {{ user }}\n$Secret = {{secret}}\n$Days = {{ days }}\n$Force = {{ force }}\n$Scope = {{ scope }}\n"


def parse_single_quoted(source: str) -> tuple[str, str]:
    """Read one PowerShell single-quoted literal at the start of `source` the way PowerShell does;
    return (value, whatever follows the closing quote)."""
    assert source[0] in SINGLE_QUOTES, source
    i, out = 1, []
    while i < len(source):
        ch = source[i]
        if ch in SINGLE_QUOTES:
            if i + 1 < len(source) and source[i + 1] in SINGLE_QUOTES:
                out.append(source[i + 1])
                i += 2
                continue
            return "".join(out), source[i + 1 :]
        out.append(ch)
        i += 1
    raise AssertionError("unterminated literal")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=200))
def test_any_value_is_exactly_one_string_literal_and_nothing_else(value):
    rendered = render_script("$V = {{ v }}", [{"key": "v", "label": "V", "type": "text"}], {"v": value})
    assert rendered.startswith("$V = ")
    parsed, rest = parse_single_quoted(rendered[len("$V = ") :])
    assert parsed == value
    assert rest == ""


@pytest.mark.parametrize(
    "hostile",
    ["'; Remove-Item C:\\ -Recurse; '", "\u2019; calc.exe; \u2018", "$(Invoke-Expression evil)", "`n`r", "a'\nb"],
)
def test_hostile_values_stay_inside_their_string(hostile):
    parsed, rest = parse_single_quoted(ps_quote(hostile))
    assert (parsed, rest) == (hostile, "")


def test_values_are_validated_against_the_schema_with_clear_messages():
    with pytest.raises(ValidationError) as err:
        clean_parameter_values(PARAMS, {"user": "", "secret": "", "days": "ten", "force": "maybe", "scope": "domain"})
    messages = err.value.message_dict
    assert messages == {
        "user": ["User name is required."],
        "secret": ["Password is required."],
        "days": ["Days must be a number."],
        "force": ["Force must be yes or no."],
        "scope": ["Scope must be one of: user, machine."],
    }


def test_a_full_render_and_its_redacted_twin():
    values = clean_parameter_values(PARAMS, {"user": "jane", "secret": "S3cr3t!'x", "force": "yes", "scope": "user"})
    assert values == {"user": "jane", "secret": "S3cr3t!'x", "days": 30, "force": True, "scope": "user"}
    full = render_script(BODY, PARAMS, values)
    assert "$Secret = 'S3cr3t!''x'" in full and "$Days = 30" in full and "$Force = $true" in full
    redacted = render_script(BODY, PARAMS, values, redact=True)
    assert "S3cr3t" not in redacted and f"$Secret = '{REDACTED}'" in redacted
    assert "$User = 'jane'" in redacted


# --- where a placeholder may stand (issue #10.8: a value must never leave its literal) ----------------

V = [{"key": "v", "label": "Value", "type": "text"}]
HOSTILE = "$(Stop-Computer -Force)"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        pytest.param('Write-Host "Resetting {{ v }} now"', "double-quoted string", id="double-quoted"),
        pytest.param("Write-Host \u201cResetting {{ v }} now\u201d", "double-quoted string", id="smart-double-quoted"),
        pytest.param("Write-Host 'Resetting {{ v }} now'", "single-quoted string", id="single-quoted"),
        pytest.param('$m = @"\nResetting {{ v }}\n"@', "double-quoted here-string", id="here-string"),
        pytest.param("$m = @'\nResetting {{ v }}\n'@", "single-quoted here-string", id="single-here-string"),
        pytest.param("# resets {{ v }}\nRestart-Service Spooler", "# comment", id="line-comment"),
        pytest.param("<# resets {{ v }} #>\nRestart-Service Spooler", "<# #> comment", id="block-comment"),
    ],
)
def test_a_placeholder_inside_a_string_or_comment_is_refused_with_where_it_stands(body, where):
    with pytest.raises(ValidationError) as err:
        validate_parameter_schema(V, body)
    message = " ".join(err.value.message_dict["parameters"])
    assert "{{ v }}" in message and where in message and "line" in message


@pytest.mark.parametrize(
    "body",
    [
        '$name = {{ v }}\nWrite-Host "Resetting $name now"',
        "Restart-Service -Name {{ v }} # restarts it",
        "Write-Host 'it''s' {{ v }}",
        'Write-Host "a `" b" {{ v }}',
        '$m = @"\nplain text\n"@\n$b = {{ v }}',
    ],
)
def test_a_placeholder_where_code_stands_is_accepted_and_its_value_stays_a_literal(body):
    validate_parameter_schema(V, body)
    rendered = render_script(body, V, {"v": HOSTILE})
    assert "'$(Stop-Computer -Force)'" in rendered


@pytest.mark.django_db
def test_the_template_model_refuses_a_placeholder_in_a_string(tenant_a):
    template = ScriptTemplate(
        account=tenant_a.account, owner=tenant_a.owner, name="Reset", slug="reset", visibility="team",
        body='Write-Host "Resetting {{ v }}"', parameters=V,
    )  # fmt: skip
    with pytest.raises(ValidationError):
        template.full_clean()
