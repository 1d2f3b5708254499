"""A local fake of the Anthropic Messages API, for tests, demos and benchmarks.

The real SDK is pointed at it with `base_url`, so what the app sends and what the SDK parses
are tested on the wire. It speaks `POST /v1/messages` (non-streaming) on 127.0.0.1:

    with FakeMessagesAPI() as fake:
        fake.enqueue(Reply.error(529, "overloaded_error"), Reply.json({"status": "ok"}))
        ...  # settings.ANTHROPIC_BASE_URL = fake.url
        fake.requests[-1]["model"]

Replies come from the FIFO filled by `enqueue`, then from `set_responder`'s callable, then
from the default responder (a minimal object valid for the requested JSON schema, or a short
text). Like the real API it rejects malformed requests with a 400, so a wire-format mistake
fails a test instead of passing silently. This module must not import `anthropic`.

Usage is reported as the real API reports it, prompt caching included (see `PromptCache`): a
prefix up to a `cache_control` breakpoint that matches one written in the last 5 minutes is
read from cache, the rest up to the last breakpoint is written when long enough, and
`input_tokens` counts only what follows the last breakpoint. `FakeMessagesAPI(cache=False)` (or
`fake.prompt_cache.enabled = False`) gives plain numbers; `clock=` lets a test move time without sleeping.
An explicit `usage=` on a scripted Reply overrides the computed numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .demo import example_from_schema

DEFAULT_TEXT = "This is a reply from the fake Messages API."
REDACTED = "***"
_SECRET_HEADERS = frozenset({"x-api-key", "authorization"})
_MAX_CACHE_BREAKPOINTS = 4
# Prompt caching as documented: entries live 5 minutes (or 1 hour with ttl "1h") from their last
# use; a breakpoint finds an earlier entry at most 20 blocks back ("automatic prefix checking").
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_CACHE_LOOKBACK_BLOCKS = 20
# ~4 characters per token; an image costs about (width x height) / 750 tokens, at most ~1,600:
# counted as that cap, not by the length of its base64 text.
_CHARS_PER_TOKEN = 4
_IMAGE_CHARS = 1600 * _CHARS_PER_TOKEN
# How often a waiting reply checks whether the client has gone or the fake is stopping.
_POLL_SECONDS = 0.02

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the classmethods; `content=None` means "let the
    default responder write it" (used by `hang`)."""

    status: int = 200
    content: str | None = None
    stop_reason: str = "end_turn"
    stop_details: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
    error_type: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    @classmethod
    def text(cls, text: str, *, usage: dict[str, int] | None = None) -> Reply:
        return cls(content=text, usage=usage)

    @classmethod
    def json(cls, obj: Any, *, usage: dict[str, int] | None = None, fenced: bool = False) -> Reply:
        text = json.dumps(obj)
        return cls(content=f"```json\n{text}\n```" if fenced else text, usage=usage)

    @classmethod
    def error(
        cls,
        status: int,
        error_type: str | None = None,
        message: str = "",
        *,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        should_retry: bool | None = None,
    ) -> Reply:
        """An API error: 429 rate_limit_error, 529 overloaded_error, 500 api_error, ...
        `retry_after` is sent as the `retry-after` header (seconds), `retry_after_ms` as
        `retry-after-ms`, `should_retry` as `x-should-retry`; the SDK honours all three."""
        error_type = error_type or ERROR_TYPES.get(status, "api_error")
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        if should_retry is not None:
            headers["x-should-retry"] = "true" if should_retry else "false"
        message = message or error_type.replace("_error", "").replace("_", " ").capitalize()
        return cls(status=status, error_type=error_type, message=message, headers=headers)

    @classmethod
    def hang(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Wait `seconds` before answering `then` (default: the default responder's answer).
        The wait ends early when the client hangs up or the fake is reset or stopped."""
        base = then or cls()
        return replace(base, delay=base.delay + seconds)

    @classmethod
    def truncated(cls, text: str = '{"summary": "The answer was cut', *, usage: dict[str, int] | None = None) -> Reply:
        """Stopped at max_tokens: the text is cut off mid-answer."""
        return cls(content=text, stop_reason="max_tokens", usage=usage)

    @classmethod
    def refusal(cls, text: str = "", *, usage: dict[str, int] | None = None) -> Reply:
        return cls(
            content=text,
            stop_reason="refusal",
            stop_details={"type": "refusal", "category": None, "explanation": None},
            usage=usage,
        )

    @classmethod
    def dropped(cls) -> Reply:
        """Close the connection without answering (the SDK sees a connection error)."""
        return cls(drop=True)


Responder = Callable[[dict[str, Any]], "Reply | dict | str"]


class FakeMessagesAPI:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port unless given), served from a daemon
    thread. Thread-safe; `stop()` closes every connection and joins every thread it started."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        log_limit: int | None = None,
        cache: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`log_limit` keeps only the newest requests in `.requests` (for a long-running server).
        `cache=False` turns prompt caching off; `clock` (seconds) is what cache entries expire by."""
        self.host = host
        self._cache_default = (cache, clock)
        self.prompt_cache = PromptCache(enabled=cache, clock=clock)
        self._requested_port = port
        self._lock = threading.Condition()
        self._queue: deque[Reply] = deque()
        self._requests: deque[dict[str, Any]] = deque(maxlen=log_limit)
        self._received = 0
        self._responder: Responder | None = None
        self._latency = latency
        self._in_flight = 0
        # Set to end every waiting reply; replaced by a fresh event on reset().
        self._abort = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeMessagesAPI:
        if self._server is not None:
            return self
        self._abort = threading.Event()
        self._server = _Server((self.host, self._requested_port), _Handler, fake=self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._abort.set()
        server.shutdown()
        server.server_close()  # closes the listening socket, then every connection, joins handlers
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeMessagesAPI:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The fake Messages API is not running: call start() first.")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The SDK's `base_url`."""
        return f"http://{self.host}:{self.port}"

    # --- scripting -----------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def set_responder(self, responder: Responder | None) -> None:
        """`responder(request_json) -> Reply` (a dict or a str is taken as Reply.json / Reply.text)
        answers whenever the queue is empty; None restores the default responder."""
        with self._lock:
            self._responder = responder

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = seconds

    def reset(self) -> None:
        """Forget the queue, the log, the latency, the responder and the prompt cache (caching and
        the clock back to what the constructor said); end replies still waiting."""
        enabled, clock = self._cache_default
        self.prompt_cache.reset(enabled=enabled, clock=clock)
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._received = 0
            self._responder = None
            self._latency = 0.0
            self._abort.set()
            self._abort = threading.Event()

    # --- what was received -----------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received, oldest first (a copy). Secret headers are redacted."""
        with self._lock:
            return list(self._requests)

    @property
    def received(self) -> int:
        """How many requests arrived since start or the last reset (the log may keep fewer)."""
        with self._lock:
            return self._received

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        with self._lock:
            return len(self._queue)

    @property
    def in_flight(self) -> int:
        """Requests being answered right now (a hung reply counts until it ends)."""
        with self._lock:
            return self._in_flight

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being answered; False if still busy after `timeout`."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    # --- serving (called from handler threads) -------------------------------------------

    def _receive(self, path: str, headers: dict[str, str], body: Any) -> tuple[dict[str, Any], threading.Event, float]:
        data = body if isinstance(body, dict) else {}
        entry = {
            "path": path,
            "model": data.get("model"),
            "system": data.get("system"),
            "messages": data.get("messages"),
            "max_tokens": data.get("max_tokens"),
            "output_config": data.get("output_config"),
            "headers": {k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()},
            "body": body,
            "received_at": time.monotonic(),
            "reply": None,
            "usage": None,
        }
        with self._lock:
            self._requests.append(entry)
            self._received += 1
            self._in_flight += 1
            return entry, self._abort, self._latency

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        if responder is None:
            return Reply()
        reply = responder(body)
        if isinstance(reply, Reply):
            return reply
        if isinstance(reply, str):
            return Reply.text(reply)
        return Reply.json(reply)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"


def min_cacheable_tokens(model: str) -> int:
    """The shortest prefix the API caches. The docs give it per model (1,024 tokens for the
    Sonnet and Opus 4 families, 2,048 for Haiku 3 and 3.5, more for some newer ones); the models
    here are named by tier in settings, so a Haiku-class name gets 2,048 and any other 1,024."""
    return 2048 if "haiku" in model.lower() else 1024


@dataclass(frozen=True)
class CacheUsage:
    """What one request reads from and writes to the prompt cache, in tokens."""

    input_tokens: int
    read: int = 0
    written_5m: int = 0
    written_1h: int = 0

    @property
    def written(self) -> int:
        return self.written_5m + self.written_1h


@dataclass(frozen=True)
class _Block:
    key: bytes  # digest of the model and every block up to and including this one
    tokens: int  # tokens of the prefix up to and including this block
    ttl: str | None  # the block's cache_control ttl when it is a breakpoint, else None


class PromptCache:
    """The API's prompt cache, modelled on its documentation.

    The prompt is one sequence of blocks, in the order tools, system, messages. A block with
    `cache_control` is a breakpoint. A prefix is identified by the model and the canonical
    serialisation of its blocks (the `cache_control` markers themselves excluded, so a marker
    that moves along a growing conversation still finds what an earlier request wrote). For each
    breakpoint the cache is checked at that block and up to 19 blocks before it; the longest
    live entry found is read (its lifetime starts again). Then every breakpoint after it whose
    prefix is at least `min_cacheable_tokens` long is written, and the tokens from the end of the
    read prefix to the last one written are `cache_creation_input_tokens`. `input_tokens` are
    those after: only what follows the last cached block."""

    def __init__(self, *, enabled: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.clock = clock
        self.ttl = _TTL_SECONDS["5m"]  # the default lifetime; "1h" breakpoints live an hour
        self._entries: dict[bytes, tuple[float, float]] = {}  # key -> (expires at, lifetime)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            now = self.clock()
            return sum(1 for expires, _ in self._entries.values() if expires > now)

    def reset(self, *, enabled: bool, clock: Callable[[], float]) -> None:
        with self._lock:
            self._entries.clear()
            self.enabled, self.clock, self.ttl = enabled, clock, _TTL_SECONDS["5m"]

    def account(self, body: dict[str, Any]) -> CacheUsage:
        """The usage of one answered request; writes and refreshes the entries it uses."""
        blocks = _prefix_blocks(body)
        total = max(1, blocks[-1].tokens if blocks else 0)
        breakpoints = [i for i, block in enumerate(blocks) if block.ttl is not None]
        if not self.enabled or not breakpoints:
            return CacheUsage(input_tokens=total)
        with self._lock:
            now = self.clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            read_at = -1
            for breakpoint in breakpoints:
                for position in range(breakpoint, max(-1, breakpoint - _CACHE_LOOKBACK_BLOCKS), -1):
                    if position <= read_at:
                        break
                    if blocks[position].key in self._entries:
                        read_at = position
                        break
            if read_at >= 0:
                _, lifetime = self._entries[blocks[read_at].key]
                self._entries[blocks[read_at].key] = (now + lifetime, lifetime)
            minimum = min_cacheable_tokens(str(body.get("model", "")))
            written = {"5m": 0, "1h": 0}
            cached_to = read_at
            for breakpoint in breakpoints:
                block = blocks[breakpoint]
                if breakpoint <= read_at or block.tokens < minimum:
                    continue
                lifetime = self.ttl if block.ttl == "5m" else _TTL_SECONDS[block.ttl]
                self._entries[block.key] = (now + lifetime, lifetime)
                written[block.ttl] += block.tokens - (blocks[cached_to].tokens if cached_to >= 0 else 0)
                cached_to = breakpoint
        read = blocks[read_at].tokens if read_at >= 0 else 0
        return CacheUsage(
            input_tokens=total - (blocks[cached_to].tokens if cached_to >= 0 else 0),
            read=read,
            written_5m=written["5m"],
            written_1h=written["1h"],
        )


def _prefix_blocks(body: dict[str, Any]) -> list[_Block]:
    """The prompt as the cache sees it: tools, system, then each message's content blocks."""
    parts: list[tuple[Any, dict[str, Any]]] = []
    for index, tool in enumerate(body.get("tools") or []):
        parts.append((("tools", index), tool))
    system = body.get("system")
    if system is not None:
        for block in [{"type": "text", "text": system}] if isinstance(system, str) else system:
            parts.append((("system",), block))
    for index, message in enumerate(body.get("messages") or []):
        content = message.get("content")
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            parts.append((("messages", index, message.get("role")), block))
    digest = hashlib.sha256(str(body.get("model", "")).encode())
    chars, blocks = 0, []
    for where, block in parts:
        bare = {k: v for k, v in block.items() if k != "cache_control"}
        canonical = json.dumps([where, bare], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(digest.digest() + canonical.encode())
        chars += _block_chars(bare, canonical)
        cache_control = block.get("cache_control")
        ttl = cache_control.get("ttl", "5m") if isinstance(cache_control, dict) else None
        blocks.append(_Block(key=digest.digest(), tokens=chars // _CHARS_PER_TOKEN, ttl=ttl))
    return blocks


def _block_chars(block: dict[str, Any], canonical: str) -> int:
    if block.get("type") == "text":
        return len(str(block.get("text", "")))
    source = block.get("source")
    if block.get("type") == "image" and isinstance(source, dict) and source.get("type") == "base64":
        return _IMAGE_CHARS
    return len(canonical)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # we join our own handler threads, after closing their connections
    # socketserver's default backlog of 5 makes a burst of connections wait for SYN retries (~1 s).
    request_queue_size = 256

    def __init__(self, address, handler, *, fake: FakeMessagesAPI) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._track = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="fake-anthropic-conn", daemon=True
        )
        with self._track:
            self._connections.add(request)
            self._handlers.add(thread)
        thread.start()

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._track:
                self._connections.discard(request)
                self._handlers.discard(threading.current_thread())

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-reply (a timeout on its side) is normal here.
        pass

    def server_close(self) -> None:
        super().server_close()
        with self._track:
            connections, handlers = list(self._connections), list(self._handlers)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked on an idle keep-alive
        for thread in handlers:
            thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    # Headers and body go out in separate writes; without this, Nagle and delayed ACKs add ~40 ms
    # to every keep-alive reply, and benchmarks would measure the fake instead of the app.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry, abort, latency = fake._receive(self.path, headers, body)
        try:
            if self.path.split("?", 1)[0] != "/v1/messages":
                reply = Reply.error(404, message=f"Not found: {self.path}")
            elif problem := _request_problem(body, headers):
                reply = Reply.error(401 if problem.startswith("x-api-key") else 400, message=problem)
            else:
                try:
                    reply = fake._next_reply(body)
                except Exception as exc:  # a broken test responder: answer, so the test sees why
                    entry["responder_error"] = repr(exc)
                    reply = Reply.error(500, "api_error", f"The fake's responder failed: {exc!r}")
            entry["reply"] = {"status": reply.status, "stop_reason": reply.stop_reason if reply.status == 200 else None}
            if not self._wait(latency + reply.delay, abort) or reply.drop:
                self.close_connection = True
                return
            self._answer(reply, body if isinstance(body, dict) else {}, entry)
        finally:
            fake._done()

    def do_GET(self) -> None:
        self._send(404, _error_body("not_found_error", f"Not found: {self.path}", "req_fake"), {})

    def _wait(self, seconds: float, abort: threading.Event) -> bool:
        """Sleep `seconds`; False as soon as the fake is reset/stopped or the client hangs up."""
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            if abort.wait(min(_POLL_SECONDS, remaining)) or self._client_gone():
                return False
        return not abort.is_set()

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _answer(self, reply: Reply, body: dict[str, Any], entry: dict[str, Any]) -> None:
        """Send the reply; the usage it reports goes in the request's log entry first."""
        fake = self.server.fake
        request_id = fake._next_id("req")
        headers = dict(reply.headers)
        if reply.status != 200:
            self._send(reply.status, _error_body(reply.error_type, reply.message, request_id), headers, request_id)
            return
        text = reply.content if reply.content is not None else _default_text(body)
        output_tokens = body.get("max_tokens", 1) if reply.stop_reason == "max_tokens" else _tokens(text)
        # The cache is written (and read) only by a request that is answered, as on the real API.
        cached = fake.prompt_cache.account(body)
        usage = {
            "input_tokens": cached.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cached.written,
            "cache_read_input_tokens": cached.read,
            **(reply.usage or {}),
        }
        if reply.usage and "cache_creation_input_tokens" in reply.usage:
            written_5m, written_1h = usage["cache_creation_input_tokens"], 0
        else:
            written_5m, written_1h = cached.written_5m, cached.written_1h
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": written_5m, "ephemeral_1h_input_tokens": written_1h}
        usage["service_tier"] = "standard"
        message = {
            "id": fake._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "stop_details": reply.stop_details,
            "usage": usage,
        }
        entry["usage"] = usage
        self._send(200, message, headers, request_id)

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str], request_id: str = "") -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if request_id:
                self.send_header("request-id", request_id)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client hung up first
            self.close_connection = True


def _default_text(body: dict[str, Any]) -> str:
    fmt = (body.get("output_config") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(example_from_schema(fmt.get("schema") or {}))
    return DEFAULT_TEXT


def _tokens(text: str) -> int:
    # ~4 characters per token, as a realistic order of magnitude.
    return max(1, len(text) // 4)


def _error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}


def _request_problem(body: Any, headers: dict[str, str]) -> str:
    """What the real API would reject in this request ("" when it is acceptable)."""
    if not headers.get("x-api-key") and not headers.get("authorization"):
        return "x-api-key header is required"
    if not headers.get("anthropic-version"):
        return "anthropic-version: header is required"
    if not isinstance(body, dict):
        return "The request body is not valid JSON."
    if body.get("stream"):
        return "stream: the fake Messages API only answers non-streaming requests"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    breakpoints = 0
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
                return f"tools.{index}.name: Field required"
        problem, marks = _cache_controls_problem("tools", tools)
        if problem:
            return problem
        breakpoints += marks
    system = body.get("system")
    if system is not None:
        blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system
        problem, marks = _blocks_problem("system", blocks)
        if problem:
            return problem
        breakpoints += marks
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        problem, marks = _blocks_problem(f"messages.{index}.content", blocks)
        if problem:
            return problem
        breakpoints += marks
    if breakpoints > _MAX_CACHE_BREAKPOINTS:
        return f"A maximum of {_MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
    output_config = body.get("output_config")
    if output_config is not None:
        fmt = output_config.get("format") if isinstance(output_config, dict) else None
        if fmt is not None and (fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict)):
            return "output_config.format: expected {'type': 'json_schema', 'schema': {...}}"
    return ""


def _blocks_problem(where: str, blocks: Any) -> tuple[str, int]:
    if not isinstance(blocks, list) or not blocks:
        return f"{where}: at least one content block is required", 0
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"{where}.{index}: a content block must be an object with a type", 0
        if block["type"] == "text" and not str(block.get("text", "")).strip():
            return f"{where}.{index}: text content blocks must contain non-whitespace text", 0
    return _cache_controls_problem(where, blocks)


def _cache_controls_problem(where: str, blocks: list[dict[str, Any]]) -> tuple[str, int]:
    marks = 0
    for index, block in enumerate(blocks):
        cache_control = block.get("cache_control")
        if cache_control is not None:
            if not isinstance(cache_control, dict) or cache_control.get("type") != "ephemeral":
                return f"{where}.{index}.cache_control.type: Input should be 'ephemeral'", 0
            if cache_control.get("ttl", "5m") not in _TTL_SECONDS:
                return f"{where}.{index}.cache_control.ttl: Input should be '5m' or '1h'", 0
            marks += 1
    return "", marks
