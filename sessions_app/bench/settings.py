"""The project's settings, served with the bench's URLconf (one extra route: the bare view)."""

from resolutionflow.settings import *  # noqa: F403  (the same settings, one line changed)

ROOT_URLCONF = "sessions_app.bench.urls"
