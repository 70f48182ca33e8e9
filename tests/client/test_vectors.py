"""The protocol test vectors (tests/vectors/*.json) against the Python client, collab/client/state.py.

frontend/test/vectors.test.js runs the same files against the browser client; the format is
described in tests/vectors/generate.py, which writes them. The runner below maps each step
to one call of the state machine: nothing in it decides anything about the protocol.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collab.core import wire
from collab.core.patches import apply_patch, parse_patch
from collab.client.state import ReadOnly, SyncClient

VECTORS = sorted((Path(__file__).parents[1] / "vectors").glob("*.json"))


class Runner:
    """Each step is one call of the state machine with the step's arguments (and the
    runner's clock): the glue a transport is, deciding nothing."""

    def __init__(self, vector: dict) -> None:
        self.now = 0.0  # seconds
        self.count = 0
        self.doc = vector["doc"]
        self.state = SyncClient(vector["version"], vector["text"], new_id=self._new_id)
        self.ids: dict[str, str] = {}  # "$inflight", "$op1", ... -> the op ids the client chose

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

    def run(self, step: dict) -> None:
        s = self.state
        if "edit" in step:
            s.local_edit(*step["edit"])
        elif "edit_refused" in step:
            with pytest.raises(ReadOnly):
                s.local_edit(*step["edit_refused"])
        elif "send" in step:
            shadow = s.shadow
            message = s.take_patch(self.now)
            want = step["send"]
            if want is None:
                assert message is None, f"sent {message} where nothing was to be sent"
                return
            assert message is not None, "nothing was sent"
            assert message["base"] == want["base"], ("base", message["base"], want["base"])
            result = apply_patch(shadow, parse_patch(message["patch"]))[0]
            assert result == want["result"], ("the patch applied to the shadow gives", result)
            if "max_patch" in want:
                assert len(message["patch"]) <= want["max_patch"], ("patch length", len(message["patch"]))
            if "max_lines" in want:
                assert message["patch"].count("\n") <= want["max_lines"], ("patch lines", message["patch"].count("\n"))
            if want["id"] == "$new":
                assert message["id"] not in self.ids.values(), "a resend where a new op id was due"
                self.ids[f"$op{len([k for k in self.ids if k.startswith('$op')]) + 1}"] = message["id"]
                self.ids["$inflight"] = message["id"]
            else:
                assert message["id"] == self.sub(want["id"]), "not the same op id"
        elif "ack" in step:
            s.receive_ack(self.sub(step["ack"]), self.sub(step.get("id", "$inflight")), self.now)
        elif "revisions" in step:
            s.receive_revisions(self.sub(step["revisions"]), self.now)
        elif "sync_request" in step:
            assert s.take_sync(self.now) == step["sync_request"], "sync request"
        elif "sync" in step:
            s.receive_sync(self.sub(step["sync"]), self.now)
        elif "sync_if_asked" in step:
            request = s.take_sync(self.now)
            if request is not None:
                assert request["since"] == step["sync_if_asked"]["since"]
                s.receive_sync(self.sub(step["sync_if_asked"]["answer"]), self.now)
        elif "seen" in step:
            assert s.take_seen(self.now) == step["seen"], "seen"
        elif "wait" in step:
            self.now += step["wait"]
        elif "reconnect" in step:
            s.disconnected()
            s.joining()
            s.receive_join(self.join_answer(step["reconnect"]))
        elif "rejoin" in step:
            s.joining()
            s.receive_join(self.join_answer(step["rejoin"]))
        elif "disconnect" in step:
            s.disconnected()
            s.joining()
        elif "joined" in step:
            s.receive_join(self.join_answer(step["joined"]))
        elif "gone" in step:
            s.receive_gone(step["gone"])
        elif "role" in step:
            s.receive_role(step["role"])
        elif "expect" in step:
            for key, want in step["expect"].items():
                got = [t for t in want if t in s.text] if key == "text_contains" else self.observe(key)
                assert got == want, f"{key}: {got!r}, expected {want!r}"
        else:
            raise AssertionError(f"unknown step {step}")

    def join_answer(self, given: dict) -> wire.JoinAck:
        """The join answer a server makes, with the step's version, text, role and limits (none:
        an older server's answer, without them)."""
        role = given.get("role", "editor")
        counts: wire.Counts = {"editors": int(role == "editor"), "viewers": int(role == "viewer")}  # just this one
        return wire.join_ack(self.doc, given["version"], given["text"], role, [], counts, "peer", given.get("limits"))

    def observe(self, key: str) -> Any:
        s = self.state
        if key in ("text", "shadow", "version", "unsaved"):
            return getattr(s, key)
        if key == "inflight":
            return s.inflight is not None
        if key == "want_sync":
            return s.needs_sync(self.now) is not None
        if key == "diverged":
            return s.needs_rejoin() is not None
        if key == "held":
            return s.held_versions
        if key == "error":
            return s.error.get("code") if s.error else None
        if key == "stuck":
            return s.stuck.get("code") if s.stuck else None
        if key == "gone":
            return s.gone.get("code") if s.gone else None
        if key == "wake_at":
            return s.wake_at()
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

    script = Path(__file__).parents[1] / "vectors" / "generate.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
