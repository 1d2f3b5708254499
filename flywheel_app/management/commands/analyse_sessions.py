"""Run the flywheel's analysis by hand (what the beat does every 5 minutes)."""

from django.core.management.base import BaseCommand

from flywheel_app.analysis import analyse_batch


class Command(BaseCommand):
    help = "Analyse resolved sessions waiting for analysis into flow proposals (all of them with --all)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Sessions per batch (FLYWHEEL_BATCH_SIZE).")
        parser.add_argument("--all", action="store_true", help="Keep going until nothing is waiting.")

    def handle(self, *args, limit=None, all=False, **options):
        total: dict[str, int] = {}
        claimed = 0
        while True:
            result = analyse_batch(limit=limit)
            claimed += result.claimed
            for outcome, count in result.outcomes.items():
                total[outcome] = total.get(outcome, 0) + count
            if not all or not result.claimed:
                break
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(total.items())) or "nothing waiting"
        self.stdout.write(f"Analysed {claimed} session{'s' if claimed != 1 else ''}: {summary}.")
