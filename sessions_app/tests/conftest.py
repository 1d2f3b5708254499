import pytest

from resolutionflow.ai.fake_api import Reply
from sessions_app.services.intake import session_start
from sessions_app.services.turns import session_take_turn

from .factories import classification


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Screenshots written by a test land in its own directory, never in the checkout's media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def begin(fake_anthropic, client):
    """begin(user, first_turn, intake=...) -> a started session whose first step is `first_turn`,
    with `client` logged in as `user`. The fake API's log then holds the classification and the
    first turn; a test reads what it caused from the end of `requests`."""

    def _begin(user, first_turn, *, intake="Outlook keeps asking Jane for her password", classified=None):
        fake_anthropic.enqueue(Reply.json(classified or classification()), Reply.json(first_turn))
        session = session_start(user=user, intake_type="text", intake_text=intake)
        session_take_turn(session=session, actor=user)
        session.refresh_from_db()
        assert fake_anthropic.pending == 0
        client.force_login(user)
        return session

    return _begin
