"""docker-compose.yml and the Dockerfile: one image, six services, exactly one beat."""

import pytest
import yaml
from django.conf import settings

COMPOSE_FILE = settings.BASE_DIR / "docker-compose.yml"
DJANGO_SERVICES = ("web", "worker", "beat", "worker-background")


def _load_yaml(path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def services() -> dict:
    return _load_yaml(COMPOSE_FILE)["services"]


def test_the_six_services_exist(services):
    assert set(services) == {"postgres", "redis", "web", "worker", "beat", "worker-background"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"


def test_web_worker_and_beat_share_one_image_and_one_configuration(services):
    web, worker, beat, background = (services[name] for name in DJANGO_SERVICES)
    for key in ("build", "image", "env_file", "environment", "depends_on"):
        assert web[key] == worker[key] == beat[key] == background[key], key
    assert web["env_file"] == ".env"
    environment = web["environment"]
    assert environment["DJANGO_DEBUG"] == "false"
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379")


def test_each_service_runs_its_own_command(services):
    web = " ".join(services["web"]["command"])
    assert "manage.py migrate" in web
    assert web.index("migrate") < web.index("gunicorn resolutionflow.wsgi")
    assert "0.0.0.0:8000" in web

    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "resolutionflow", "worker"]
    # Background AI work has its own queue and worker (issue 17): every routed queue is consumed.
    background = services["worker-background"]["command"]
    assert background[:4] == ["celery", "-A", "resolutionflow", "worker"]
    consumed = {worker[worker.index("-Q") + 1], background[background.index("-Q") + 1]}
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"celery"} <= consumed
    assert "-B" not in background

    beat = services["beat"]["command"]
    assert beat[:4] == ["celery", "-A", "resolutionflow", "beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    # Only beat runs beat: a worker started with -B would be a second scheduler.
    assert "-B" not in worker
    assert "--beat" not in worker
    assert "beat" not in web


def test_the_image_builds_htmx_and_static_files_in():
    dockerfile = (settings.BASE_DIR / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "npm ci" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    ignored = (settings.BASE_DIR / ".dockerignore").read_text().splitlines()
    assert {".env", ".git", ".venv", "node_modules"} <= set(ignored)
