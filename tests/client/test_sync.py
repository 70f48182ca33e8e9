"""The client state machine (collab/client/state.py) driven against the real document service,
with messages delivered late, out of order, or lost, as orderings chosen by a seed."""
import os
import random

import pytest

from collab.core import wire
from collab.core.config import Settings
from collab.core.errors import CollabError
from collab.service.documents import DocumentService
from collab.storage.sqlite import SQLiteStore
from collab.client.state import GAP_PATIENCE, SyncClient

SEEDS = int(os.environ.get("COLLAB_TEST_SEEDS", "12"))  # more for a longer hunt


class Network:
    """One authority (the real service) and clients whose inboxes we control."""

    def __init__(self, tmp_path, n_clients, rng, settings=None):
        self.rng = rng
        self.now = 0.0
        self.service = DocumentService(SQLiteStore(str(tmp_path / "sync.db")), settings or Settings(),
                                       on_commit=self._fanout)
        self.patches = []  # the patch texts served, in order
        self.state = self.service.open("doc", create=True)
        self.clients = [SyncClient(new_id=self._new_id) for _ in range(n_clients)]
        self.inbox = [[] for _ in range(n_clients)]  # messages on their way to client i
        self.outbox = [[] for _ in range(n_clients)]  # messages from client i to the server
        self._ids = 0
        self._author = None

    def _new_id(self):
        self._ids += 1
        return f"op{self._ids}"

    def _fanout(self, state, committed):
        for rev, origin in committed:
            message = wire.revision("doc", rev)
            for i in range(len(self.clients)):
                if i != origin:
                    self.inbox[i].append(("revision", message))

    def pump(self, i):
        c = self.clients[i]
        msg = c.take_patch(self.now)
        if msg is not None:
            self.outbox[i].append(("patch", msg))
        req = c.take_sync(self.now)
        if req is not None:
            self.outbox[i].append(("sync", req))

    def serve_one(self, i):
        kind, msg = self.outbox[i].pop(0)
        if kind == "patch":
            self.patches.append(msg["patch"])
            try:
                r = self.service.submit(self.state, msg["base"], msg["patch"], msg["id"], f"c{i}", origin=i)
                ack = wire.patch_ack(r.version, r.hash, r.patch if r.rebased or r.duplicate else None,
                                     duplicate=r.duplicate)
            except CollabError as exc:
                ack = wire.error_ack(exc.code, exc.message, exc.extra)
            self.inbox[i].append(("ack", (msg["id"], ack)))
        else:
            revs = self.service.revisions(self.state, msg["since"], 5)  # small pages: exercise `more`
            answer = wire.sync_ack(self.state.committed, [wire.revision("doc", r) for r in revs])
            self.inbox[i].append(("sync", answer))

    def deliver_one(self, i, in_order=True):
        box = self.inbox[i]
        kind, payload = box.pop(0 if in_order else self.rng.randrange(len(box)))
        c = self.clients[i]
        if kind == "ack":
            c.receive_ack(payload[1], payload[0], self.now)
        elif kind == "revision":
            c.receive_revisions([payload], self.now)
        else:
            c.receive_sync(payload, self.now)
        assert c.needs_rejoin() is None, "a client's text hash differed from the server's"

    def reconnect(self, i):
        """The connection drops: everything in flight either way is lost; the client
        re-joins, resends its in-flight patch with the same op id, and syncs."""
        self.inbox[i].clear()
        self.outbox[i].clear()
        c = self.clients[i]
        c.disconnected()
        c.receive_join({"ok": True, "doc": "doc", "role": "editor", "version": self.state.committed,
                        "text": self.state.committed_text})

    def settle(self):
        for _ in range(10_000):
            self.now += GAP_PATIENCE
            busy = False
            for i in range(len(self.clients)):
                self.pump(i)
                while self.outbox[i]:
                    self.serve_one(i)
                    busy = True
                while self.inbox[i]:
                    self.deliver_one(i)
                    busy = True
            if not busy and all(c.synced for c in self.clients):
                return
        raise AssertionError("the network did not settle")


def random_edit(rng, c, token=None):
    text = c.text
    if token is not None:  # between two tokens, never inside one
        c.local_edit(rng.choice([0] + [i + 1 for i, ch in enumerate(text) if ch == " "]), 0, token)
    elif text and rng.random() < 0.35:
        pos = rng.randrange(len(text))
        c.local_edit(pos, min(rng.randint(1, 4), len(text) - pos), rng.choice(["", "é", "😀"]))
    else:
        c.local_edit(rng.randint(0, len(text)), 0, rng.choice(["a", "bc", "😀😁", "中文", "\n", "e\u0301"]))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_orderings_converge(tmp_path, seed):
    rng = random.Random(seed)
    net = Network(tmp_path, 4, rng)
    for _ in range(400):
        i = rng.randrange(4)
        roll = rng.random()
        if roll < 0.35:
            random_edit(rng, net.clients[i])
        elif roll < 0.55:
            net.pump(i)
        elif roll < 0.75 and net.outbox[i]:
            net.serve_one(i)
        elif roll < 0.97 and net.inbox[i]:
            net.deliver_one(i, in_order=rng.random() < 0.7)
        elif roll >= 0.97:
            net.reconnect(i)
        net.now += rng.random() * 0.3
    net.settle()
    server_text = net.state.committed_text
    for c in net.clients:
        assert c.text == c.shadow == server_text
        assert c.version == net.state.committed


@pytest.mark.parametrize("seed", range(SEEDS // 2))
def test_nothing_typed_is_lost_or_doubled(tmp_path, seed):
    """Only inserts of unique tokens, with lost messages and reconnects: each appears once."""
    rng = random.Random(100 + seed)
    net = Network(tmp_path, 3, rng)
    typed = []
    for n in range(300):
        i = rng.randrange(3)
        roll = rng.random()
        if roll < 0.3:
            token = f"<{i}.{n}> "
            typed.append(token)
            random_edit(rng, net.clients[i], token)
        elif roll < 0.5:
            net.pump(i)
        elif roll < 0.7 and net.outbox[i]:
            net.serve_one(i)
        elif roll < 0.95 and net.inbox[i]:
            net.deliver_one(i, in_order=rng.random() < 0.7)
        elif roll >= 0.95:
            net.reconnect(i)
    net.settle()
    final = net.state.committed_text
    for token in typed:
        assert final.count(token) == 1, token


def hello_world(tmp_path):
    """Two clients that both hold "hello world" at version 1."""
    net = Network(tmp_path, 2, random.Random(0))
    a, b = net.clients
    a.local_edit(0, 0, "hello world")
    net.pump(0)
    net.serve_one(0)
    net.settle()
    return net, a, b


def test_concurrent_replacements_of_one_word_are_merged_and_both_kept(tmp_path):
    net, a, b = hello_world(tmp_path)
    # both edit the same word while neither has seen the other's change
    a.local_edit(6, 5, "there")
    b.local_edit(6, 5, "folks")
    net.pump(0)
    net.pump(1)
    net.serve_one(0)
    net.serve_one(1)  # b's hunk overlaps a's revision: merged on the exact base, not refused
    kind, (op, ack) = net.inbox[1][-1]
    assert kind == "ack" and ack["ok"] and ack["version"] == 3 and "patch" in ack
    net.settle()
    assert a.text == b.text == net.state.committed_text == "hello therefolks"


def test_a_patch_that_does_not_fit_its_base_is_a_conflict_and_nothing_is_lost(tmp_path):
    net, a, b = hello_world(tmp_path)
    b.local_edit(6, 5, "folks")
    b.shadow = "hello WORLD"  # b believes in another text at version 1: its patch cannot apply
    net.pump(1)
    net.serve_one(1)
    kind, (op, ack) = net.inbox[1][-1]
    assert kind == "ack" and ack["error"]["code"] == "conflict" and ack["error"]["version"] == 1
    b.receive_ack(ack, op)
    assert b.needs_rejoin() == "conflict"  # refused against the very text it holds: it must start again
    assert "folks" in b.text  # and the typed text stays


def test_an_ack_ahead_of_a_missing_revision_waits_for_it(tmp_path):
    net = Network(tmp_path, 2, random.Random(0))
    a, b = net.clients
    a.local_edit(0, 0, "A")
    b.local_edit(0, 0, "B")
    net.pump(0)
    net.pump(1)
    net.serve_one(0)  # version 1 (A)
    net.serve_one(1)  # version 2 (B, moved over A)
    # b gets its ack (version 2) before a's revision 1
    net.inbox[1].reverse()
    net.deliver_one(1)
    assert b.version == 0 and not b.synced
    net.deliver_one(1)
    assert b.version == 2 and b.text == net.state.committed_text == "AB"


def test_a_rewrite_at_more_places_than_one_patch_may_carry_is_saved_in_several(tmp_path):
    """Every word of a text rewritten in one set_text (the Python client diffs whole texts),
    against a server whose patches may have at most 40 lines (COLLAB_MAX_PATCH_LINES, as the
    join answer announces it): before, one patch of 300 changes, refused `too_large`, and the
    client held it for good. Now patches of at most 10 changes, each saved."""
    settings = Settings(max_patch_lines=40)
    net = Network(tmp_path, 1, random.Random(1), settings)
    c = net.clients[0]
    c.receive_join({"ok": True, "doc": "doc", "role": "editor", "version": 0, "text": "",
                    "limits": wire.limits(settings.max_patch_chars, settings.max_hunks, settings.max_doc_chars, 40)},
                   fresh=True)
    words = [f"word{i:03d}" for i in range(300)]
    c.set_text(" ".join(words))
    net.settle()
    rewritten = " ".join(f"{w}!" for w in words)  # 300 places, each its own hunk
    c.set_text(rewritten)
    net.settle()
    assert c.error is None and c.text == c.shadow == net.state.committed_text == rewritten
    rewrite = net.patches[1:]
    assert len(rewrite) >= 300 // 10 and max(p.count("\n") for p in rewrite) <= 40, [p.count("\n") for p in rewrite]
