"""Text that a restore or a revert brings back keeps the author who wrote it (issue 13 item 8).

First the issue's scenario through the real HTTP API and socket; then seeded random
histories of edits by several authors, restores and reverts, checked against a plain
per-code-point model: every code point is a unique atom, so the text itself says who
wrote each part.
"""
from __future__ import annotations

import random

import pytest

from collab.core.patches import Edit, apply_patch, make_patch, parse_patch, patch_from_edits, text_hash


@pytest.fixture
def http(app):
    return app.test_client()


def join(client, doc, **extra):
    ack = client.emit("join", {"doc": doc, **extra}, callback=True)
    assert ack["ok"], ack
    return ack


def write(client, doc, base, old, new, op):
    ack = client.emit("patch", {"doc": doc, "base": base, "patch": make_patch(old, new), "id": op}, callback=True)
    assert ack["ok"], ack
    return ack


def blamed(http, doc, version=None):
    """{text of each span: author} of a version, and the text it covers."""
    q = "" if version is None else f"?version={version}"
    spans = http.get(f"/api/docs/{doc}/blame{q}").get_json()["spans"]
    text = http.get(f"/api/docs/{doc}").get_json()["text"] if version is None else \
        http.get(f"/api/docs/{doc}/versions/{version}").get_json()["text"]
    return [(text[s["start"]:s["end"]], s["author"]) for s in spans]


def authors_of(pairs, needle):
    """The authors blame names for the code points of `needle` (which must occur once)."""
    text = "".join(t for t, _ in pairs)
    at = text.index(needle)
    assert text.find(needle, at + 1) == -1
    names, pos = set(), 0
    for t, who in pairs:
        if pos < at + len(needle) and at < pos + len(t):
            names.add(who)
        pos += len(t)
    return names


ANN = "Ann wrote this paragraph first. "
BOB_1 = "(Bob edit) Then Bob adds a sentence that ends the parag"
BOB_2 = "raph."


@pytest.fixture
def scenario(connect, doc_id, http):
    """Ann writes; Bob writes a sentence in two revisions (the first stops mid-word); Cy
    restores the version where it stops mid-word, then the later one (socket, then HTTP)."""
    ann, bob, cy = connect(), connect(), connect()
    join(ann, doc_id, name="Ann")
    join(bob, doc_id, name="Bob")
    join(cy, doc_id, name="Cy")
    texts = ["", ANN, ANN + BOB_1, ANN + BOB_1 + BOB_2]
    write(ann, doc_id, 0, texts[0], texts[1], "a-1")
    write(bob, doc_id, 1, texts[1], texts[2], "b-1")
    write(bob, doc_id, 2, texts[2], texts[3], "b-2")
    ack = cy.emit("restore", {"doc": doc_id, "version": 2}, callback=True)
    assert ack["ok"] and ack["version"] == 4, ack
    r = http.post(f"/api/docs/{doc_id}/restore", json={"version": 3, "name": "Cy"})
    assert r.status_code == 201 and r.get_json()["version"] == 5
    assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == texts[3]
    return doc_id, texts


def test_blame_names_bob_for_the_words_a_restore_brought_back(http, scenario):
    doc, _ = scenario
    pairs = blamed(http, doc)
    assert authors_of(pairs, "(Bob edit) ") == {"Bob"}
    assert authors_of(pairs, "ends the parag") == {"Bob"} and authors_of(pairs, "raph.") == {"Bob"}
    assert authors_of(pairs, ANN) == {"Ann"}
    assert "Cy" not in {who for _, who in pairs}
    # the restore of version 2 (Cy's version 4) gave Bob's half sentence back to Bob too
    assert "Cy" not in {who for _, who in blamed(http, doc, 4)}
    spans = http.get(f"/api/docs/{doc}/blame").get_json()["spans"]
    assert {s["version"] for s in spans} == {1, 2, 3}  # the versions that first wrote them


def test_reverting_bob_after_the_restores_leaves_exactly_anns_text(http, scenario):
    doc, texts = scenario
    preview = http.get(f"/api/docs/{doc}/revert?author=Bob&since=0").get_json()
    assert preview["text"] == ANN
    # the preview's edits are what the revert does: it takes out Bob's text, brings back nothing
    assert preview["edits"] == [{"pos": len(ANN), "delete": BOB_1 + BOB_2, "insert": ""}]
    assert apply_patch(texts[3], parse_patch(preview["patch"]))[0] == ANN
    r = http.post(f"/api/docs/{doc}/revert", json={"author": "Bob", "since": 0, "name": "Dee"})
    assert r.status_code == 201
    assert http.get(f"/api/docs/{doc}").get_json()["text"] == ANN
    assert {who for _, who in blamed(http, doc)} == {"Ann"}


def test_reverting_the_restorer_changes_nothing_they_did_not_write(http, scenario):
    doc, texts = scenario
    # Cy only restored: taking Cy's changes out goes back to before the first restore,
    # which is the same text (the second restore undid the first)
    preview = http.get(f"/api/docs/{doc}/revert?author=Cy&since=0").get_json()
    assert preview["text"] == texts[3] and preview["edits"] == []
    # reverting Cy's first restore alone (since 3: only the two restores) is the same
    assert http.get(f"/api/docs/{doc}/revert?author=Cy&since=3").get_json()["text"] == texts[3]


# -- storage: the attribution column, and databases made before it -----------------------

OLD_DOCUMENTS = """CREATE TABLE documents (id TEXT PRIMARY KEY, view_token TEXT NOT NULL UNIQUE,
    head INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL)"""
OLD_REVISIONS = """CREATE TABLE revisions (doc TEXT NOT NULL, version INTEGER NOT NULL, patch TEXT NOT NULL,
    author TEXT NOT NULL, op_id TEXT NOT NULL, ts REAL NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (doc, version), UNIQUE (doc, op_id))"""


def _stored_round_trip(store, doc):
    from collab.storage import NewRevision, Revision

    old = store.revisions(doc, 0, 10)
    restore = Revision(doc, len(old) + 1, make_patch("", "x"), "Cy", "restore-1", 2.0, "0", attribution="[1,0,1]")
    store.append([NewRevision(restore, None)])
    return old, store.revisions(doc, 0, 10)


def test_an_sqlite_database_from_before_gets_the_column_and_keeps_its_rows(tmp_path, doc_id):
    import sqlite3

    from collab.storage.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(OLD_DOCUMENTS)
    db.execute(OLD_REVISIONS)
    db.execute("INSERT INTO documents VALUES (?, 'view', 1, 1.0, 1.0)", (doc_id,))
    db.execute("INSERT INTO revisions VALUES (?, 1, ?, 'Ann', 'op-1', 1.0, '0')", (doc_id, make_patch("", "x")))
    db.commit()
    db.close()
    store = SQLiteStore(str(path))
    try:
        old, now = _stored_round_trip(store, doc_id)
        assert [(r.version, r.author, r.attribution) for r in old] == [(1, "Ann", None)]
        assert [(r.version, r.attribution) for r in now] == [(1, None), (2, "[1,0,1]")]
    finally:
        store.close()
    SQLiteStore(str(path)).close()  # opening it again migrates nothing twice


def test_a_postgres_database_from_before_gets_the_column_and_keeps_its_rows(pg_url, doc_id):
    import psycopg

    from collab.storage.postgres import PostgresStore

    with psycopg.connect(pg_url, autocommit=True) as db:
        db.execute(OLD_DOCUMENTS.replace("REAL", "DOUBLE PRECISION"))
        db.execute(OLD_REVISIONS.replace("REAL", "DOUBLE PRECISION"))
        db.execute("INSERT INTO documents VALUES (%s, 'view', 1, 1.0, 1.0)", (doc_id,))
        db.execute("INSERT INTO revisions VALUES (%s, 1, %s, 'Ann', 'op-1', 1.0, '0')", (doc_id, make_patch("", "x")))
    store = PostgresStore(pg_url)
    try:
        old, now = _stored_round_trip(store, doc_id)
        assert [(r.version, r.author, r.attribution) for r in old] == [(1, "Ann", None)]
        assert [(r.version, r.attribution) for r in now] == [(1, None), (2, "[1,0,1]")]
    finally:
        store.close()
    PostgresStore(pg_url).close()


# -- seeded random histories against a plain model ----------------------------------------


class Model:
    """The reference: every code point is a unique atom; `order` holds every atom ever
    typed (deleted ones too) in the order all versions share; each atom's log lists the
    changes made to it as (version, author, visible after)."""

    def __init__(self) -> None:
        self.next = 0x4E00
        self.texts: list[list[str]] = [[]]  # texts[v]: the atoms of version v
        self.order: list[str] = []
        self.log: dict[str, list[tuple[int, str, bool]]] = {}
        self.authors: list[str] = [""]  # authors[v]: who made version v

    @property
    def text(self) -> str:
        return "".join(self.texts[-1])

    def wrote(self, atom: str) -> tuple[int, str]:
        """(version, author) of the revision that typed the atom."""
        return self.log[atom][0][:2]

    def _commit(self, author: str, atoms: list[str]) -> None:
        version = len(self.texts)
        before, after = set(self.texts[-1]), set(atoms)
        for a in before ^ after:
            self.log.setdefault(a, []).append((version, author, a in after))
        self.texts.append(atoms)
        self.authors.append(author)

    def edit(self, author: str, i: int, j: int, n: int) -> Edit:
        """Replace atoms i..j of the head by n new ones: the edit as a client sends it."""
        cur = self.texts[-1]
        new = [chr(self.next + k) for k in range(n)]
        self.next += n
        # new atoms go just before the atom after the edit (after any deleted ones there)
        at = self.order.index(cur[j]) if j < len(cur) else len(self.order)
        self.order[at:at] = new
        self._commit(author, cur[:i] + new + cur[j:])
        return Edit(i, "".join(cur[i:j]), "".join(new))

    def rewrite(self, author: str, atoms: list[str]) -> bool:
        """A restore or revert to these atoms; False when the text would not change."""
        if atoms == self.texts[-1]:
            return False
        self._commit(author, atoms)
        return True

    def reverted(self, author: str, since: int) -> list[str]:
        at_since = set(self.texts[since])
        out = []
        for a in self.order:
            version, who = self.wrote(a)
            if version > since and who == author:
                continue
            others = [vis for v, w, vis in self.log[a] if v > since and w != author]
            if others[-1] if others else a in at_since:
                out.append(a)
        return out


AUTHORS = ("ann", "bob", "cy", "dee")


def random_steps(seed: int, steps: int, typist: str | None = None):
    """A seeded list of steps: ("edit", author, i, j, n) with i, j as fractions of the text,
    ("restore", author, version fraction) or ("revert", author, whom, since fraction).
    A `typist` only inserts text."""
    rng = random.Random(seed)
    out = []
    for _ in range(steps):
        kind = rng.choices(["edit", "restore", "revert"], [6, 2, 1])[0]
        who = rng.choice(AUTHORS)
        if who == typist:
            out.append(("edit", who, rng.random(), None, rng.choice([1, 2, 5])))
        elif kind == "edit":
            a, b = sorted((rng.random(), rng.random()))
            out.append(("edit", who, a, b if rng.random() < 0.5 else a, rng.choice([0, 1, 2, 5])))
        elif kind == "restore":
            out.append(("restore", who, rng.random()))
        else:
            out.append(("revert", who, rng.choice(AUTHORS), rng.choice([0.0, rng.random()])))
    return out


def edit_span(model: Model, a: float, b: float, n: int) -> tuple[int, int, int]:
    size = len(model.texts[-1])
    i = int(a * size)
    j = i if b is None else int(b * size)
    if i == j and not n:
        n = 1  # an edit changes something
    return i, j, n


class Rev:
    def __init__(self, version, patch, author, attribution=None):
        self.version, self.patch, self.author, self.attribution = version, patch, author, attribution


def run_pure(seed: int, steps: int = 80, typist: str | None = None):
    """Play the steps through the pure core (what the service stores), beside the model."""
    from collab.core.blame import attribution_at
    from collab.core.revert import revert

    model, revs = Model(), []
    for step in random_steps(seed, steps, typist):
        head, cur = len(model.texts) - 1, model.text
        if step[0] == "edit":
            _, who, a, b, n = step
            e = model.edit(who, *edit_span(model, a, b, n))
            revs.append(Rev(head + 1, patch_from_edits(cur, [e]), who))
        elif step[0] == "restore":
            _, who, f = step
            version = int(f * head)
            if model.rewrite(who, list(model.texts[version])):
                revs.append(Rev(head + 1, make_patch(cur, model.text), who, attribution_at(revs[:version])))
        else:
            _, who, whom, f = step
            since = int(f * head)
            r = revert(revs, whom, since)
            assert r.text == "".join(model.reverted(whom, since)), (seed, step)
            if model.rewrite(who, list(r.text)):
                revs.append(Rev(head + 1, make_patch(cur, model.text), who, r.attribution))
    return model, revs


def check_blame(model: Model, spans) -> None:
    """Blame names, for every code point, the revision and author that typed it."""
    text = model.text
    assert (spans[-1]["end"] if spans else 0) == len(text)
    for s in spans:
        for atom in text[s["start"]:s["end"]]:
            assert model.wrote(atom) == (s["version"], s["author"]), (atom, s)


@pytest.mark.parametrize("seed", range(20))
def test_random_restores_and_reverts_keep_every_author(seed):
    from collab.core.blame import blame
    from collab.core.revert import revert

    model, revs = run_pure(seed)
    check_blame(model, blame(revs))
    for v in (len(revs) // 3, 2 * len(revs) // 3):
        check_blame(_prefix(model, v), blame(revs[:v]))
    for whom in AUTHORS:
        for since in (0, len(revs) // 2):
            r = revert(revs, whom, since)
            assert r.text == "".join(model.reverted(whom, since))
            assert apply_patch(model.text, parse_patch(r.patch))[0] == r.text
        # "revert X since 0" leaves nothing X typed, and every other atom as the others left it
        assert not {a for a in revert(revs, whom, 0).text if model.wrote(a)[1] == whom}


def _prefix(model: Model, v: int) -> Model:
    """The model as it was at version v."""
    m = Model()
    m.texts, m.authors = model.texts[: v + 1], model.authors[: v + 1]
    m.log = {a: [x for x in log if x[0] <= v] for a, log in model.log.items() if log[0][0] <= v}
    return m


@pytest.mark.parametrize("seed", range(15))
def test_an_author_who_only_typed_is_taken_out_exactly_after_any_restores(seed):
    """An author who only typed (deleted, restored and reverted nothing) is taken out by
    "revert since 0" exactly: the head text without their code points, whatever the
    others restored and reverted meanwhile."""
    from collab.core.revert import revert

    model, revs = run_pure(1000 + seed, typist="dee")
    assert any(model.wrote(a)[1] == "dee" for a in model.order)
    assert revert(revs, "dee", 0).text == "".join(a for a in model.text if model.wrote(a)[1] != "dee")


@pytest.mark.parametrize("seed", range(3))
def test_random_histories_through_the_socket_and_the_http_api(seed, connect, http, doc_id):
    """The same, played on the real server: edits as socket patches, restores over the
    socket and HTTP, reverts over HTTP; then blame and every author's revert since 0."""
    model = Model()
    clients = {}
    for name in AUTHORS:
        clients[name] = connect()
        join(clients[name], doc_id, name=name)
    for n, step in enumerate(random_steps(2000 + seed, 50)):
        head, cur = len(model.texts) - 1, model.text
        if step[0] == "edit":
            _, who, a, b, k = step
            e = model.edit(who, *edit_span(model, a, b, k))
            patch = patch_from_edits(cur, [e])
            ack = clients[who].emit("patch", {"doc": doc_id, "base": head, "patch": patch, "id": f"e-{n}"},
                                    callback=True)
            assert ack["ok"] and ack["version"] == head + 1, ack
        elif step[0] == "restore":
            _, who, f = step
            version = int(f * head)
            changed = model.rewrite(who, list(model.texts[version]))
            if n % 2:
                ack = clients[who].emit("restore", {"doc": doc_id, "version": version}, callback=True)
                assert ack["ok"] and ack["version"] == len(model.texts) - 1 and ack.get("unchanged", False) != changed
            else:
                r = http.post(f"/api/docs/{doc_id}/restore", json={"version": version, "name": who})
                assert r.status_code == (201 if changed else 200), r.get_json()
        else:
            _, who, whom, f = step
            since = int(f * head)
            expected = model.reverted(whom, since)
            changed = model.rewrite(who, expected)
            r = http.post(f"/api/docs/{doc_id}/revert", json={"author": whom, "since": since, "name": who})
            assert r.status_code == (201 if changed else 200), r.get_json()
        assert http.get(f"/api/docs/{doc_id}").get_json()["text"] == model.text, (n, step)
    check_blame(model, http.get(f"/api/docs/{doc_id}/blame").get_json()["spans"])
    for whom in AUTHORS:
        preview = http.get(f"/api/docs/{doc_id}/revert?author={whom}&since=0").get_json()
        assert preview["text"] == "".join(model.reverted(whom, 0)), whom


def test_restore_and_revert_of_a_long_history_leave_the_event_loop_to_the_others(app, http, doc_id):
    """A restore and a revert replay the history from version 1: on a long one that runs
    off the event loop. Prints the longest gap a ticking greenlet saw (no timed assertion)."""
    import time

    import gevent

    from collab.storage import NewRevision, Revision

    service = app.extensions["collab"]
    service.open(doc_id, create=True)
    rows, text = [], ""
    for v in range(1, 3001):
        new = text + f"{v % 10}"
        if v % 7 == 0:
            new = new[:-3] + "x"  # some deletions, so the weave holds deleted text too
        rows.append(NewRevision(Revision(doc_id, v, make_patch(text, new), AUTHORS[v // 100 % 4], f"op-{v}",
                                         float(v), text_hash(new)),
                                new if v % service.settings.snapshot_every == 0 else None))  # as the service stores them
        text = new
    service.store.append(rows)
    service._docs.pop(doc_id, None)  # load the stored history afresh  # noqa: SLF001
    gaps: list[float] = []

    def ticker() -> None:
        last = time.perf_counter()
        while True:
            gevent.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = gevent.spawn(ticker)
    try:
        gevent.sleep(0.02)
        started = time.perf_counter()
        r = http.post(f"/api/docs/{doc_id}/restore", json={"version": 1500, "name": "Cy"})
        restore_ms = (time.perf_counter() - started) * 1000
        assert r.status_code == 201, r.get_json()
        started = time.perf_counter()
        r = http.post(f"/api/docs/{doc_id}/revert", json={"author": "ann", "since": 0, "name": "Dee"})
        revert_ms = (time.perf_counter() - started) * 1000
        assert r.status_code == 201, r.get_json()
    finally:
        beat.kill()
    print(f"\n3,001 revisions: restore {restore_ms:.0f} ms, revert {revert_ms:.0f} ms; "
          f"longest event-loop gap {max(gaps) * 1000:.0f} ms over {len(gaps)} ticks")
    assert "Cy" not in {s["author"] for s in http.get(f"/api/docs/{doc_id}/blame").get_json()["spans"]}


def test_a_restore_while_someone_types_waits_for_their_commit_and_keeps_every_author(app, http, doc_id):
    """A restore's attribution is of exactly the text it makes: started while another
    revision is still committing, it waits for it, then applies at the head."""
    import gevent

    service = app.extensions["collab"]
    state = service.open(doc_id, create=True)
    service.submit(state, 0, make_patch("", "Ann. "), "a-1", "Ann")
    service.submit(state, 1, make_patch("Ann. ", "Ann. Bob"), "b-1", "Bob")
    typing = gevent.spawn(service.submit, state, 2, make_patch("Ann. Bob", "Ann. Bob!"), "b-2", "Bob")
    restoring = gevent.spawn(service.restore, state, 1, "Cy")
    gevent.joinall([typing, restoring], timeout=30, raise_error=True)
    assert typing.value.version == 3 and restoring.value.version == 4
    assert service.snapshot(state) == (4, "Ann. ")
    assert service.restore(state, 3, "Cy").version == 5  # Bob's text back: still Bob's
    pairs = blamed(http, doc_id)
    assert pairs == [("Ann. ", "Ann"), ("Bob", "Bob"), ("!", "Bob")]
