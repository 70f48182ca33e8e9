"""A child process for the read lane: the history routes' long computations (blame, diffs
of whole versions, replays, revert's weave) run here, on the machine's other core.

A worker thread shares the interpreter lock with the event loop: while one computed a blame
of a 2M-character document, every other client's round trip waited for the lock, and C
calls that keep it (json.dumps of 30,000 spans) made the waits long (20 history requests at
once: an honest editor waited 0.9-1.4 s). A process has its own interpreter. (The write lane stays on threads: what its computations
give back, e.g. the 1.3 million hunks of a parsed patch, cost more to unpickle on the event
loop than they cost to compute on a thread: worst stall 625 -> 1,494 ms when tried.)

What a computation needs from the store it reads here, on a connection of its own
(reads.py): pickling 100,000 revisions for it held the event loop 0.4 s.

The parent (`ReadProcess`, used by runtime.Runtime) sends `(fn, args)` pickled, framed by
an 8-byte length, on the child's stdin and reads `(ok, value)` back from its stdout, one
computation at a time. `fn` must be a module-level function (functools.partial of one is
fine): it is pickled by reference and imported by the child. The pipes are gevent's, so
the event loop serves others while the child computes and while the bytes move. The child
is started on the first computation and again after it died (a crash answers that one
computation with `internal`); it exits when its stdin closes, so a killed server leaves no
orphan. Only our own process writes to the pipe: pickle is safe here.

Run by ReadProcess (`main()`, in a fresh interpreter), never by hand.
"""
from __future__ import annotations

import logging
import os
import pickle
import struct
import sys
from typing import IO, Any, Callable

from ..core.errors import CollabError

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">Q")


def _write(out: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def _frame(inp: IO[bytes]) -> bytes:
    """The next frame's bytes, or EOFError when the other side has gone."""
    head = inp.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    n = _LENGTH.unpack(head)[0]
    data = inp.read(n)
    if len(data) < n:
        raise EOFError
    return data


def _read(inp: IO[bytes]) -> Any:
    return pickle.loads(_frame(inp))


def main() -> None:
    """The child: compute what arrives, answer, until stdin closes."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    while True:
        try:
            data = _frame(inp)
        except EOFError:
            return
        fn: object = "a computation"
        try:
            fn, args = pickle.loads(data)  # (a function the child cannot import fails here)
            answer: tuple[bool, object] = (True, fn(*args))  # type: ignore[operator]
        except Exception as exc:  # the parent raises it as the computation's own error
            answer = (False, exc)
        try:
            try:
                _write(out, answer)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                _write(out, (False, RuntimeError(f"the answer of {fn!r} cannot be sent back: {exc}")))
        except (BrokenPipeError, OSError):  # the server has gone (killed): so do we, quietly
            return


class ReadProcess:
    """The parent's side: one child, one computation at a time (the caller serialises:
    runtime.Runtime holds the read lane's semaphore around `run`)."""

    def __init__(self) -> None:
        self._child: Any = None  # gevent.subprocess.Popen, started on first use

    def _start(self) -> Any:
        import gevent.subprocess

        # -P: the current folder is not put first on sys.path (a folder named collab there
        # must not shadow the package); the folder this very package is in is, so that the
        # child runs the parent's code (not another copy installed in the environment)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self._child = gevent.subprocess.Popen(
            [sys.executable, "-P", "-c", f"import sys; sys.path.insert(0, {root!r}); "
                                         "from collab.service.worker import main; main()"],
            stdin=gevent.subprocess.PIPE, stdout=gevent.subprocess.PIPE, close_fds=True)
        return self._child

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        child = self._child if self._child is not None and self._child.poll() is None else self._start()
        try:
            _write(child.stdin, (fn, args))
            ok, value = _read(child.stdout)
        except (EOFError, BrokenPipeError, OSError) as exc:
            self.close()  # (waits for it to end, killed if it lingers)
            log.error("the read worker process died during %s (exit code %s, %s)",
                      getattr(fn, "__name__", fn), child.returncode, type(exc).__name__)
            raise CollabError("internal", "the history computation failed; retry") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            child.stdin.close()  # the child's read sees EOF and it exits
            child.wait(timeout=2)
        except Exception:  # stuck in a long computation: it is only a cache of work
            child.kill()
            child.wait()
        finally:
            child.stdout.close()


if __name__ == "__main__":
    main()
