"""The fake Messages API itself, spoken to over plain HTTP (no SDK), so its wire format is pinned."""

import contextlib
import http.client
import json
import socket
import threading
import time

import jsonschema
import pytest

from resolutionflow.ai.fake_api import DEFAULT_TEXT, FakeMessagesAPI, Reply

pytestmark = pytest.mark.django_db

HEADERS = {"x-api-key": "sk-ant-test-secret", "anthropic-version": "2023-06-01", "content-type": "application/json"}
SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 3},
        "checks": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "kind": {"type": "string", "enum": ["ask", "fix"]},
        "done": {"type": "boolean"},
    },
    "required": ["question", "checks", "confidence", "kind", "done"],
    "additionalProperties": False,
}


def body(**overrides):
    return {
        "model": "claude-haiku-5-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Ticket: VPN drops."}],
        **overrides,
    }


def post(fake, payload, headers=HEADERS, path="/v1/messages", timeout=5):
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(payload), headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def post_in_background(fake, payload):
    """Send a request from another thread; the connection error a cut-off reply gives is expected."""

    def send():
        with contextlib.suppress(OSError):
            post(fake, payload, timeout=10)

    thread = threading.Thread(target=send)
    thread.start()
    while not fake.in_flight:
        time.sleep(0.01)
    return thread


@pytest.fixture
def fake():
    with FakeMessagesAPI() as server:
        yield server


def test_a_text_reply_has_the_messages_api_shape(fake):
    fake.enqueue(
        Reply.text(
            "Check the DHCP lease.",
            usage={
                "input_tokens": 120,
                "output_tokens": 40,
                "cache_read_input_tokens": 900,
                "cache_creation_input_tokens": 0,
            },
        )
    )

    status, headers, message = post(fake, body())

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["request-id"].startswith("req_")
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", "claude-haiku-5-5")
    assert message["content"] == [{"type": "text", "text": "Check the DHCP lease."}]
    assert (message["stop_reason"], message["stop_sequence"]) == ("end_turn", None)
    usage = message["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (120, 40)
    assert (usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]) == (900, 0)


def test_default_usage_is_realistic_and_grows_with_the_prompt(fake):
    _, _, short = post(fake, body())
    _, _, long = post(fake, body(messages=[{"role": "user", "content": "Ticket: VPN drops. " * 400}]))

    assert short["usage"]["input_tokens"] >= 1
    assert long["usage"]["input_tokens"] > 1000 > short["usage"]["input_tokens"]
    assert short["usage"]["output_tokens"] >= 1
    assert short["usage"]["cache_read_input_tokens"] == short["usage"]["cache_creation_input_tokens"] == 0


def test_the_default_responder_answers_a_json_schema_request_with_a_valid_object(fake):
    _, _, message = post(fake, body(output_config={"format": {"type": "json_schema", "schema": SCHEMA}}))

    jsonschema.validate(json.loads(message["content"][0]["text"]), SCHEMA)


def test_the_default_responder_answers_text_otherwise(fake):
    _, _, message = post(fake, body())

    assert message["content"] == [{"type": "text", "text": DEFAULT_TEXT}]


def test_scripted_replies_are_served_in_order_then_the_default(fake):
    fake.enqueue(Reply.text("one"), Reply.json({"n": 2}, fenced=True))
    fake.enqueue(Reply.text("three"))

    texts = [post(fake, body())[2]["content"][0]["text"] for _ in range(4)]

    assert texts == ["one", '```json\n{"n": 2}\n```', "three", DEFAULT_TEXT]
    assert fake.pending == 0


def test_a_responder_answers_from_the_request(fake):
    fake.set_responder(lambda request: Reply.text(f"echo {request['messages'][-1]['content']}"))
    fake.enqueue(Reply.text("queued first"))

    first = post(fake, body())[2]["content"][0]["text"]
    second = post(fake, body())[2]["content"][0]["text"]
    fake.set_responder(lambda request: {"model_seen": request["model"]})
    third = post(fake, body())[2]["content"][0]["text"]

    assert (first, second) == ("queued first", "echo Ticket: VPN drops.")
    assert json.loads(third) == {"model_seen": "claude-haiku-5-5"}


@pytest.mark.parametrize(
    ("reply", "status", "error_type", "header"),
    [
        (Reply.error(429, "rate_limit_error", retry_after=7), 429, "rate_limit_error", ("retry-after", "7")),
        (Reply.error(529, "overloaded_error"), 529, "overloaded_error", None),
        (Reply.error(500, "api_error", retry_after_ms=250), 500, "api_error", ("retry-after-ms", "250")),
        (Reply.error(529, should_retry=False), 529, "overloaded_error", ("x-should-retry", "false")),
    ],
)
def test_error_replies_have_the_api_error_shape(fake, reply, status, error_type, header):
    fake.enqueue(reply)

    got_status, headers, payload = post(fake, body())

    assert got_status == status
    assert payload["type"] == "error"
    assert payload["error"]["type"] == error_type
    assert payload["error"]["message"]
    if header:
        assert headers[header[0]] == header[1]


def test_truncated_and_refusal_replies(fake):
    fake.enqueue(Reply.truncated('{"summary": "cut'), Reply.refusal())

    _, _, truncated = post(fake, body(max_tokens=64))
    _, _, refused = post(fake, body())

    assert truncated["stop_reason"] == "max_tokens"
    assert truncated["usage"]["output_tokens"] == 64
    assert truncated["content"][0]["text"] == '{"summary": "cut'
    assert refused["stop_reason"] == "refusal"
    assert refused["stop_details"]["type"] == "refusal"


def test_the_request_log_keeps_what_was_sent_and_redacts_the_key(fake):
    system = [{"type": "text", "text": "You are a triage assistant.", "cache_control": {"type": "ephemeral"}}]
    output_config = {"format": {"type": "json_schema", "schema": SCHEMA}}

    post(
        fake,
        body(system=system, output_config=output_config),
        headers={**HEADERS, "Authorization": "Bearer sk-ant-other-secret"},
    )

    (entry,) = fake.requests
    assert entry["model"] == "claude-haiku-5-5"
    assert entry["system"] == system
    assert entry["messages"] == [{"role": "user", "content": "Ticket: VPN drops."}]
    assert entry["max_tokens"] == 256
    assert entry["output_config"] == output_config
    assert entry["headers"]["x-api-key"] == "***"
    assert entry["headers"]["authorization"] == "***"
    assert entry["headers"]["anthropic-version"] == "2023-06-01"
    assert "sk-ant" not in json.dumps(fake.requests)


@pytest.mark.parametrize(
    ("payload", "headers", "status", "says"),
    [
        (body(), {k: v for k, v in HEADERS.items() if k != "x-api-key"}, 401, "x-api-key"),
        (body(), {k: v for k, v in HEADERS.items() if k != "anthropic-version"}, 400, "anthropic-version"),
        ({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}, HEADERS, 400, "model"),
        (body(max_tokens=0), HEADERS, 400, "max_tokens"),
        (body(messages=[]), HEADERS, 400, "messages"),
        (body(messages=[{"role": "system", "content": "hi"}]), HEADERS, 400, "role"),
        (body(messages=[{"role": "user", "content": "  "}]), HEADERS, 400, "non-whitespace"),
        (body(system=[{"type": "text", "text": "x", "cache_control": {"type": "forever"}}]), HEADERS, 400, "ephemeral"),
        (
            body(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": f"block {i}", "cache_control": {"type": "ephemeral"}}
                            for i in range(5)
                        ],
                    }
                ]
            ),
            HEADERS,
            400,
            "maximum of 4",
        ),
        (body(output_config={"format": {"type": "json_schema"}}), HEADERS, 400, "output_config"),
        (body(stream=True), HEADERS, 400, "stream"),
    ],
)
def test_requests_the_real_api_would_reject_get_its_error(fake, payload, headers, status, says):
    fake.enqueue(Reply.text("never served"))

    got_status, _, error = post(fake, payload, headers=headers)

    assert got_status == status
    assert error["error"]["type"] == ("authentication_error" if status == 401 else "invalid_request_error")
    assert says in error["error"]["message"]
    assert fake.pending == 1, "a rejected request does not consume a scripted reply"
    assert len(fake.requests) == 1, "rejected requests are logged too"


def test_an_unknown_path_is_not_found(fake):
    status, _, error = post(fake, body(), path="/v1/complete")

    assert status == 404
    assert error["error"]["type"] == "not_found_error"


def test_latency_applies_to_every_reply(fake):
    fake.latency = 0.1
    fake.enqueue(Reply.text("a"), Reply.error(529))

    started = time.monotonic()
    post(fake, body())
    post(fake, body())

    assert time.monotonic() - started >= 0.2


def test_a_hang_answers_late(fake):
    fake.enqueue(Reply.hang(0.2, then=Reply.text("late")))

    started = time.monotonic()
    _, _, message = post(fake, body())

    assert time.monotonic() - started >= 0.2
    assert message["content"][0]["text"] == "late"


def test_a_hang_ends_when_the_client_hangs_up(fake):
    fake.enqueue(Reply.hang(30))

    with pytest.raises(TimeoutError):
        post(fake, body(), timeout=0.2)

    assert fake.wait_idle(timeout=1), "the handler noticed the closed connection and stopped waiting"


def test_reset_forgets_everything_and_ends_waiting_replies(fake):
    fake.enqueue(Reply.hang(30))
    waiting = post_in_background(fake, body())
    fake.latency = 0.5
    fake.set_responder(lambda request: Reply.text("custom"))
    fake.enqueue(Reply.text("queued"))

    fake.reset()
    waiting.join(timeout=2)

    assert not waiting.is_alive(), "the hung reply ended at reset"
    assert fake.requests == []
    assert fake.pending == 0
    assert fake.latency == 0
    started = time.monotonic()
    assert post(fake, body())[2]["content"][0]["text"] == DEFAULT_TEXT
    assert time.monotonic() - started < 0.4


def test_concurrent_requests_are_all_answered_and_logged(fake):
    fake.latency = 0.05
    results = []

    def call(n):
        results.append(post(fake, body(messages=[{"role": "user", "content": f"ticket {n}"}]))[0])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [200] * 20
    assert sorted(r["messages"][0]["content"] for r in fake.requests) == sorted(f"ticket {n}" for n in range(20))
    assert time.monotonic() - started < 0.05 * 20, "requests are answered in parallel"


def test_stop_leaks_no_threads_or_sockets():
    before = set(threading.enumerate())
    fake = FakeMessagesAPI().start()
    port = fake.port
    idle = http.client.HTTPConnection(fake.host, port, timeout=5)  # a kept-alive connection, left open
    idle.request("POST", "/v1/messages", body=json.dumps(body()), headers=HEADERS)
    idle.getresponse().read()
    fake.enqueue(Reply.hang(30))
    hung = post_in_background(fake, body())

    started = time.monotonic()
    fake.stop()
    hung.join(timeout=2)

    assert time.monotonic() - started < 2
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    idle.close()
    fake.stop()  # stopping twice is harmless


def test_url_needs_a_running_server():
    fake = FakeMessagesAPI()
    with pytest.raises(RuntimeError, match="start"):
        fake.url  # noqa: B018
    with fake:
        assert fake.url == f"http://127.0.0.1:{fake.port}"
        assert fake.port > 0
