"""Benchmark support: a bare SDK call, to compare the AI door's overhead against (lives here
because only resolutionflow/ai may import the SDK)."""

from functools import cache

import anthropic


@cache
def _client(base_url: str) -> anthropic.Anthropic:
    # One client, kept alive like the door's own, so the comparison is of the door's work alone.
    return anthropic.Anthropic(api_key="bench", base_url=base_url, max_retries=0, timeout=10)


def raw_sdk_call(*, base_url: str, model: str, system: str, message: str, schema: dict) -> str:
    reply = _client(base_url).messages.create(
        model=model,
        max_tokens=400,
        system=system,
        messages=[{"role": "user", "content": message}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    return "".join(b.text for b in reply.content if b.type == "text")
