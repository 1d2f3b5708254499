"""The ConnectWise Manage REST client (issue #15), on httpx2 (the HTTP client the Anthropic SDK
already brings in).

Base `https://{site}/{codebase}/apis/3.0`, the codebase read once from
`GET /login/companyinfo/{companyId}` and cached on the connection; every call sends
`Authorization: Basic base64("{company}+{public}:{private}")` and the `clientId` header, has a
timeout, and a 429 waits for its Retry-After and tries again (a bounded number of times). Every
failure becomes a `ConnectWiseError` whose message says what failed in words an admin can act on;
the private key never appears in one (nor in a log line).
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from resolutionflow.errors import ExternalServiceError, InvalidInput

from .crypto import secret_decrypt
from .interface import PostResult, StatusChange, TicketContext

logger = logging.getLogger(__name__)

NOTE_FLAGS = {
    "resolution": "resolutionFlag",  # customer-visible resolution note
    "internal_analysis": "internalAnalysisFlag",
    "detail": "detailDescriptionFlag",
}
PAGE_SIZE = 100
MAX_PAGES = 20


class ConnectWiseError(ExternalServiceError):
    """`kind`: host, timeout, auth, permission, not_found, rate_limited, invalid, server, status_kept."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message[:480])
        self.kind = kind


def ticket_id(ticket_ref: str) -> int:
    ref = (ticket_ref or "").strip().lstrip("#")
    if not ref.isdigit():
        raise InvalidInput("A ConnectWise ticket number is digits only, e.g. 48213.", field="psa_ticket_ref")
    return int(ref)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class ConnectWiseClient:
    name = "connectwise"
    connected = True

    def __init__(self, connection, *, private_key: str | None = None, sleep=time.sleep) -> None:
        """`connection`: a PSAConnection (saved or not). `private_key` overrides the stored one
        (the settings form tests keys before saving them)."""
        self.connection = connection
        self._private_key = private_key
        self._sleep = sleep

    # --- plumbing ---------------------------------------------------------------------

    @property
    def site(self) -> str:
        return self.connection.site

    def _origin(self) -> str:
        host = self.site.split(":")[0]
        scheme = "http" if host in settings.CONNECTWISE_HTTP_HOSTS else "https"
        return f"{scheme}://{self.site}"

    @sensitive_variables("private", "raw")
    def _auth_header(self) -> str:
        private = self._private_key if self._private_key is not None else secret_decrypt(
            self.connection.private_key_encrypted
        )  # fmt: skip
        raw = f"{self.connection.company_id}+{self.connection.public_key}:{private}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _refuse_local(self) -> None:
        """ConnectWise is on the internet: a site naming a loopback, private or link-local address
        (an IP, `localhost`, or a name resolving to one) is never called, so an admin cannot make
        the server probe its own network (the local fake's hosts, CONNECTWISE_HTTP_HOSTS, excepted).
        The address is not said: it would tell what an internal name resolves to."""
        host = self.site.split(":")[0]
        if host in settings.CONNECTWISE_HTTP_HOSTS:
            return
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
        except (OSError, UnicodeError):
            raise ConnectWiseError(
                f"ConnectWise at {self.site} could not be reached (no such host): check the site host.", kind="host"
            ) from None
        if not all(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
            raise ConnectWiseError(
                f"{self.site} is a private or local address, which is never called: give the ConnectWise site "
                "host, e.g. na.myconnectwise.net.",
                kind="host",
            )

    def _send(self, method: str, url: str, *, headers: dict, params=None, json=None) -> httpx.Response:
        self._refuse_local()
        timeout = httpx.Timeout(settings.CONNECTWISE_TIMEOUT)
        attempts = 0
        while True:
            try:
                with httpx.Client(timeout=timeout, follow_redirects=False) as http:
                    response = http.request(method, url, headers=headers, params=params, json=json)
            except httpx.TimeoutException:
                raise ConnectWiseError(
                    f"ConnectWise at {self.site} did not answer within {settings.CONNECTWISE_TIMEOUT:g} s.",
                    kind="timeout",
                ) from None
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                raise ConnectWiseError(
                    f"ConnectWise at {self.site} could not be reached ({exc.__class__.__name__}): check the site host.",
                    kind="host",
                ) from None
            if response.status_code != 429 or attempts >= settings.CONNECTWISE_MAX_RETRIES:
                return response
            wait = _retry_after(response)
            if wait > settings.CONNECTWISE_MAX_RETRY_WAIT:
                return response
            attempts += 1
            logger.info("ConnectWise 429 on %s %s: waiting %.1f s (retry %d)", method, url, wait, attempts)
            self._sleep(wait)

    def codebase(self) -> str:
        """The codebase (e.g. `v4_6_release`), from the connection's cache or companyinfo."""
        conn = self.connection
        if conn.codebase and conn.codebase_site == conn.site:
            return conn.codebase
        response = self._send(
            "GET", f"{self._origin()}/login/companyinfo/{conn.company_id}", headers={"Accept": "application/json"}
        )
        body = _json(response)
        codebase = (body or {}).get("Codebase") if isinstance(body, dict) else None
        if response.status_code == 404 or (response.status_code == 200 and isinstance(body, dict) and not codebase):
            raise ConnectWiseError(
                f"ConnectWise at {self.site} knows no company {conn.company_id!r}: check the company id.",
                kind="not_found",
            )
        if response.status_code != 200 or not codebase:
            raise ConnectWiseError(
                f"{self.site} did not answer like ConnectWise Manage (HTTP {response.status_code}): "
                "check the site host.",
                kind="host",
            )
        conn.codebase, conn.codebase_site = str(codebase).strip("/"), conn.site
        if conn.pk:
            type(conn).objects.filter(pk=conn.pk).update(codebase=conn.codebase, codebase_site=conn.codebase_site)
        return conn.codebase

    def _call(self, method: str, path: str, *, what: str, params=None, json=None) -> Any:
        url = f"{self._origin()}/{self.codebase()}/apis/3.0/{path}"
        headers = {
            "Authorization": self._auth_header(),
            "clientId": settings.CONNECTWISE_CLIENT_ID,
            "Accept": "application/json",
        }
        response = self._send(method, url, headers=headers, params=params, json=json)
        body = _json(response)
        if response.is_success:
            if body is None and response.content:
                raise ConnectWiseError(
                    f"{self.site} did not answer like ConnectWise Manage: check the site host.", kind="host"
                )
            return body
        raise _error(response, body, method=method, what=what, site=self.site)

    def _paged(self, path: str, *, what: str, params: dict | None = None, limit: int | None = None) -> list[dict]:
        items: list[dict] = []
        size = min(PAGE_SIZE, limit) if limit else PAGE_SIZE
        for page in range(1, MAX_PAGES + 1):
            batch = self._call("GET", path, what=what, params={**(params or {}), "page": page, "pageSize": size})
            items.extend(batch or [])
            if len(batch or []) < size or (limit and len(items) >= limit):
                break
        return items[:limit] if limit else items

    # --- the calls ----------------------------------------------------------------------

    def check(self) -> str:
        """Test the connection: codebase, keys and the permission to read tickets' boards."""
        if not settings.CONNECTWISE_CLIENT_ID:
            raise ConnectWiseError(
                "The server has no CONNECTWISE_CLIENT_ID: set the integration's client id "
                "(developer.connectwise.com) in the server's environment.",
                kind="auth",
            )
        self.codebase()
        self._call("GET", "service/boards", what="the service boards", params={"page": 1, "pageSize": 1})
        return f"Connected to {self.site} (codebase {self.connection.codebase}); the API member can read the boards."

    def ticket(self, ticket_ref: str) -> dict:
        number = ticket_id(ticket_ref)
        return self._call("GET", f"service/tickets/{number}", what=f"ticket #{number}")

    def ticket_notes(self, ticket_ref: str, *, limit: int = 5) -> list[dict]:
        number = ticket_id(ticket_ref)
        return self._paged(
            f"service/tickets/{number}/notes", what=f"the notes of ticket #{number}", params={"orderBy": "id desc"},
            limit=limit,
        )  # fmt: skip

    def fetch_ticket_context(self, ticket_ref: str) -> TicketContext:
        ticket = self.ticket(ticket_ref)
        notes = self.ticket_notes(ticket_ref)

        def name(key: str) -> str:
            value = ticket.get(key) or {}
            return str(value.get("name") or value.get("identifier") or "") if isinstance(value, dict) else ""

        return TicketContext(
            ticket_ref=str(ticket.get("id") or ticket_ref),
            summary=str(ticket.get("summary") or ""),
            company=name("company"),
            priority=name("priority"),
            status=name("status"),
            board=name("board"),
            contact=name("contact"),
            recent_notes=[str(n.get("text") or "")[:2000] for n in notes if n.get("text")],
        )

    def find_note(self, ticket_ref: str, *, text: str, kind: str) -> PostResult | None:
        """A note of this kind and text among the ticket's newest 25 (a post whose answer was lost)."""
        flag = NOTE_FLAGS[kind]
        for note in self.ticket_notes(ticket_ref, limit=25):
            if note.get(flag) and (note.get("text") or "").strip() == text.strip():
                return PostResult(external_id=str(note.get("id", "")))
        return None

    def post_note(self, ticket_ref: str, *, body: str, kind: str, member_id: int | None = None) -> PostResult:
        number = ticket_id(ticket_ref)
        payload: dict[str, Any] = {"text": body, **{flag: NOTE_FLAGS[kind] == flag for flag in NOTE_FLAGS.values()}}
        if member_id:
            payload["member"] = {"id": member_id}
        note = self._call(
            "POST", f"service/tickets/{number}/notes", what=f"the notes of ticket #{number}", json=payload
        )
        return PostResult(external_id=str((note or {}).get("id", "")))

    def change_status(self, ticket_ref: str, *, status_id: int, status_name: str = "") -> StatusChange:
        """Move the ticket, then read it back: a status that did not change raises (a workflow rule
        can silently keep it)."""
        number = ticket_id(ticket_ref)
        before = (self.ticket(ticket_ref).get("status") or {}).get("name", "")
        self._call(
            "PATCH",
            f"service/tickets/{number}",
            what=f"ticket #{number}",
            json=[{"op": "replace", "path": "status", "value": {"id": int(status_id)}}],
        )
        after = self.ticket(ticket_ref).get("status") or {}
        if after.get("id") != int(status_id):
            raise ConnectWiseError(
                f"ConnectWise kept status {after.get('name') or before or '?'} on ticket #{number} instead of "
                f"{status_name or status_id} — a workflow rule may block it.",
                kind="status_kept",
            )
        return StatusChange(before=before, after=str(after.get("name") or status_name))

    def boards(self) -> list[dict]:
        return self._paged("service/boards", what="the service boards")

    def board_statuses(self, board_id: int) -> list[dict]:
        return self._paged(f"service/boards/{int(board_id)}/statuses", what=f"the statuses of board {board_id}")

    def add_time_entry(
        self, ticket_ref: str, *, start: datetime, end: datetime, notes: str, member_id: int | None = None
    ) -> PostResult:
        number = ticket_id(ticket_ref)
        payload: dict[str, Any] = {
            "chargeToId": number,
            "chargeToType": "ServiceTicket",
            "timeStart": _iso(start),
            "timeEnd": _iso(end),
            "notes": notes[:4000],
        }
        if member_id:
            payload["member"] = {"id": member_id}
        entry = self._call("POST", "time/entries", what=f"time entries for ticket #{number}", json=payload)
        return PostResult(external_id=str((entry or {}).get("id", "")))

    def find_time_entry(self, ticket_ref: str, *, start: datetime, member_id: int | None) -> PostResult | None:
        """The ticket's time entry of this member starting at `start` (a post whose answer was lost)."""
        number = ticket_id(ticket_ref)
        entries = self._paged(
            "time/entries", what=f"time entries for ticket #{number}",
            params={"conditions": f'chargeToId={number} and chargeToType="ServiceTicket"', "orderBy": "id desc"},
            limit=25,
        )  # fmt: skip
        for entry in entries:
            member = entry.get("member") or {}
            if entry.get("timeStart") == _iso(start) and (member.get("id") if isinstance(member, dict) else None) == (
                member_id or None
            ):
                return PostResult(external_id=str(entry.get("id", "")))
        return None

    def member_by_email(self, email: str) -> dict | None:
        email = (email or "").strip().replace('"', "")
        if not email:
            return None
        found = self._call(
            "GET", "system/members", what="the members",
            params={"conditions": f'primaryEmail="{email}"', "page": 1, "pageSize": 2},
        )  # fmt: skip
        return found[0] if found else None

    def members(self) -> list[dict]:
        return self._paged("system/members", what="the members", params={"conditions": "inactiveFlag=false"})


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error(response: httpx.Response, body: Any, *, method: str, what: str, site: str) -> ConnectWiseError:
    status = response.status_code
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("message") or "")[:200]
        errors = body.get("errors") or []
        if isinstance(errors, list):
            parts = [str(e.get("message") or "")[:120] for e in errors if isinstance(e, dict) and e.get("message")]
            if parts:
                detail = f"{detail} ({'; '.join(parts[:3])})" if detail else "; ".join(parts[:3])
    said = f" ConnectWise said: {detail}" if detail else ""
    if status == 401:
        return ConnectWiseError(
            "ConnectWise refused the keys (401): check the company id, public key, private key and the server's "
            f"client id.{said}",
            kind="auth",
        )
    if status == 403:
        return ConnectWiseError(
            f"The API member may not {'read' if method == 'GET' else 'change'} {what} (403): give its security "
            f"role that permission in ConnectWise.{said}",
            kind="permission",
        )
    if status == 404:
        return ConnectWiseError(f"ConnectWise has no {what} (404).{said}", kind="not_found")
    if status == 429:
        return ConnectWiseError(
            f"ConnectWise is limiting requests (429); try again in {_retry_after(response):g} s.", kind="rate_limited"
        )
    if status < 500:
        return ConnectWiseError(f"ConnectWise refused the request for {what} ({status}).{said}", kind="invalid")
    return ConnectWiseError(f"ConnectWise failed on {what} ({status}).{said}", kind="server")
