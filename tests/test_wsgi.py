"""collab/wsgi.py, gunicorn's entry point: a start that cannot go on is one line and exit
status 4 (gunicorn's APP_LOAD_ERROR, on which its arbiter stops instead of booting another
worker). Before: a traceback of ~50 lines from each worker, and status 3.

The loader runs in a subprocess (importing collab.wsgi monkey-patches and builds the app);
the same cases run under the real gunicorn when it is installed (the [deploy] extra, which
`make install` and CI do not install: then those are skipped, the loader's are not)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from test_serve import clean_env

REPO = Path(__file__).resolve().parent.parent
APP_LOAD_ERROR = 4
CASES = {
    "not a number": ({"COLLAB_MAX_PATCH_CHARS": "abc"}, "COLLAB_MAX_PATCH_CHARS must be a whole number, got 'abc'"),
    "queue scheme": ({"COLLAB_MESSAGE_QUEUE": "foo://"}, "COLLAB_MESSAGE_QUEUE must be a Redis URL"),
    "postgres unreachable": ({"COLLAB_DATABASE_URL": "postgresql://collab:s3cret@127.0.0.1:1/x"},
                             "cannot reach the database, PostgreSQL postgresql://collab@127.0.0.1:1/x: "
                             "connection failed"),
}


def one_line(stderr: str, reason: str) -> None:
    assert "Traceback" not in stderr, stderr
    ours = [line for line in stderr.splitlines() if line.startswith("collab.wsgi: ")]
    assert len(ours) == 1 and reason in ours[0], stderr
    assert "s3cret" not in stderr


@pytest.mark.e2e  # another process
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_loader_says_why_in_one_line_and_exits_with_app_load_error(case, tmp_path):
    settings, reason = CASES[case]
    done = subprocess.run([sys.executable, "-c", "import collab.wsgi"], cwd=REPO, env=clean_env(tmp_path, **settings),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == APP_LOAD_ERROR, (done.returncode, done.stderr)
    assert done.stderr == f"{done.stderr.strip()}\n" and done.stderr.count("\n") == 1, done.stderr
    one_line(done.stderr, reason)


def gunicorn() -> list[str]:
    if importlib.util.find_spec("gunicorn") is None:
        # an optional extra: skipped, also under CI=true (the loader's tests above still run)
        pytest.skip("gunicorn is not installed (pip install '.[deploy]')")
    return [sys.executable, "-m", "gunicorn"]


@pytest.mark.e2e
@pytest.mark.parametrize("case", sorted(CASES))
def test_gunicorn_stops_with_one_line_instead_of_a_traceback_per_worker(case, tmp_path):
    """The command of docs/deploy.md. The arbiter must stop by itself (the timeout only bounds
    one that, wrongly, goes on booting workers)."""
    settings, reason = CASES[case]
    command = [*gunicorn(), "-k", "collab.serve.GeventWebSocketWorker", "-w", "1", "--bind", "127.0.0.1:0",
               "collab.wsgi:app"]
    env = clean_env(tmp_path, HOME=str(tmp_path), **settings)  # gunicorn 27's control socket goes to ~/.gunicorn
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == APP_LOAD_ERROR, (done.returncode, done.stderr)
    one_line(done.stderr, reason)
    assert "Reason: App failed to load." in done.stderr
    assert done.stderr.count("Booting worker") == 1, "no worker booted again"
