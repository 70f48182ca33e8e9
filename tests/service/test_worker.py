"""The read lane's child process (collab/service/worker.py), run for real: what runs there,
what comes back (values and the errors the history routes answer with), and a child that
dies mid-computation."""
from __future__ import annotations

import os
import pickle

import gevent
import pytest

from collab.core.errors import CollabError, PatchConflict
from collab.core.ids import check_version
from collab.core.patches import Edit, apply_edits, diff_edits, make_patch
from collab.core.replay import ReplayError, text_at
from collab.storage import Revision
from collab.service.runtime import Runtime


@pytest.fixture
def runtime():
    runtime = Runtime(read_process=True)
    yield runtime
    runtime.close()


def test_reads_run_in_another_process_and_answer_their_values(runtime):
    assert runtime.run_read(os.getpid) != os.getpid()
    text = "héllo 🌍 wörld\n" * 1_000
    edits = [Edit(0, "h", "H"), Edit(len(text) - 1, "\n", "!")]
    assert runtime.run_read(apply_edits, text, edits) == apply_edits(text, edits)


def test_the_errors_of_a_computation_come_back_whole(runtime):
    with pytest.raises(CollabError) as local:
        check_version("3.5")
    with pytest.raises(CollabError) as remote:
        runtime.run_read(check_version, "3.5")
    assert (remote.value.code, remote.value.message) == (local.value.code, local.value.message)
    bad = Revision("d", 1, make_patch("", "abc"), "ann", "op-1", 0.0, "00000000")  # a wrong hash
    with pytest.raises(ReplayError) as replay:
        runtime.run_read(text_at, "", 0, [bad])
    assert replay.value.version == 1 and "hash" in replay.value.reason


def test_errors_pickle_whole_with_their_fields():
    for error in (CollabError("unavailable", "busy", retry_after=1.5), PatchConflict("no", version=3),
                  ReplayError(7, "hash mismatch")):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
        assert vars(again) == vars(error)


def test_a_function_the_child_cannot_import_is_an_error_not_a_dead_lane(runtime):
    child = runtime.run_read(os.getpid)
    with pytest.raises(Exception) as caught:
        runtime.run_read(_local_only, 1)  # this test module is not importable by the child
    assert not isinstance(caught.value, CollabError) or caught.value.code != "internal"
    assert runtime.run_read(os.getpid) == child  # the same child answers on


def _local_only(x: int) -> int:
    return x


def test_a_child_that_dies_answers_internal_and_the_next_read_starts_a_new_one(runtime):
    first = runtime.run_read(os.getpid)
    with pytest.raises(CollabError) as caught:
        runtime.run_read(os._exit, 3)
    assert caught.value.code == "internal"
    second = runtime.run_read(os.getpid)
    assert second != first and second != os.getpid()


def test_the_event_loop_runs_while_the_child_computes(runtime):
    """A read that computes for a while in the child: greenlets of this process run meanwhile
    (the lane waits on a pipe, it does not compute on the loop)."""
    ticks: list[int] = []
    ticker = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0.001) for _ in range(1_000_000)])
    try:
        a = "".join(chr(0x61 + (i * 7919) % 26) for i in range(60_000))
        b = a[::-1]
        before = len(ticks)
        runtime.run_read(diff_edits, a, b)
        assert len(ticks) > before  # (a blocked loop would show none)
    finally:
        ticker.kill()


def test_closing_leaves_no_child(runtime):
    pid = runtime.run_read(os.getpid)
    runtime.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_child_whose_server_has_gone_exits_quietly():
    """The server killed mid-computation: the child finishes it, finds the pipe broken and
    exits without a traceback in the server's log (it printed one)."""
    import subprocess
    import sys

    from collab.service.worker import _write

    child = subprocess.Popen([sys.executable, "-P", "-m", "collab.service.worker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _write(child.stdin, (diff_edits, ("ab" * 20_000, "ba" * 20_000)))
    child.stdout.close()  # nobody reads the answer any more
    child.stdin.close()
    child.wait(timeout=60)
    err = child.stderr.read()
    child.stderr.close()
    assert child.returncode == 0 and b"Traceback" not in err, err.decode()
