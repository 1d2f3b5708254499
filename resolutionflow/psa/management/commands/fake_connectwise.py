"""Serve the fake ConnectWise Manage API on 127.0.0.1 until Ctrl+C (demos).

python manage.py fake_connectwise --port 8119
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from resolutionflow.psa.fake_connectwise import FakeConnectWise


def describe(entry: dict) -> str:
    """One line per request, with what a person wants to see: the note's flags, the time entry's
    span, the status asked for and the ticket's status now. Never the Authorization header."""
    line = f"{entry['method']} {entry['path']}"
    body = entry.get("json")
    if entry["path"].endswith("/notes") and entry["method"] == "POST" and isinstance(body, dict):
        flags = [k for k in ("resolutionFlag", "internalAnalysisFlag", "detailDescriptionFlag") if body.get(k)]
        member = (body.get("member") or {}).get("id", "none")
        first = (body.get("text") or "").strip().splitlines()[0][:60] if body.get("text") else ""
        line += f"  [{', '.join(flags)}] member={member} {first!r}"
    elif entry["path"] == "time/entries" and isinstance(body, dict):
        line += f"  ticket {body.get('chargeToId')} {body.get('timeStart')} -> {body.get('timeEnd')}"
        line += f" member={(body.get('member') or {}).get('id', 'none')}"
    elif entry["method"] == "PATCH" and isinstance(body, list) and body:
        line += f"  status -> {((body[0] or {}).get('value') or {}).get('id')}"
    elif entry.get("ticket_status"):
        line += f"  (status: {entry['ticket_status']})"
    return line


class Command(BaseCommand):
    help = "Serve a local fake of the ConnectWise Manage REST API (tickets 48213-48215) until Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8119, help="port on 127.0.0.1 (0 picks a free one)")
        parser.add_argument("--keep-status", action="store_true", help="a workflow rule silently keeps every status")
        parser.add_argument(
            "--client-id",
            default="fake-client-id",
            help="the clientId header it accepts (the app's CONNECTWISE_CLIENT_ID)",
        )

    def handle(self, *args, port: int, keep_status: bool, client_id: str, **options):
        fake = FakeConnectWise(port=port, log_limit=1000, client_id=client_id)
        fake.keep_status = keep_status
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Fake ConnectWise Manage on http://{fake.site}. Ctrl+C to stop.")
        self.stdout.write(f"Run the app with CONNECTWISE_CLIENT_ID={client_id}, then in Admin > ConnectWise enter:")
        self.stdout.write(f"  site {fake.site}, company {fake.company_id}, public key {fake.public_key},")
        self.stdout.write(f"  private key {fake.private_key}  (the fake's demo key, not a secret)")
        self.stdout.write("Tickets: 48213, 48214, 48215.")
        self.stdout.flush()
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        seen = 0
        try:
            while not stopping.wait(0.5):
                for entry in fake.requests[seen:]:
                    self.stdout.write(describe(entry))
                seen = len(fake.requests)
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
        self.stdout.write(f"Stopped after {seen} request(s).")
