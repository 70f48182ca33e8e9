"""Write the protocol test vectors (tests/vectors/*.json) that both clients must pass.

The same files run against the Python client (tests/client/test_vectors.py, collab/client/state.py) and
the browser client (frontend/test/vectors.test.js, frontend/src/sync.js), so the two
cannot drift apart (one contract suite for both implementations). Regenerate after changing this script:

    .venv/bin/python tests/vectors/generate.py        # rewrites tests/vectors/*.json
    .venv/bin/python tests/vectors/generate.py --check  # fails if a file is out of date

Deterministic: no randomness, fixed timestamps, no op ids (see "$inflight" below).

Every patch a server would send (revisions, the `patch` of an ack) is made here with
collab.core.patches, and every message with collab.core.wire's builders, by a small model
of the server (`Server`: exact apply, hunks moved over the revisions since their base,
canonical patch from the applied edits, CRC-32 hash), so the vectors are correct by
construction. The texts a client must end with are written by
hand: they are the protocol's rules (docs/protocol.md, "A client, in short").

The format (one vector per file):

    {"name", "description", "doc", "version", "text",   the client's starting state
     "known": {"python": why, "js": why},                 optional: a known disagreement
     "steps": [step, ...]}

A step is an object with one of these keys (plus an optional "note"):

    edit: [pos, delete, insert]    a local edit, in code points of the visible text
    send: {base, result, id} | null
                                   the patch the client sends now (a resend after a rate limit
                                   or a reconnect included), or null for "nothing to send".
                                   `result` is the shadow with the patch applied exactly; the
                                   patch text itself is not compared (diff cleanups differ).
                                   id "$new": a fresh op id, bound to "$inflight" and to
                                   "$op1", "$op2", ... in order; "$inflight" / "$opN": that id.
                                   Optional max_patch: the patch text's length is at most that;
                                   max_lines: its lines (each ends with a newline) at most that.
    edit_refused: [pos, delete, insert]
                                   a local edit that the client must refuse at once (read-only)
    ack: {...} | null, id: "$inflight"
                                   the answer to the patch with that op id (null: none came in
                                   time, as the transport reports a timeout)
    revisions: [revision, ...]     a `revision` / `revisions` message (any order)
    sync_request: {since} | null   the sync the client asks for now, or null for none
    sync: {...}                    the answer to that sync
    sync_if_asked: {since, answer} a sync the client may skip because it changes nothing:
                                   if it asks, `since` must match and `answer` is delivered
    seen: {version} | null         the `seen` the client sends now, or null for none
    wait: seconds                  time passes on the clock handed to every call: retries, rate
                                   limits, a gap's patience, `seen`'s pace
    reconnect: {version, text, role?, limits?}
                                   the connection dropped and the re-join answered this
    rejoin: {version, text, role?, limits?}
                                   the client joined again (after a divergence); the answer
    disconnect: true               the connection dropped and a join went out on the next
                                   one; its answer comes later (joined), after what arrives
                                   meanwhile
    joined: {version, text, role?, limits?}
                                   the answer to that join
    gone: {code, message, ...}     a `gone` message's error: the document was deleted, or its
                                   access no longer admits this person
    role: "editor" | "viewer"      a `role` message: what the client may do from now on
    expect: {text, shadow, version, inflight, want_sync, diverged, held, error, stuck,
             gone, unsaved, wake_at}
                                   any subset; inflight/want_sync/diverged are booleans,
                                   held the sorted versions of early revisions, error, stuck
                                   and gone a code or null, wake_at seconds or null

Each step is one call of the state machine (the runners hold no logic): edit -> local_edit,
send -> take_patch, ack -> receive_ack, revisions -> receive_revisions, sync_request ->
take_sync, sync -> receive_sync, seen -> take_seen, reconnect -> disconnected + joining +
receive_join, rejoin -> joining + receive_join, disconnect -> disconnected + joining, joined ->
receive_join, gone -> receive_gone; expect reads text, shadow, version, inflight, needs_sync,
needs_rejoin, held_versions, error, stuck, gone, unsaved, wake_at.

Strings "$inflight" and "$opN" anywhere in a step's payload (an id in a revision, a sync
answer) are replaced by the op ids the client chose.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Unpack

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from collab.core import wire  # noqa: E402
from collab.core.errors import ErrorExtra, PatchConflict, gone_error  # noqa: E402
from collab.core.patches import (  # noqa: E402
    Edit,
    apply_edits,
    apply_patch,
    diff_edits,
    move_hunks,
    parse_patch,
    patch_from_edits,
    text_hash,
)
from collab.storage import Revision  # noqa: E402

HERE = Path(__file__).resolve().parent
DOC = "d"
TS = 1_700_000_000.0


def edit(text: str, pos: int, delete: int, insert: str) -> Edit:
    """One edit on `text`, in code points."""
    assert 0 <= pos <= pos + delete <= len(text)
    return Edit(pos, text[pos : pos + delete], insert)


class Server:
    """The authority, as collab/service/documents.py decides: a patch made against `base` is applied
    exactly to the head with its hunks moved over the revisions since, or refused with
    `conflict`; the canonical patch is made from the edits it applied."""

    def __init__(self, text: str = "", version: int = 0) -> None:
        self.head = version
        self.texts = {version: text}
        self.edits: dict[int, list[Edit]] = {}
        self.revs: dict[int, wire.RevisionMessage] = {}

    @property
    def text(self) -> str:
        return self.texts[self.head]

    def commit(self, base: int, edits: list[Edit], op_id: str, author: str = "other") -> wire.RevisionMessage:
        """Commit `edits` (made on the text at `base`); returns the revision message."""
        hunks = parse_patch(patch_from_edits(self.texts[base], edits))
        if base < self.head:
            hunks = move_hunks(hunks, [self.edits[v] for v in range(base + 1, self.head + 1)])
        old = self.text
        new, applied = apply_patch(old, hunks)
        patch = patch_from_edits(old, applied)
        assert apply_patch(old, parse_patch(patch))[0] == new  # canonical: applies exactly
        self.head += 1
        self.texts[self.head] = new
        self.edits[self.head] = applied
        rev = wire.revision(DOC, Revision(DOC, self.head, patch, author, op_id, TS + self.head, text_hash(new)))
        self.revs[self.head] = rev
        return rev

    def conflicts(self, base: int, edits: list[Edit]) -> bool:
        try:
            move_hunks(parse_patch(patch_from_edits(self.texts[base], edits)),
                       [self.edits[v] for v in range(base + 1, self.head + 1)])
        except PatchConflict:
            return True
        return False

    def ack(self, version: int, moved: bool = False, duplicate: bool = False) -> wire.PatchAck:
        """The ack of the revision `version`: `patch` only when the server moved the patch
        (or it is a duplicate), as the contract says."""
        rev = self.revs[version]
        return wire.patch_ack(version, rev["hash"], rev["patch"] if moved or duplicate else None, duplicate=duplicate)

    def sync(self, since: int, upto: int | None = None) -> wire.SyncAck:
        """The answer to sync {since}, cut after `upto` (then with `more`)."""
        last = self.head if upto is None else upto
        return wire.sync_ack(self.head, [self.revs[v] for v in range(since + 1, last + 1)])


def error(code: str, **extra: Unpack[ErrorExtra]) -> wire.ErrorAck:
    return wire.error_ack(code, f"({code})", extra)


class Vector:
    def __init__(self, name: str, description: str, text: str = "", version: int = 0) -> None:
        self.data: dict = {"name": name, "description": description, "doc": DOC,
                           "version": version, "text": text, "steps": []}

    def step(self, **step) -> "Vector":
        self.data["steps"].append(step)
        return self

    def edit(self, pos: int, delete: int, insert: str) -> "Vector":
        return self.step(edit=[pos, delete, insert])

    def send(self, base: int | None = None, result: str | None = None, id: str = "$new") -> "Vector":
        return self.step(send=None if base is None else {"base": base, "result": result, "id": id})

    def ack(self, ack: wire.PatchAck | wire.ErrorAck | None, id: str = "$inflight") -> "Vector":
        return self.step(ack=ack, id=id)

    def revisions(self, *revs: wire.RevisionMessage) -> "Vector":
        return self.step(revisions=list(revs))

    def expect(self, **what) -> "Vector":
        return self.step(expect=what)

    def known(self, **why: str) -> "Vector":
        self.data["known"] = why
        return self


# ---- the vectors ------------------------------------------------------------------------------

def round_trip() -> Vector:
    s = Server()
    v = Vector("round_trip", "Type, send, ack; what is typed while a patch is in flight goes "
               "out as one patch after the ack; nothing is sent when nothing changed.")
    v.send().edit(0, 0, "hello").expect(text="hello", shadow="", inflight=False)
    v.send(0, "hello").expect(inflight=True).send()
    v.edit(5, 0, " world").edit(0, 1, "H")
    s.commit(0, [edit("", 0, 0, "hello")], "$op1", "me")
    v.ack(s.ack(1)).expect(version=1, shadow="hello", text="Hello world", inflight=False)
    v.send(1, "Hello world")
    s.commit(1, [edit("hello", 0, 1, "H"), edit("hello", 5, 0, " world")], "$op2", "me")
    v.ack(s.ack(2)).expect(version=2, shadow="Hello world", text="Hello world", inflight=False,
                           want_sync=False, held=[], error=None, diverged=False)
    return v.send()


def unicode_case(name: str, description: str, start: str, first: tuple, second: tuple,
                 remote: tuple, merged: str) -> Vector:
    """A local edit sent and acknowledged; a second one, unsent, carried over a concurrent
    revision (positions in code points); then sent against the new version."""
    s = Server(start, 1)
    v = Vector(name, description, start, 1)
    t1 = apply_edits(start, [edit(start, *first)])
    v.edit(*first).expect(text=t1).send(1, t1)
    s.commit(1, [edit(start, *first)], "$op1", "me")
    v.ack(s.ack(2)).expect(version=2, shadow=t1, text=t1, inflight=False)
    t2 = apply_edits(t1, [edit(t1, *second)])
    v.edit(*second).expect(text=t2)
    rev = s.commit(2, [edit(t1, *remote)], "other-1")
    v.revisions(rev).expect(version=3, shadow=s.text, text=merged, inflight=False)
    v.send(3, merged)
    s.commit(3, diff_edits(s.text, merged), "$op2", "me")
    assert s.text == merged
    return v.ack(s.ack(4)).expect(version=4, shadow=merged, text=merged, inflight=False).send()


def emoji_pair() -> Vector:
    # "😀" U+1F600 and "😁" U+1F601 share the high surrogate D83D: a UTF-16 diff would split it
    return unicode_case(
        "unicode_emoji_pair", "Emoji that share a high surrogate: offsets in code points, no "
        "pair split by a diff, local and remote edits between and over them.",
        "😀😁", (1, 0, "x"), (0, 1, "😁"), (3, 0, "😂"), "😁x😁😂")


def unicode_multi() -> Vector:
    return unicode_case(
        "unicode_emoji_replace", "One emoji replaced by its neighbour (same high surrogate) "
        "on each side, and an astral insert between astral characters.",
        "a😀😁b", (2, 1, "😂"), (1, 0, "😃"), (3, 1, "😀"), "a😃😀😂😀")


def cjk() -> Vector:
    return unicode_case("unicode_cjk", "CJK text: local inserts and a concurrent insert elsewhere.",
                        "中文字符", (2, 0, "的"), (0, 0, "汉"), (5, 0, "串"), "汉中文的字符串")


def combining() -> Vector:
    # "e" + U+0301 COMBINING ACUTE ACCENT is two code points: the accent alone is deleted
    return unicode_case("unicode_combining", "Combining marks count as their own code points: "
                        "one side deletes an accent only, the other appends.",
                        "cafe\u0301 creme", (4, 1, ""), (0, 0, "le "), (10, 0, "\u0300s"),
                        "le cafe creme\u0300s")


def rtl() -> Vector:
    return unicode_case("unicode_rtl", "Right-to-left text (Hebrew): offsets are logical order.",
                        "שלום עולם", (5, 0, "לכם "), (13, 0, "!"), (0, 0, "אה, "), "אה, שלום לכם עולם!")


def concurrent_insert_same_position() -> Vector:
    s = Server("ab", 1)
    v = Vector("concurrent_insert_same_position", "Both insert at the same point: the committed "
               "revision's text goes first, for an unsent edit and for one in flight (which the "
               "server refuses, its context having changed: it goes again after the other).", "ab", 1)
    v.edit(1, 0, "L")
    rev = s.commit(1, [edit("ab", 1, 0, "R")], "other-1")
    v.revisions(rev).expect(version=2, shadow="aRb", text="aRLb", inflight=False)
    v.send(2, "aRLb")
    rev = s.commit(2, [edit("aRb", 2, 0, "Q")], "other-2")
    v.revisions(rev).expect(version=3, shadow="aRQb", text="aRQLb", inflight=True)
    assert s.conflicts(2, [edit("aRb", 2, 0, "L")])  # the server refuses the tie: context changed
    v.ack(error("conflict", version=3)).expect(version=3, text="aRQLb", inflight=False)
    v.step(sync_if_asked={"since": 3, "answer": s.sync(3)})
    v.send(3, "aRQLb")
    s.commit(3, [edit("aRQb", 3, 0, "L")], "$op2", "me")
    v.ack(s.ack(4)).expect(version=4, shadow="aRQLb", text="aRQLb", inflight=False)
    return v.send()


def replace_same_word() -> Vector:
    s = Server("hello world", 1)
    v = Vector("replace_same_word", "Both replace the same word: both words survive whole, the "
               "committed one first; no letters interleaved, none lost.", "hello world", 1)
    v.edit(6, 5, "there").expect(text="hello there")
    rev = s.commit(1, [edit("hello world", 6, 5, "folks")], "other-1")
    v.revisions(rev).expect(version=2, shadow="hello folks", text="hello folksthere")
    v.send(2, "hello folksthere")
    s.commit(2, [edit("hello folks", 11, 0, "there")], "$op1", "me")
    v.ack(s.ack(3)).expect(version=3, shadow="hello folksthere", text="hello folksthere")
    return v


def conflict_resend_new_id() -> Vector:
    s = Server("hello world", 1)
    v = Vector("conflict_resend_new_id", "The in-flight patch conflicts with a revision the client "
               "has not seen: nothing is lost, the client syncs, then sends what is left against "
               "the new version with a new op id.", "hello world", 1)
    v.edit(6, 5, "there").send(1, "hello there")
    rev = s.commit(1, [edit("hello world", 6, 5, "folks")], "other-1")
    assert s.conflicts(1, [edit("hello world", 6, 5, "there")])
    v.ack(error("conflict", version=2)).expect(version=1, text="hello there", inflight=False,
                                              want_sync=True)
    v.send().step(sync_request={"since": 1}).step(sync=s.sync(1))
    v.expect(version=2, shadow="hello folks", text="hello folksthere", want_sync=False)
    v.send(2, "hello folksthere")
    s.commit(2, [edit("hello folks", 11, 0, "there")], "$op2", "me")
    v.ack(s.ack(3)).expect(version=3, shadow="hello folksthere", text="hello folksthere",
                           inflight=False)
    assert rev["version"] == 2
    return v.send()


def conflict_after_revision() -> Vector:
    s = Server("hello world", 1)
    v = Vector("conflict_after_revision", "The conflicting revision arrived before the conflict "
               "ack: the client already holds the head the ack names, so it may skip the sync; "
               "the text is resent against it with a new op id.", "hello world", 1)
    v.edit(6, 5, "there").send(1, "hello there")
    rev = s.commit(1, [edit("hello world", 6, 5, "folks")], "other-1")
    v.revisions(rev).expect(version=2, shadow="hello folks", text="hello folksthere", inflight=True)
    v.ack(error("conflict", version=2)).expect(version=2, text="hello folksthere", inflight=False)
    v.step(sync_if_asked={"since": 2, "answer": s.sync(2)})
    v.send(2, "hello folksthere")
    s.commit(2, [edit("hello folks", 11, 0, "there")], "$op2", "me")
    return v.ack(s.ack(3)).expect(version=3, shadow="hello folksthere", text="hello folksthere")


def ack_before_revision() -> Vector:
    s = Server("one two", 1)
    v = Vector("ack_before_revision", "The ack of our patch (moved over another revision) arrives "
               "before that revision: it is held until the revision fills the gap.", "one two", 1)
    v.edit(7, 0, " three").send(1, "one two three")
    rev = s.commit(1, [edit("one two", 0, 0, "zero ")], "other-1")
    s.commit(1, [edit("one two", 7, 0, " three")], "$op1", "me")
    v.ack(s.ack(3, moved=True)).expect(version=1, shadow="one two", text="one two three",
                                       inflight=True)
    v.edit(0, 0, "(").expect(text="(one two three")
    v.revisions(rev).expect(version=3, shadow="zero one two three", text="zero (one two three",
                            inflight=False, held=[])
    return v.send(3, "zero (one two three")


def revision_early() -> Vector:
    s = Server("abc", 1)
    v = Vector("revision_early", "Revisions out of order and duplicated: an early one is held "
               "until the gap before it is filled, a duplicate or old one is ignored; a gap "
               "our own patch cannot fill asks for a sync.", "abc", 1)
    r2 = s.commit(1, [edit("abc", 3, 0, "d")], "other-1")
    r3 = s.commit(2, [edit("abcd", 0, 0, ">")], "other-2")
    r4 = s.commit(3, [edit(">abcd", 5, 0, "e")], "other-3")
    v.edit(1, 0, "_")
    v.revisions(r3).expect(version=1, held=[3], text="a_bc", want_sync=True)
    v.revisions(r4, r3).expect(version=1, held=[3, 4])
    v.revisions(r2).expect(version=4, held=[], shadow=">abcde", text=">a_bcde")
    v.revisions(r2, r3, r4).expect(version=4, held=[], shadow=">abcde", text=">a_bcde")
    return v.send(4, ">a_bcde")


def revision_early_own_gap() -> Vector:
    s = Server("abc", 1)
    v = Vector("revision_early_own_gap", "A revision arrives while the version before it may "
               "be our own patch: the client waits for the ack instead of syncing.", "abc", 1)
    v.edit(0, 0, "X").send(1, "Xabc")
    s.commit(1, [edit("abc", 0, 0, "X")], "$op1", "me")
    r3 = s.commit(2, [edit("Xabc", 4, 0, "!")], "other-1")
    v.revisions(r3).expect(version=1, held=[3], want_sync=False, inflight=True)
    v.ack(s.ack(2)).expect(version=3, held=[], shadow="Xabc!", text="Xabc!", inflight=False,
                           want_sync=False)
    return v.send()


def sync_more() -> Vector:
    s = Server("", 0)
    v = Vector("sync_more", "After a reconnect the client catches up with sync pages (`more`), "
               "rebasing its unsent edit over each revision.")
    texts = ["a", "ab", "abc", "abcd"]
    prev = ""
    for i, t in enumerate(texts):
        s.commit(i, [edit(prev, len(prev), 0, t[-1])], f"other-{i + 1}")
        prev = t
    v.edit(0, 0, "中")
    v.step(reconnect={"version": 4, "text": "abcd"})
    v.expect(want_sync=True, version=0, text="中")
    v.step(sync_request={"since": 0}).step(sync=s.sync(0, upto=2))
    v.expect(version=2, shadow="ab", text="ab中", want_sync=True)
    v.step(sync_request={"since": 2}).step(sync=s.sync(2))
    v.expect(version=4, shadow="abcd", text="abcd中", want_sync=False)
    return v.send(4, "abcd中")


def duplicate_ack_then_sync() -> Vector:
    s = Server("x", 1)
    v = Vector("duplicate_ack_then_sync", "The ack was lost with the connection; the resend is "
               "answered `duplicate` with a version past another revision; the sync that fills "
               "the gap recognises our own revision by its op id.", "x", 1)
    v.edit(1, 0, "y").send(1, "xy")
    r2 = s.commit(1, [edit("x", 0, 0, "w")], "other-1")
    s.commit(1, [edit("x", 1, 0, "y")], "$op1", "me")
    v.step(reconnect={"version": 3, "text": s.text})
    v.send(1, "xy", id="$inflight")
    v.ack(s.ack(3, duplicate=True)).expect(version=1, inflight=True, want_sync=True)
    v.step(sync_request={"since": 1}).step(sync=s.sync(1))  # version 3 is "$op1": ours
    v.expect(version=3, shadow="wxy", text="wxy", inflight=False, want_sync=False, held=[])
    assert r2["version"] == 2
    return v.send()


def own_op_in_sync() -> Vector:
    s = Server("base", 1)
    v = Vector("own_op_in_sync", "A sync answer carries our own revision (its ack not yet "
               "come): recognised by op id, it confirms the op; the late ack is then ignored.",
               "base", 1)
    v.edit(4, 0, "!").send(1, "base!")
    r2 = s.commit(1, [edit("base", 0, 0, "1 ")], "other-1")
    s.commit(1, [edit("base", 4, 0, "!")], "$op1", "me")
    v.revisions(s.revs[3]).expect(version=1, held=[3], want_sync=False)
    v.step(wait=1.0, note="the gap stays open: sync").expect(want_sync=True)
    v.step(sync_request={"since": 1}).step(sync=s.sync(1))  # version 3 is "$op1": ours
    v.expect(version=3, shadow="1 base!", text="1 base!", inflight=False)
    v.ack(s.ack(3, moved=True), id="$op1").expect(version=3, shadow="1 base!", text="1 base!")
    assert r2["version"] == 2
    return v.send()


def rate_limited() -> Vector:
    s = Server("", 0)
    v = Vector("rate_limited", "Refused `rate_limited`: after `retry_after` the same op goes "
               "again with the same id and base; what was typed meanwhile waits for its ack.")
    v.edit(0, 0, "hi").send(0, "hi")
    v.ack(error("rate_limited", retry_after=0.5)).expect(inflight=True, text="hi", error=None)
    v.edit(2, 0, "!").send().step(wait=0.25).send().step(wait=0.3)
    v.send(0, "hi", id="$inflight")
    s.commit(0, [edit("", 0, 0, "hi")], "$op1", "me")
    v.ack(s.ack(1)).expect(version=1, shadow="hi", text="hi!", inflight=False)
    return v.send(1, "hi!")


def hash_mismatch() -> Vector:
    s = Server("abc", 1)
    v = Vector("hash_mismatch", "A revision whose hash does not match the text it gives: the "
               "client knows it diverged, sends nothing, and a re-join starts again from the "
               "server's text, keeping what was typed.", "abc", 1)
    v.edit(3, 0, "!")
    rev = s.commit(1, [edit("abc", 0, 0, "X")], "other-1")
    v.revisions({**rev, "hash": "00000000"}).expect(diverged=True)
    v.send()
    server_text = "?Xabc"  # the server's real text at version 3
    v.step(rejoin={"version": 3, "text": server_text})
    v.expect(diverged=False, version=3, shadow=server_text, text="?Xabc!", error=None)
    return v.send(3, "?Xabc!")


def hash_once_per_batch() -> Vector:
    s = Server("abc", 1)
    v = Vector("hash_once_per_batch", "Versions applied together (a `revisions` message, held "
               "revisions an ack releases) are checked once, at the last of them: a hash costs "
               "the whole text, and what later edits build on is the shadow there. A wrong hash "
               "at a version passed on the way is not looked at (a text that diverged there "
               "differs at the last too); a wrong hash at the last is a divergence.", "abc", 1)
    v.edit(0, 0, "_")
    r2 = s.commit(1, [edit("abc", 3, 0, "d")], "other-1")
    r3 = s.commit(2, [edit("abcd", 0, 0, ">")], "other-2")
    v.revisions({**r2, "hash": "00000000"}, r3)
    v.expect(version=3, shadow=">abcd", text=">_abcd", diverged=False)
    v.send(3, ">_abcd")
    r4 = s.commit(3, [edit(">abcd", 5, 0, "e")], "other-3")
    s.commit(3, [edit(">abcd", 1, 0, "_")], "$op1", "me")
    v.ack(s.ack(5, moved=True)).expect(version=3, inflight=True)
    v.revisions({**r4, "hash": "00000000"})
    v.expect(version=5, shadow=">_abcde", text=">_abcde", inflight=False, held=[], diverged=False)
    r6 = s.commit(5, [edit(">_abcde", 7, 0, "f")], "other-4")
    r7 = s.commit(6, [edit(">_abcdef", 0, 0, "<")], "other-5")
    v.revisions(r6, {**r7, "hash": "00000000"}).expect(version=7, diverged=True)
    return v.send()


def rejoin_keeps_typed_text() -> Vector:
    v = Vector("rejoin_keeps_typed_text", "A re-join after a divergence rebases the unsent edits "
               "onto the server's text with a three-way merge (DESIGN: never diff-match-patch's "
               "fuzzy patch_apply): an insert whose surroundings the server rewrote survives.",
               "hello world", 1)
    v.edit(5, 0, " brave")
    v.revisions(wire.revision(DOC, Revision(DOC, 2, "@@ -1,4 +1,4 @@\n-h\n+H\n ell\n", "x", "other-1", TS,
                                            "00000000")))
    v.expect(diverged=True)
    v.step(rejoin={"version": 5, "text": "HELLO WORLD"})
    return v.expect(diverged=False, version=5, shadow="HELLO WORLD", text="HELLO brave WORLD")


def reconnect() -> Vector:
    s = Server("abc", 1)
    v = Vector("reconnect", "The connection drops with a patch in flight: after the re-join the "
               "same op goes again with the same id and base, then a sync catches up.", "abc", 1)
    v.edit(3, 0, "d").send(1, "abcd")
    r2 = s.commit(1, [edit("abc", 0, 0, "_")], "other-1")
    v.step(reconnect={"version": 2, "text": s.text}).expect(version=1, inflight=True, want_sync=True)
    v.send(1, "abcd", id="$inflight")
    v.step(sync_request={"since": 1}).step(sync=s.sync(1))
    v.expect(version=2, shadow="_abc", text="_abcd", inflight=True)
    s.commit(1, [edit("abc", 3, 0, "d")], "$op1", "me")
    v.ack(s.ack(3, moved=True)).expect(version=3, shadow="_abcd", text="_abcd", inflight=False)
    assert r2["version"] == 2
    return v.send()


def revision_before_join_answer() -> Vector:
    s = Server("abc", 1)
    v = Vector("revision_before_join_answer", "After a reconnect, revisions the server committed "
               "after its join answer's snapshot arrive before that answer: they are kept (the "
               "server is behind only what we had when we asked), and the answer's older text "
               "never replaces them.", "abc", 1)
    v.edit(3, 0, "!")
    v.step(disconnect=True)
    joined = {"version": 1, "text": s.text}
    r2 = s.commit(1, [edit("abc", 0, 0, ">")], "other-1")
    v.revisions(r2).expect(version=2, shadow=">abc", text=">abc!")
    v.step(joined=joined).expect(version=2, shadow=">abc", text=">abc!", diverged=False, want_sync=False)
    return v.send(2, ">abc!")


def refused_hold(code: str) -> Vector:
    s = Server("abc", 1)
    v = Vector(f"refused_{code}", f"Refused `{code}`: nothing was applied; the text is kept and "
               "not sent again as it is, but the next edit sends what remains (no Retry needed); "
               "the error is shown until something is saved.", "abc", 1)
    v.edit(0, 0, ">").send(1, ">abc").ack(error(code))
    v.expect(error=code, stuck=code, inflight=False, text=">abc", shadow="abc", version=1).send()
    v.edit(4, 0, "!").expect(text=">abc!").send(1, ">abc!")
    s.commit(1, diff_edits("abc", ">abc!"), "$op2", "me")
    return v.ack(s.ack(2)).expect(version=2, shadow=">abc!", error=None, stuck=None).send()


def refused_undone() -> Vector:
    s = Server("abc", 1)
    v = Vector("refused_too_large_undone", "A paste refused `too_large`, then undone: nothing is "
               "left to send and the error goes; typing then saves, without any Retry.", "abc", 1)
    v.edit(3, 0, "PASTE").send(1, "abcPASTE").ack(error("too_large"))
    v.expect(error="too_large", stuck="too_large").send()
    v.edit(3, 5, "").expect(text="abc").send().expect(error=None, stuck=None, unsaved=0)
    v.edit(3, 0, "d").send(1, "abcd")
    s.commit(1, [edit("abc", 3, 0, "d")], "$op2", "me")
    return v.ack(s.ack(2)).expect(version=2, shadow="abcd", text="abcd", error=None)


def refused_retry(code: str) -> Vector:
    s = Server("", 0)
    v = Vector(f"refused_{code}", f"Refused `{code}`: nothing was applied; the same op goes again "
               "with the same id after a backoff (1 s, then 2 s, ...), what was typed meanwhile "
               "waits for its ack, and the error goes once it is saved.")
    v.edit(0, 0, "hi").send(0, "hi").ack(error(code))
    v.expect(inflight=True, error=code, stuck=None, wake_at=1.0).edit(2, 0, "!").send()
    v.step(wait=1.0).send(0, "hi", id="$inflight").ack(error(code)).expect(wake_at=3.0)
    v.step(wait=1.5).send().step(wait=0.5).send(0, "hi", id="$inflight")
    s.commit(0, [edit("", 0, 0, "hi")], "$op1", "me")
    v.ack(s.ack(1)).expect(version=1, shadow="hi", text="hi!", error=None)
    return v.send(1, "hi!")


def no_answer() -> Vector:
    s = Server("", 0)
    v = Vector("no_answer", "No answer in time (the transport hands in a null ack): retried like "
               "`internal`, with the same op id; the late real ack of it is then taken.")
    v.edit(0, 0, "x").send(0, "x").ack(None).expect(inflight=True, error="timeout")
    v.send().step(wait=1.0).send(0, "x", id="$inflight")
    s.commit(0, [edit("", 0, 0, "x")], "$op1", "me")
    return v.ack(s.ack(1)).expect(version=1, shadow="x", inflight=False, error=None).send()


def refused_rejoin(code: str) -> Vector:
    v = Vector(f"refused_{code}", f"Refused `{code}`: nothing was applied; the client must join "
               "again, keeps its text, and sends it against the server's text after the join.",
               "abc", 1)
    v.edit(3, 0, "d").send(1, "abcd").ack(error(code))
    v.expect(inflight=False, text="abcd", diverged=True, error=code).send()
    v.step(rejoin={"version": 1, "text": "abc"})
    return v.expect(diverged=False, error=None, text="abcd").send(1, "abcd")


def refused_read_only() -> Vector:
    v = Vector("refused_read_only", "Refused `read_only` (the link became a view link): nothing "
               "was applied; the text is kept, nothing is sent, further local edits are refused "
               "at once; joined again as an editor, what was typed goes.", "abc", 1)
    v.edit(0, 0, ">").send(1, ">abc").ack(error("read_only"))
    v.expect(error="read_only", stuck="read_only", inflight=False, text=">abc", shadow="abc").send()
    v.step(edit_refused=[0, 0, "x"]).expect(text=">abc")
    v.step(rejoin={"version": 1, "text": "abc", "role": "editor"})
    return v.expect(error=None, stuck=None).send(1, ">abc")


def viewer_edit_refused() -> Vector:
    v = Vector("viewer_edit_refused", "A viewer's local edit is refused at once (never accepted "
               "and refused later): its text stays the server's.", "abc", 1)
    v.step(rejoin={"version": 1, "text": "abc", "role": "viewer"})
    v.step(edit_refused=[0, 0, "x"]).expect(text="abc", unsaved=0).send()
    r2 = Server("abc", 1).commit(1, [edit("abc", 3, 0, "!")], "other-1")
    return v.revisions(r2).expect(version=2, text="abc!").send()


def duplicate_ack_with_patch() -> Vector:
    s = Server("x", 1)
    v = Vector("duplicate_ack_with_patch", "The resend after a reconnect is answered `duplicate` "
               "at the next version, with the canonical patch: applied at once, no sync needed.",
               "x", 1)
    v.edit(1, 0, "y").send(1, "xy")
    s.commit(1, [edit("x", 1, 0, "y")], "$op1", "me")
    v.step(reconnect={"version": 1, "text": "x"}).send(1, "xy", id="$inflight")
    v.ack(s.ack(2, duplicate=True)).expect(version=2, shadow="xy", inflight=False, want_sync=False)
    return v.send()


def seen() -> Vector:
    s = Server("", 0)
    v = Vector("seen", "`seen` confirms the version cumulatively, at most every 0.25 s.")
    v.step(seen=None)
    r1 = s.commit(0, [edit("", 0, 0, "a")], "other-1")
    r2 = s.commit(1, [edit("a", 1, 0, "b")], "other-2")
    v.revisions(r1).step(seen={"version": 1}).revisions(r2).step(seen=None)
    v.step(wait=0.1).step(seen=None).expect(wake_at=0.25).step(wait=0.15)
    return v.step(seen={"version": 2}).step(seen=None)


def split_paste() -> Vector:
    s = Server("ab", 1)
    paste = "中文字符" * 100  # 400 code points, 3,600 characters once escaped
    v = Vector("split_paste", "A paste too big for one message (the join announced a patch limit "
               "of 2,000 characters) goes as several patches, each within the limit, one after "
               "the other; the text is whole at the end.", "ab", 1)
    v.step(rejoin={"version": 1, "text": "ab", "limits": {"patch": 2000, "hunks": 50, "doc": 10_000}})
    v.edit(1, 0, paste)
    done = 0
    base = 1
    shadow = "ab"
    while done < len(paste):
        # a chunk's budget is half the limit: 1,000 escaped characters, less 100 for the change
        take = min(len(paste) - done, (1000 - 100) // 9)
        result = "a" + paste[: done + take] + "b"
        v.step(send={"base": base, "result": result, "id": "$new", "max_patch": 2000})
        s.commit(base, diff_edits(shadow, result), f"$op{base}", "me")
        base += 1
        v.ack(s.ack(base))
        done += take
        shadow = result
    return v.expect(shadow="a" + paste + "b", text="a" + paste + "b", inflight=False).send()


def split_changes() -> Vector:
    s = Server("0123456789" * 8, 1)
    start = s.text
    v = Vector("split_changes", "A change at more places than one patch may carry (the join announced a "
               "limit of 12 lines: 3 changes a patch, as one alone in its hunk takes 4, its header, "
               "context, itself and context) goes as several patches, each within the limit, one after "
               "the other; the text is whole at the end.", start, 1)
    v.step(rejoin={"version": 1, "text": start, "limits": {"lines": 12}})
    # 7 inserts 10 apart (each its own hunk) and a replacement, which is 2 changes (an insert
    # and a delete), typed from the end so that each position is the starting text's
    places = [(5, 0, "X"), (15, 0, "X"), (25, 0, "X"), (35, 0, "X"), (45, 1, "Y"), (55, 0, "X"),
              (65, 0, "X"), (75, 0, "X")]
    for place in reversed(places):
        v.edit(*place)
    # 3 changes a patch, in the text's order: X X X | X, then Y and its delete | X X X
    base, shadow = 1, start
    for done in (3, 5, 8):
        result = apply_edits(start, [edit(start, *p) for p in places[:done]])
        v.step(send={"base": base, "result": result, "id": "$new", "max_lines": 12})
        s.commit(base, diff_edits(shadow, result), f"$op{base}", "me")
        base += 1
        v.ack(s.ack(base))
        shadow = result
    return v.expect(shadow=shadow, text=shadow, inflight=False).send()


def doc_limit() -> Vector:
    s = Server("abc", 1)
    v = Vector("doc_limit", "An edit that would make the document longer than the limit the join "
               "announced (10 code points) is not sent: the text is kept, the error says so; "
               "once undone, typing saves again.", "abc", 1)
    v.step(rejoin={"version": 1, "text": "abc", "limits": {"doc": 10}})
    v.edit(3, 0, "12345678").send().expect(error="too_large", stuck="too_large", text="abc12345678")
    v.edit(3, 8, "").send().expect(error=None).edit(3, 0, "!").send(1, "abc!")
    s.commit(1, [edit("abc", 3, 0, "!")], "$op1", "me")
    return v.ack(s.ack(2)).expect(version=2, shadow="abc!", error=None)


def future_base() -> Vector:
    v = Vector("future_base", "Refused `future_base`: the server is behind the client (restored "
               "from a backup). Nothing was applied; the client must re-join, and keeps its text.",
               "abc", 3)
    v.edit(3, 0, "d").send(3, "abcd").ack(error("future_base", version=1))
    v.expect(inflight=False, text="abcd", diverged=True).send()
    v.step(rejoin={"version": 1, "text": "ab"})
    return v.expect(version=1, shadow="ab", text="abd", diverged=False, error=None).send(1, "abd")


def refused_deleted() -> Vector:
    v = Vector("refused_deleted", "Refused `deleted` (the document was deleted and the `gone` "
               "message was missed): the client stops for good. Nothing was applied; the text "
               "and the count of unsaved changes stay, to be copied; nothing is sent, resent, "
               "synced or confirmed again, however long it waits, and no re-join is asked for.",
               "abc", 1)
    v.edit(0, 0, ">").send(1, ">abc").ack(error("deleted"))
    v.expect(gone="deleted", inflight=False, text=">abc", shadow="abc", unsaved=1, diverged=False,
             want_sync=False, wake_at=None).send()
    v.edit(4, 0, "!").expect(text=">abc!", unsaved=2).send().step(wait=60.0).send()
    r2 = Server("abc", 1).commit(1, [edit("abc", 3, 0, "?")], "other-1")
    v.revisions(r2).expect(version=1, text=">abc!", want_sync=False).step(sync_request=None)
    return v.step(seen=None).expect(gone="deleted", diverged=False, wake_at=None)


def sync_deleted() -> Vector:
    s = Server("abc", 1)
    r2 = s.commit(1, [edit("abc", 0, 0, "x")], "other-1")
    r3 = s.commit(2, [edit("xabc", 4, 0, "y")], "other-2")
    v = Vector("sync_deleted", "A sync answered `deleted`: the client stops for good, not asking "
               "again a second later; its text stays, nothing is sent.", "abc", 1)
    v.edit(3, 0, "!").revisions(r3).expect(held=[3], want_sync=True).step(sync_request={"since": 1})
    v.step(sync=error("deleted")).expect(gone="deleted", held=[], text="abc!", unsaved=1)
    v.step(wait=2.0).step(sync_request=None).send().expect(want_sync=False, wake_at=None)
    return v.revisions(r2).expect(version=1, text="abc!")


def gone_message() -> Vector:
    s = Server("abc", 1)
    v = Vector("gone_message", "A `gone` message while a patch is in flight: the client stops for "
               "good; the late ack of that patch changes nothing, a re-join answer is not taken, "
               "and the text typed stays, to be copied.", "abc", 1)
    v.edit(3, 0, "d").send(1, "abcd").expect(inflight=True)
    v.step(gone=wire.gone(DOC, gone_error("deleted").to_dict())["error"])
    v.expect(gone="deleted", inflight=False, text="abcd", unsaved=1, wake_at=None).send()
    s.commit(1, [edit("abc", 3, 0, "d")], "$op1", "me")
    v.ack(s.ack(2), id="$op1").expect(version=1, shadow="abc", text="abcd", gone="deleted")
    v.step(reconnect={"version": 2, "text": "abcd"}).expect(version=1, text="abcd").send()
    return v.step(sync_request=None).step(seen=None)


def refused_gone(code: str) -> Vector:
    v = Vector(f"refused_{code}", f"Refused `{code}` (the document's access no longer admits this "
               "person, and the `gone` message was missed): the client stops for good, as after "
               "`deleted`; the text stays, to be copied, and nothing is sent again.", "abc", 1)
    v.edit(0, 0, ">").send(1, ">abc").ack(error(code))
    v.expect(gone=code, inflight=False, text=">abc", shadow="abc", unsaved=1, wake_at=None).send()
    return v.step(wait=60.0).send().step(sync_request=None).step(seen=None)


def gone_access() -> Vector:
    v = Vector("gone_access", "A `gone` message saying `forbidden` (the owner removed this person): "
               "the client stops for good; what was typed stays, to be copied.", "abc", 1)
    v.edit(3, 0, "d").send(1, "abcd").expect(inflight=True)
    v.step(gone=error("forbidden")["error"])
    return v.expect(gone="forbidden", inflight=False, text="abcd", unsaved=1, wake_at=None).send()


def role_changed() -> Vector:
    s = Server("abc", 1)
    v = Vector("role_changed", "A `role` message makes an editor a viewer without a join: its patch "
               "already in flight is still acknowledged, later local edits are refused at once and "
               "nothing is sent; made an editor again, it writes again.", "abc", 1)
    v.edit(3, 0, "d").send(1, "abcd")
    v.step(role="viewer")
    s.commit(1, [edit("abc", 3, 0, "d")], "$op1", "me")
    v.ack(s.ack(2)).expect(version=2, text="abcd", inflight=False)
    v.step(edit_refused=[0, 0, "x"]).expect(text="abcd", unsaved=0).send()
    v.step(role="editor").edit(0, 0, ">")
    return v.expect(text=">abcd", error=None).send(2, ">abcd")


def refused_read_only_then_role() -> Vector:
    v = Vector("refused_read_only_then_role", "A patch refused `read_only` after the owner made this "
               "editor a viewer: the text is kept, nothing is sent; a `role: editor` message (no "
               "join) sends what was typed.", "abc", 1)
    v.edit(0, 0, ">").step(role="viewer").send()
    v.step(role="editor").send(1, ">abc").ack(error("read_only"))
    v.expect(error="read_only", stuck="read_only", text=">abc").send()
    v.step(role="editor").expect(error=None, stuck=None)
    return v.send(1, ">abc")


VECTORS = [round_trip, emoji_pair, unicode_multi, cjk, combining, rtl, concurrent_insert_same_position,
           replace_same_word, conflict_resend_new_id, conflict_after_revision, ack_before_revision,
           revision_early, revision_early_own_gap, sync_more, duplicate_ack_then_sync,
           own_op_in_sync, rate_limited, hash_mismatch, hash_once_per_batch, rejoin_keeps_typed_text, reconnect,
           revision_before_join_answer, future_base,
           # every other error code of the contract (conflict, rate_limited, future_base: above)
           lambda: refused_hold("too_large"), lambda: refused_hold("bad_patch"),
           lambda: refused_hold("bad_request"), refused_undone, lambda: refused_retry("internal"),
           lambda: refused_retry("doc_corrupt"), no_answer, lambda: refused_rejoin("not_joined"),
           lambda: refused_rejoin("bad_doc"), refused_read_only, viewer_edit_refused,
           duplicate_ack_with_patch, seen, split_paste, split_changes, doc_limit,
           # `deleted`: the one refusal that stops a client for good
           refused_deleted, sync_deleted, gone_message,
           # per-document permissions: refused or removed by the access, and a role changed live
           lambda: refused_gone("forbidden"), lambda: refused_gone("sign_in_required"), gone_access,
           role_changed, refused_read_only_then_role]


def dump(data: dict) -> str:
    """JSON with one step per line, so a vector reads as the sequence of events it is."""
    head = {k: v for k, v in data.items() if k != "steps"}
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    steps = [f"  {json.dumps(step, ensure_ascii=False)}" for step in data["steps"]]
    text = "{\n" + "\n".join(lines) + '\n "steps": [\n' + ",\n".join(steps) + "\n ]\n}\n"
    assert json.loads(text) == data
    return text


def render() -> dict[str, str]:
    out = {}
    for make in VECTORS:
        data = make().data
        out[f"{data['name']}.json"] = dump(data)
    return out


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, t in files.items() if not (HERE / n).exists() or (HERE / n).read_text("utf-8") != t]
        extra = [p.name for p in HERE.glob("*.json") if p.name not in files]
        if stale or extra:
            print(f"out of date: {stale + extra}; run python tests/vectors/generate.py", file=sys.stderr)
            return 1
        return 0
    for p in HERE.glob("*.json"):
        if p.name not in files:
            p.unlink()
    for name, text in files.items():
        (HERE / name).write_text(text, "utf-8")
    print(f"wrote {len(files)} vectors to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
