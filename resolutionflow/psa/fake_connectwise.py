"""A local fake of the ConnectWise Manage REST API, for tests and demos (issue #15).

It speaks what `ConnectWiseClient` uses, on 127.0.0.1, over real HTTP:

    with FakeConnectWise() as cw:
        cw.site                      # "127.0.0.1:PORT": the connection's site host
        cw.fail_next("POST", "service/tickets/*/notes", 403)
        cw.keep_status = True        # a workflow rule silently keeps every ticket's status
        cw.requests[-1]["json"]

- `GET /login/companyinfo/{companyId}` (no auth, as in Manage) answers the codebase;
- everything under `/{codebase}/apis/3.0/` checks `Authorization: Basic base64("{company}+{public}:
  {private}")` and the `clientId` header, and answers Manage's error bodies
  (`{"code", "message", "errors": [...]}`);
- tickets (`GET`, `PATCH` with a JSON Patch on `status`), their notes (`GET` paged, `POST` with the
  rule that at least one of the three flags is true), board statuses, boards, time entries (`POST`,
  and `GET` with `conditions` joined by `and`),
  members (`conditions=primaryEmail="..."`), paged with `page` / `pageSize`;
- faults on demand: `fail_next(method, pattern, status, retry_after=..., delay=..., times=...)`
  (401, 403, 404, 429 with Retry-After, 500, a slow answer) and `keep_status`.

Every request is recorded (method, path, query, headers, parsed JSON body). This module imports
nothing from Django, so `manage.py fake_connectwise` and the tests share it as it is.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CODEBASE = "v4_6_release/"
API_PREFIX = "/v4_6_release/apis/3.0/"
MAX_PAGE_SIZE = 1000
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_CONDITION = re.compile(r'^\s*(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(true|false|\d+))\s*$')


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    retry_after: str | None = None
    delay: float = 0.0
    times: int = 1
    message: str = ""


def _statuses(board_id: int) -> list[dict]:
    base = board_id * 100
    return [
        {"id": base + 1, "name": "New", "board": {"id": board_id}, "closedStatus": False, "inactive": False},
        {"id": base + 2, "name": "In Progress", "board": {"id": board_id}, "closedStatus": False, "inactive": False},
        {
            "id": base + 3,
            "name": "Escalated to L3",
            "board": {"id": board_id},
            "closedStatus": False,
            "inactive": False,
        },
        {"id": base + 4, "name": "Resolved", "board": {"id": board_id}, "closedStatus": True, "inactive": False},
        {"id": base + 5, "name": "Closed", "board": {"id": board_id}, "closedStatus": True, "inactive": False},
    ]


class FakeConnectWise:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port unless given), in a daemon thread."""

    def __init__(
        self,
        *,
        port: int = 0,
        company_id: str = "northwind",
        public_key: str = "pub-fake-0001",
        private_key: str = "priv-fake-secret-0001",
        client_id: str = "fake-client-id",
        log_limit: int | None = None,
    ) -> None:
        self.company_id, self.public_key, self.private_key, self.client_id = (
            company_id,
            public_key,
            private_key,
            client_id,
        )
        self._requested_port = port
        self._log_limit = log_limit
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeConnectWise:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self._requested_port), _Handler)
            self._server.daemon_threads = True
            self._server.fake = self  # type: ignore[attr-defined]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-cw", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> FakeConnectWise:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def site(self) -> str:
        """What a connection's site host is set to."""
        return f"127.0.0.1:{self.port}"

    # --- the store ---------------------------------------------------------------------

    def reset(self) -> None:
        """A fresh store: two boards, three tickets, three members; no faults, no log."""
        with self._lock:
            self.generation = getattr(self, "generation", 0) + 1  # a slow answer from before a reset is dropped
            self.requests: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.keep_status = False
            self._ids = itertools.count(5001)
            self.boards = {1: {"id": 1, "name": "Service Desk"}, 2: {"id": 2, "name": "Projects"}}
            self.board_statuses = {board_id: _statuses(board_id) for board_id in self.boards}
            self.members = [
                {
                    "id": 176,
                    "identifier": "dana",
                    "firstName": "Dana",
                    "lastName": "Ortiz",
                    "primaryEmail": "dana@northwind.example",
                    "inactiveFlag": False,
                },
                {
                    "id": 177,
                    "identifier": "eli",
                    "firstName": "Eli",
                    "lastName": "Brandt",
                    "primaryEmail": "eli@northwind.example",
                    "inactiveFlag": False,
                },
                {
                    "id": 178,
                    "identifier": "owner",
                    "firstName": "Olivia",
                    "lastName": "Owner",
                    "primaryEmail": "owner@northwind.example",
                    "inactiveFlag": False,
                },
            ]
            self.tickets: dict[int, dict] = {}
            self.notes: dict[int, list[dict]] = {}
            self.time_entries: list[dict] = []
            for ticket_id, summary, company, priority in [
                (48213, "Outlook keeps asking for the password", "Contoso Dental", "Priority 2 - High"),
                (48214, "Printer on floor 2 offline", "Contoso Dental", "Priority 3 - Normal"),
                (48215, "VPN drops every 10 minutes", "Fabrikam Legal", "Priority 2 - High"),
            ]:
                self.add_ticket(ticket_id, summary=summary, company=company, priority=priority, _locked=True)
            self.notes[48213] = [
                self._note(48213, "Customer says it started after the password change on Monday.", internal=False),
                self._note(48213, "Checked: the account is not locked in AD.", internal=True),
            ]

    def add_ticket(
        self,
        ticket_id: int,
        *,
        summary: str,
        company: str = "Contoso Dental",
        priority: str = "Priority 3 - Normal",
        board_id: int = 1,
        _locked: bool = False,
    ) -> dict:
        status = self.board_statuses[board_id][0]
        ticket = {
            "id": ticket_id,
            "summary": summary,
            "board": {"id": board_id, "name": self.boards[board_id]["name"]},
            "status": {"id": status["id"], "name": status["name"]},
            "company": {"id": 19300 + len(self.tickets), "identifier": company.split()[0], "name": company},
            "contact": {"id": 880 + len(self.tickets), "name": "Pat Kim"},
            "priority": {"id": 2, "name": priority},
        }
        if _locked:
            self.tickets[ticket_id] = ticket
            self.notes.setdefault(ticket_id, [])
        else:
            with self._lock:
                self.tickets[ticket_id] = ticket
                self.notes.setdefault(ticket_id, [])
        return ticket

    def _note(
        self, ticket_id: int, text: str, *, internal: bool = False, resolution: bool = False, member: dict | None = None
    ) -> dict:
        return {
            "id": next(self._ids),
            "ticketId": ticket_id,
            "text": text,
            "detailDescriptionFlag": not internal and not resolution,
            "internalAnalysisFlag": internal,
            "resolutionFlag": resolution,
            "member": member,
            "dateCreated": "2026-11-27T09:00:00Z",
        }

    # --- faults ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        pattern: str,
        status: int = 500,
        *,
        retry_after: float | str | None = None,
        delay: float = 0.0,
        times: int = 1,
        message: str = "",
    ) -> None:
        """The next `times` requests matching `method` and `pattern` (a glob on the path after
        `apis/3.0/`, or `login/companyinfo/*`) answer `status` (0 with a delay: a slow real answer)."""
        with self._lock:
            self.faults.append(
                Fault(
                    method.upper(),
                    pattern,
                    status,
                    None if retry_after is None else str(retry_after),
                    delay,
                    times,
                    message,
                )
            )

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method in (method, "*") and fnmatch.fnmatch(path, fault.pattern):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- assertions ------------------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and fnmatch.fnmatch(r["path"], pattern)]

    # --- serving ------------------------------------------------------------------------

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests.append(entry)
            if self._log_limit and len(self.requests) > self._log_limit:
                del self.requests[0]

    def _expected_auth(self) -> str:
        raw = f"{self.company_id}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = "<not json>"
        path = unquote(split.path)
        short = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path.lstrip("/")
        entry = {"method": method, "path": short, "query": query, "headers": headers, "json": data}
        self._record(entry)
        generation = self.generation
        fault = self._fault_for(method, short)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
                if generation != self.generation:
                    return _error(503, "The fake was reset while this answer waited.")
            if fault.status:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                default = {
                    401: "Unauthorized",
                    403: "You do not have permission to perform this action",
                    404: "The record was not found",
                    429: "Too many requests",
                    500: "An unexpected error occurred",
                }
                return _error(fault.status, fault.message or default.get(fault.status, "Error"), extra=extra)
        if short.startswith("login/companyinfo/"):
            company = short.split("/", 2)[2]
            if method != "GET" or company.lower() != self.company_id.lower():
                return 404, {"code": "NotFound", "message": "Company not found"}, {}
            return (
                200,
                {
                    "CompanyName": "Northwind IT",
                    "Codebase": CODEBASE,
                    "VersionCode": "v2025.1",
                    "CompanyID": self.company_id,
                    "IsCloud": True,
                },
                {},
            )
        if not path.startswith(API_PREFIX):
            return 404, "<html><body>Not Found</body></html>", {"Content-Type": "text/html"}
        if headers.get("authorization") != self._expected_auth():
            return _error(401, "Authentication failed: check the company, public and private key.")
        if headers.get("clientid") != self.client_id:
            return _error(401, "A valid clientId header is required.", code="InvalidClientId")
        status, payload, extra = self._api(method, short, query, data)
        if status < 300 and isinstance(payload, dict) and isinstance(payload.get("status"), dict):
            entry["ticket_status"] = payload["status"].get("name")  # as answered, for the command's log
        return status, payload, extra

    def _api(self, method: str, path: str, query: dict, data: Any) -> tuple[int, Any, dict]:
        parts = path.strip("/").split("/")
        with self._lock:
            if parts[:2] == ["service", "tickets"] and len(parts) >= 3:
                if not parts[2].isdigit() or int(parts[2]) not in self.tickets:
                    return _error(404, f"Ticket with id {parts[2]} not found")
                ticket = self.tickets[int(parts[2])]
                if len(parts) == 3 and method == "GET":
                    return 200, copy.deepcopy(ticket), {}
                if len(parts) == 3 and method == "PATCH":
                    return self._patch_ticket(ticket, data)
                if len(parts) == 4 and parts[3] == "notes" and method == "GET":
                    return _page(self.notes[ticket["id"]], query)
                if len(parts) == 4 and parts[3] == "notes" and method == "POST":
                    return self._post_note(ticket, data)
            if parts[:2] == ["service", "boards"] and method == "GET":
                if len(parts) == 2:
                    return _page(list(self.boards.values()), query)
                if len(parts) == 4 and parts[3] == "statuses":
                    if not parts[2].isdigit() or int(parts[2]) not in self.boards:
                        return _error(404, f"Board with id {parts[2]} not found")
                    return _page(self.board_statuses[int(parts[2])], query)
            if parts == ["time", "entries"] and method == "POST":
                return self._post_time(data)
            if parts == ["time", "entries"] and method == "GET":
                entries = self.time_entries
                for condition in re.split(r"\s+and\s+", query.get("conditions") or "", flags=re.IGNORECASE):
                    if not condition.strip():
                        continue
                    match = _CONDITION.match(condition)
                    if not match:
                        return _error(400, "The conditions could not be parsed.", code="InvalidObject")
                    value = match.group(2) if match.group(2) is not None else match.group(3)
                    entries = [e for e in entries if str(e.get(match.group(1), "")).lower() == value.lower()]
                return _page(entries, query)
            if parts == ["system", "members"] and method == "GET":
                members = self.members
                if query.get("conditions"):
                    match = _CONDITION.match(query["conditions"])
                    if not match:
                        return _error(400, "The conditions could not be parsed.", code="InvalidObject")
                    field = match.group(1)
                    if match.group(2) is not None:
                        value = match.group(2).replace('\\"', '"').lower()
                        members = [m for m in members if str(m.get(field, "")).lower() == value]
                    else:
                        members = [m for m in members if str(m.get(field, "")).lower() == match.group(3)]
                return _page(members, query)
        return _error(404, f"No route for {method} {path}")

    def _patch_ticket(self, ticket: dict, ops: Any) -> tuple[int, Any, dict]:
        if not isinstance(ops, list) or not ops:
            return _error(400, "The request body must be a JSON Patch array.", code="InvalidObject")
        for op in ops:
            if not isinstance(op, dict) or op.get("op") != "replace" or op.get("path") != "status":
                return _error(400, "Only replace of status is supported by the fake.", code="InvalidObject")
            wanted = (op.get("value") or {}).get("id")
            statuses = {s["id"]: s for s in self.board_statuses[ticket["board"]["id"]]}
            if wanted not in statuses:
                return _error(
                    400,
                    "Status is invalid for this board.",
                    code="InvalidObject",
                    errors=[
                        {
                            "code": "InvalidObject",
                            "message": f"Status {wanted} is not on board {ticket['board']['name']}",
                            "resource": "ticket",
                            "field": "status",
                        }
                    ],
                )
            if not self.keep_status:
                ticket["status"] = {"id": wanted, "name": statuses[wanted]["name"]}
        return 200, copy.deepcopy(ticket), {}

    def _post_note(self, ticket: dict, data: Any) -> tuple[int, Any, dict]:
        if not isinstance(data, dict) or not str(data.get("text") or "").strip():
            return _error(
                400,
                "text is required",
                code="InvalidObject",
                errors=[
                    {"code": "NullOrEmpty", "message": "text is required", "resource": "ticketNote", "field": "text"}
                ],
            )
        flags = ("detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag")
        if not any(data.get(flag) is True for flag in flags):
            return _error(
                400,
                "At least one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
                code="InvalidObject",
                errors=[
                    {
                        "code": "Required",
                        "message": "A note type flag is required",
                        "resource": "ticketNote",
                        "field": "detailDescriptionFlag",
                    }
                ],
            )
        member = data.get("member")
        if member is not None and not self._member(member):
            return _error(400, "Member is invalid.", code="InvalidObject")
        note = self._note(
            ticket["id"],
            data["text"],
            internal=bool(data.get("internalAnalysisFlag")),
            resolution=bool(data.get("resolutionFlag")),
            member=member,
        )
        note["detailDescriptionFlag"] = bool(data.get("detailDescriptionFlag"))
        self.notes[ticket["id"]].append(note)
        return 201, copy.deepcopy(note), {}

    def _member(self, ref: Any) -> dict | None:
        if not isinstance(ref, dict):
            return None
        for m in self.members:
            if ref.get("id") == m["id"] or (ref.get("identifier") and ref.get("identifier") == m["identifier"]):
                return m
        return None

    def _post_time(self, data: Any) -> tuple[int, Any, dict]:
        errors = []
        if not isinstance(data, dict):
            return _error(400, "The request body must be an object.", code="InvalidObject")
        if data.get("chargeToType") != "ServiceTicket":
            errors.append(
                {"code": "InvalidObject", "message": "chargeToType must be ServiceTicket", "field": "chargeToType"}
            )
        if data.get("chargeToId") not in self.tickets:
            errors.append({"code": "InvalidObject", "message": "chargeToId is not a ticket", "field": "chargeToId"})
        for field in ("timeStart", "timeEnd"):
            if not _ISO.match(str(data.get(field) or "")):
                errors.append(
                    {"code": "InvalidObject", "message": f"{field} must be yyyy-MM-ddTHH:mm:ssZ", "field": field}
                )
        if not errors and datetime.fromisoformat(data["timeEnd"][:-1]) <= datetime.fromisoformat(
            data["timeStart"][:-1]
        ):
            errors.append({"code": "InvalidObject", "message": "timeEnd must be after timeStart", "field": "timeEnd"})
        if data.get("member") is not None and not self._member(data["member"]):
            errors.append({"code": "InvalidObject", "message": "member is invalid", "field": "member"})
        if errors:
            return _error(400, "The time entry is invalid.", code="InvalidObject", errors=errors)
        entry = {"id": next(self._ids), **copy.deepcopy(data)}
        self.time_entries.append(entry)
        return 201, copy.deepcopy(entry), {}


def _error(
    status: int, message: str, *, code: str = "", errors: list | None = None, extra: dict | None = None
) -> tuple[int, Any, dict]:
    codes = {
        400: "InvalidObject",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        429: "TooManyRequests",
        500: "UnexpectedError",
    }
    body = {"code": code or codes.get(status, "Error"), "message": message}
    if errors:
        body["errors"] = errors
    return status, body, extra or {}


def _page(items: list, query: dict) -> tuple[int, Any, dict]:
    try:
        page = max(1, int(query.get("page", 1)))
        size = min(MAX_PAGE_SIZE, max(1, int(query.get("pageSize", 25))))
    except ValueError:
        return _error(400, "page and pageSize must be numbers.")
    if str(query.get("orderBy", "")).replace("%20", " ").strip().lower() == "id desc":
        items = sorted(items, key=lambda item: item["id"], reverse=True)
    start = (page - 1) * size
    return 200, copy.deepcopy(items[start : start + size]), {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeConnectWise/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet: tests read `requests`, the command prints its own lines

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.server.fake.handle(self.command, self.path, headers, body)  # type: ignore[attr-defined]
        if isinstance(payload, str):
            raw, ctype = payload.encode(), "text/html"
        else:
            raw, ctype = json.dumps(payload).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", extra.pop("Content-Type", ctype))
        self.send_header("Content-Length", str(len(raw)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve
