"""The protocol test vectors (tests/vectors/*.json) against the Python client, collab/sync.py.

frontend/test/vectors.test.js runs the same files against the browser client; the format is
described in tests/vectors/generate.py, which writes them. The adapter below is the glue a
transport would be (collab/client.py): nothing in it decides anything about the protocol.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collab.patches import apply_patch, parse_patch
from collab.sync import GAP_PATIENCE, SyncState

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.json"))


class Runner:
    def __init__(self, vector: dict) -> None:
        self.now = 0.0
        self.count = 0
        self.state = SyncState(vector["doc"], vector["version"], vector["text"],
                               new_id=self._new_id, clock=lambda: self.now)
        self.ids: dict[str, str] = {}  # "$inflight", "$op1", ... -> the op ids the client chose
        self.queued: dict | None = None  # a resend decided by the re-join (client.py _on_join)

    def _new_id(self) -> str:
        self.count += 1
        return f"py-op-{self.count}"

    def sub(self, value: Any) -> Any:
        """Replace "$inflight" / "$opN" placeholders by the client's op ids."""
        if isinstance(value, str) and value.startswith("$"):
            assert value in self.ids, f"{value} names no op the client has sent"
            return self.ids[value]
        if isinstance(value, list):
            return [self.sub(v) for v in value]
        if isinstance(value, dict):
            return {k: self.sub(v) for k, v in value.items()}
        return value

    # -- what the transport would send ----------------------------------------------------------

    def next_patch(self) -> dict | None:
        s = self.state
        if self.queued is not None:
            message, self.queued = self.queued, None
            return message
        if s.retry_at is not None and self.now >= s.retry_at:
            message = s.resend()
            if message is not None:
                return message
        return s.take_patch()

    def join(self, answer: dict) -> None:
        """As collab/client.py answers a (re-)join."""
        s = self.state
        if s.diverged or answer["version"] < s.version:
            s.reset(answer["version"], answer["text"])
        else:
            self.queued = s.resend()
            s.want_sync = True

    # -- one step ----------------------------------------------------------------------------

    def run(self, step: dict) -> None:
        s = self.state
        if "edit" in step:
            s.edit(*step["edit"])
        elif "send" in step:
            shadow = s.shadow
            message = self.next_patch()
            want = step["send"]
            if want is None:
                assert message is None, f"sent {message} where nothing was to be sent"
                return
            assert message is not None, "nothing was sent"
            assert message["base"] == want["base"], ("base", message["base"], want["base"])
            result = apply_patch(shadow, parse_patch(message["patch"]))[0]
            assert result == want["result"], ("the patch applied to the shadow gives", result)
            if want["id"] == "$new":
                assert message["id"] not in self.ids.values(), "a resend where a new op id was due"
                self.ids[f"$op{len([k for k in self.ids if k.startswith('$op')]) + 1}"] = message["id"]
                self.ids["$inflight"] = message["id"]
            else:
                assert message["id"] == self.sub(want["id"]), "not the same op id"
        elif "ack" in step:
            s.receive_ack(self.sub(step.get("id", "$inflight")), self.sub(step["ack"]))
        elif "revisions" in step:
            s.receive_revisions(self.sub(step["revisions"]))
        elif "sync_request" in step:
            request = s.sync_request()
            want = step["sync_request"]
            got = None if request is None else {"since": request["since"]}
            assert got == want, ("sync request", got, want)
        elif "sync" in step:
            s.receive_sync(self.sub(step["sync"]))
        elif "sync_if_asked" in step:
            request = s.sync_request()
            if request is not None:
                assert request["since"] == step["sync_if_asked"]["since"]
                s.receive_sync(self.sub(step["sync_if_asked"]["answer"]))
        elif "wait" in step:
            self.now += step["wait"]
        elif "reconnect" in step or "rejoin" in step:
            self.join(step.get("reconnect") or step["rejoin"])
        elif "expect" in step:
            for key, want in step["expect"].items():
                got = [t for t in want if t in s.text] if key == "text_contains" else self.observe(key)
                assert got == want, f"{key}: {got!r}, expected {want!r}"
        else:
            raise AssertionError(f"unknown step {step}")

    def observe(self, key: str) -> Any:
        s = self.state
        if key in ("text", "shadow", "version"):
            return getattr(s, key)
        if key == "inflight":
            return s.inflight is not None
        if key == "want_sync":
            return s.want_sync or (s.gap_since is not None and self.now - s.gap_since >= GAP_PATIENCE)
        if key == "diverged":
            return s.diverged
        if key == "held":
            return sorted(s.held)
        if key == "error":
            return s.error.get("code") if s.error else None
        raise AssertionError(f"unknown expectation {key}")


def _params():
    for path in VECTORS:
        vector = json.loads(path.read_text("utf-8"))
        known = (vector.get("known") or {}).get("python")
        marks = [pytest.mark.xfail(reason=known, strict=True)] if known else []
        yield pytest.param(vector, id=path.stem, marks=marks)


@pytest.mark.parametrize("vector", _params())
def test_vector(vector):
    runner = Runner(vector)
    for n, step in enumerate(vector["steps"], 1):
        try:
            runner.run(step)
        except AssertionError as exc:
            raise AssertionError(f"{vector['name']} step {n} {json.dumps(step, ensure_ascii=False)[:300]}: "
                                 f"{exc}") from None


def test_vectors_are_up_to_date():
    import subprocess
    import sys

    script = Path(__file__).parent / "vectors" / "generate.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
