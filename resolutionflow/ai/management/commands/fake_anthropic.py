"""Serve the fake Anthropic Messages API on 127.0.0.1 until Ctrl+C (demos and benchmarks).

python manage.py fake_anthropic --port 8765 --latency 0.05
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from resolutionflow.ai.fake_api import FakeMessagesAPI


class Command(BaseCommand):
    help = "Serve a local fake of the Anthropic Messages API (default replies) until Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
        parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before every reply")
        parser.add_argument(
            "--no-prompt-cache",
            action="store_true",
            help="report no cache reads or writes (by default usage counts prompt caching as the API does)",
        )

    def handle(self, *args, port: int, latency: float, no_prompt_cache: bool, **options):
        if latency < 0:
            raise CommandError("--latency must be zero or more seconds.")
        fake = FakeMessagesAPI(port=port, latency=latency, log_limit=1000, cache=not no_prompt_cache)
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Fake Anthropic Messages API on {fake.url} (latency {latency:g}s). Ctrl+C to stop.")
        self.stdout.write("Point the app at it with:")
        self.stdout.write(f"  export ANTHROPIC_API_KEY=fake ANTHROPIC_BASE_URL={fake.url}")
        self.stdout.flush()
        stopping = threading.Event()
        # Ctrl+C raises KeyboardInterrupt; `docker stop` / `kill` send SIGTERM.
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            served = fake.received
            fake.stop()
        self.stdout.write(f"Stopped after {served} request(s).")
