"""The architecture holds itself (ARCHITECTURE.md): the import-linter contracts of `.importlinter`
run with the suite, so a new import cycle, a view importing a view, or an import against the app
layering fails `make test`. The contracts are also shown to catch each kind of break, on a copy
of the project with one bad import added."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("resolutionflow", "flywheel_app", "sessions_app", "facts_app", "l1_app")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_project_keeps_every_architecture_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy_of_the_project(tmp_path_factory):
    target = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / ".importlinter", target / ".importlinter")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__", "templates", "static")
        )
    return target


@pytest.mark.parametrize(
    ("module", "bad_import", "broken"),
    [
        pytest.param(
            "sessions_app/services/fixes.py",
            "from sessions_app.services import scripts  # noqa",
            "No import cycle",
            id="a-cycle-between-services",
        ),
        pytest.param(
            "sessions_app/views/fixes.py",
            "from sessions_app.views import sessions  # noqa",
            "Views never import other views",
            id="a-view-importing-a-view",
        ),
        pytest.param(
            "sessions_app/services/turns.py",
            "import facts_app.services  # noqa",
            "sessions_app imports neither facts_app nor l1_app",
            id="sessions-importing-facts",
        ),
        pytest.param(
            "resolutionflow/ai/client.py",
            "import flywheel_app.models  # noqa",
            "The core (resolutionflow) imports no app",
            id="the-core-importing-an-app",
        ),
        pytest.param(
            "sessions_app/selectors.py",
            "from sessions_app.services import state  # noqa",
            "Inside sessions_app",
            id="a-selector-importing-a-service",
        ),
    ],
)
def test_a_bad_import_breaks_a_contract(copy_of_the_project, module, bad_import, broken):
    path = copy_of_the_project / module
    original = path.read_text()
    try:
        path.write_text(original + "\n" + bad_import + "\n")
        result = lint_imports(copy_of_the_project)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    line = next(line for line in result.stdout.splitlines() if line.startswith(broken))
    assert line.endswith("BROKEN") or "BROKEN (" in line, result.stdout
