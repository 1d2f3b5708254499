from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    """Every existing session's keywords, as the intake now stores them (in batches: a desk's
    history can be large)."""
    from flywheel_app.keywords import stored  # noqa: PLC0415  (a pure function: the stored form is its output)

    AISession = apps.get_model("sessions_app", "AISession")
    todo = AISession.objects.filter(summary_keywords__isnull=True).order_by("pk")
    last = 0
    while True:
        batch = list(todo.filter(pk__gt=last).only("pk", "problem_summary", "key_symptoms")[:BATCH])
        if not batch:
            break
        for session in batch:
            session.summary_keywords = stored(summary=session.problem_summary, key_symptoms=session.key_symptoms)
        AISession.objects.bulk_update(batch, ["summary_keywords"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0012_ticket_push_time_entry"),
    ]

    operations = [
        migrations.AddField(
            model_name="aisession",
            name="summary_keywords",
            field=models.TextField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
