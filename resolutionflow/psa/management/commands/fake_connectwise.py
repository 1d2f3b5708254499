"""Serve the fake ConnectWise Manage API on 127.0.0.1 until Ctrl+C (demos).

python manage.py fake_connectwise --port 8119
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from resolutionflow.psa.fake_connectwise import FakeConnectWise


class Command(BaseCommand):
    help = "Serve a local fake of the ConnectWise Manage REST API (tickets 48213-48215) until Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8119, help="port on 127.0.0.1 (0 picks a free one)")
        parser.add_argument("--keep-status", action="store_true", help="a workflow rule silently keeps every status")

    def handle(self, *args, port: int, keep_status: bool, **options):
        fake = FakeConnectWise(port=port, log_limit=1000)
        fake.keep_status = keep_status
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Fake ConnectWise Manage on http://{fake.site}. Ctrl+C to stop.")
        self.stdout.write("Run the app with CONNECTWISE_CLIENT_ID=fake-client-id, then in Admin > ConnectWise enter:")
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
                    self.stdout.write(f"{entry['method']} {entry['path']}")
                seen = len(fake.requests)
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
        self.stdout.write(f"Stopped after {seen} request(s).")
