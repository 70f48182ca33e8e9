"""What presence sends (collab/server/presence.py `Roster`, pure): a capped list, exact
counts, only what changed, and nothing about peers no client was shown. The crowd tests
against the real server are tests/e2e/test_hostile_presence.py."""
from socketkit import events

from collab.server.presence import Roster


def test_roster_sends_what_changed_and_forgets_no_ghost():
    """The pure part: a capped list, exact counts, only changed entries, and an id that came
    and went between two messages is still announced as gone (a join answer may list it)."""
    roster = Roster(max_peers=2)
    a, b = {"id": "a", "name": "A", "role": "editor", "version": 0}, {"id": "b", "name": "B", "role": "editor", "version": 0}
    v = {"id": "v", "name": "V", "role": "viewer", "version": 0}
    peers, changed, gone, counts = roster.update([a, b, v])
    assert peers == [a, b] and changed == [a, b] and gone == [] and counts == {"editors": 2, "viewers": 1}
    assert roster.update([a, b, v]) is None  # nothing a client can see changed: nothing is sent
    w = {"id": "w", "name": "W", "role": "editor", "version": 0}
    assert roster.answer([a, w, v])[0] == [a, w]  # a join answer listed w ...
    roster.touched.add("w")  # ... who left before the next message
    b2 = {**b, "version": 3}
    assert roster.update([a, b2, v]) == ([a, b2], [b2], ["w"], {"editors": 2, "viewers": 1})
    c = {"id": "c", "name": "C", "role": "editor", "version": 0}
    assert roster.update([a, b2, c, v]) == ([a, b2], [], [], {"editors": 3, "viewers": 1})  # counted, not listed
    assert roster.update([a, c, v]) == ([a, c], [c], ["b"], {"editors": 2, "viewers": 1})
    roster.touched.add("a")  # renamed and renamed back: sent again all the same
    assert roster.update([a, c, v]) == ([a, c], [a], [], {"editors": 2, "viewers": 1})


def test_peers_beyond_the_cap_are_never_announced_as_gone():
    """A crowd past the cap comes, renames and goes: no client was ever shown them, so a
    delta lists none of them (before: every one that changed, ~950 ids a message at 1,000)."""
    roster = Roster(max_peers=2)
    listed = [{"id": f"p{i:04}", "name": f"P{i}", "role": "editor", "version": 0} for i in range(2)]
    crowd = [{"id": f"q{i:04}", "name": f"Q{i}", "role": "editor", "version": 0} for i in range(1000)]
    roster.update(listed + crowd)
    roster.answer(listed + crowd)  # a newcomer's join answer: the capped list only
    roster.touched.update(p["id"] for p in crowd)  # every one of them renamed, then half left
    assert roster.update(listed + crowd[:500]) == (listed, [], [], {"editors": 502, "viewers": 0})


# -- a crowd's presence against the in-process server (python-socketio's test client) ----

CROWD = 300
SLICE = 50  # presence frames written one after another at most (collab/server/queue.py)


def _crowd(make_app, connect, doc, *, interval, deltas=False):
    """An app and CROWD editors joined to `doc`, every presence message of the joins out and
    their inboxes emptied."""
    import gevent

    app = make_app(presence_interval=interval, presence_max_peers=20, max_connections_per_address=0,
                   max_joined_per_address=0)
    crowd = [connect(app) for _ in range(CROWD)]
    answers = []
    for i, c in enumerate(crowd):
        ack = c.emit("join", {"doc": doc, "name": f"c{i:03}", **({"presence": "delta"} if deltas and i % 2 else {})},
                     callback=True)
        assert ack["ok"], ack
        answers.append(ack)
    gevent.sleep(interval + 0.2)  # (the last join's message, throttled)
    # a delta member's list: its join answer's, with every delta since applied
    lists = [{p["id"]: p for p in a["peers"]} for a in answers]
    for c, listed in zip(crowd, lists):
        for m in events(c, "presence"):
            _apply(listed, m)
    return app, crowd, lists


def _apply(listed, message):
    """What a client does with a presence message (docs/protocol.md)."""
    if message.get("delta"):
        for pid in message["gone"]:
            listed.pop(pid, None)
        listed.update({p["id"]: p for p in message["peers"]})
    else:
        listed.clear()
        listed.update({p["id"]: p for p in message["peers"]})


def _record(app, log):
    """Log every frame the server writes, in order: ("presence", eio sid) or ("ack", eio sid)."""
    server = app.extensions["socketio"].server
    send_eio, send = server._send_eio_packet, server._send_packet

    def eio_packet(eio_sid, pkt):
        log.append(("presence" if '"presence"' in str(pkt.data)[:20] else "other", eio_sid))
        send_eio(eio_sid, pkt)

    def packet(eio_sid, pkt):
        log.append(("ack" if pkt.packet_type == 3 else "other", eio_sid))  # 3: Socket.IO ACK
        send(eio_sid, pkt)

    server._send_eio_packet, server._send_packet = eio_packet, packet


def test_an_answer_is_written_between_slices_of_a_crowds_presence(make_app, connect, doc_id):
    """One presence message to a room of 300 wakes 300 writers; an editor of another document
    whose answer is due meanwhile must not wait for all of them (before: the leave's message
    went to all 299 in one go, the honest answers only after it). Its answers go out between
    slices of at most SLICE presence frames."""
    import gevent

    app, crowd, _ = _crowd(make_app, connect, doc_id, interval=0.001)
    honest = connect(app)
    assert honest.emit("join", {"doc": doc_id + "-b", "name": "Hon"}, callback=True)["ok"]
    log: list[tuple[str, str]] = []
    _record(app, log)
    done = False

    def round_trips():
        while not done:
            assert honest.emit("sync", {"doc": doc_id + "-b", "since": 0}, callback=True)["ok"]
            gevent.sleep(0)

    looper = gevent.spawn(round_trips)
    gevent.sleep(0)  # its first round trip
    assert crowd[0].emit("leave", {"doc": doc_id}, callback=True) == {"ok": True}
    for _ in range(500):
        if sum(kind == "presence" for kind, _ in log) >= CROWD - 1:
            break
        gevent.sleep(0.01)
    done = True
    looper.join(timeout=5)
    presence = [i for i, (kind, _) in enumerate(log) if kind == "presence"]
    assert len(presence) == CROWD - 1  # one message, to every other member
    honest_acks = [i for i, (kind, sid) in enumerate(log) if kind == "ack" and sid == honest.eio_sid]
    # answers written while the message went out, not only before or after it
    between = [i for i in honest_acks if presence[0] < i < presence[-1]]
    assert len(between) >= (CROWD - 1) // SLICE - 1, (len(between), len(honest_acks))
    runs, run = [], 0  # presence frames written one after another, nothing between
    for kind, _ in log:
        run = run + 1 if kind == "presence" else 0
        runs.append(run)
    assert max(runs) <= SLICE


def test_a_crowds_presence_messages_go_out_one_at_a_time_in_order(make_app, connect, doc_id):
    """Sent in slices, a message must not be overtaken by the next one of its document: with
    no throttle to speak of (1 ms) ten leaves, one after another while a message is going
    out. Every member gets the same messages in the same order, and the delta
    members end with the same list as the full-list ones; the ten leaves became fewer messages
    (those that came during one message went out together in the next)."""
    import gevent

    app, crowd, lists = _crowd(make_app, connect, doc_id, interval=0.001, deltas=True)
    log: list[tuple[str, str]] = []
    _record(app, log)

    def leave(k, c):  # the k-th leaves once 30 k frames of presence went out: mid-message
        while sum(kind == "presence" for kind, _ in log) < 30 * k:
            gevent.sleep(0)
        assert c.emit("leave", {"doc": doc_id}, callback=True) == {"ok": True}

    for k, c in enumerate(crowd[:10]):  # ten of the twenty listed
        gevent.spawn(leave, k, c)
    stay, got, lists = crowd[10:], [[] for _ in crowd[10:]], lists[10:]
    for _ in range(500):
        gevent.sleep(0.01)
        for i, c in enumerate(stay):
            got[i].extend(events(c, "presence"))
        if all(g and g[-1]["editors"] == CROWD - 10 for g in got):
            break
    sequences: dict[bool, list[int]] = {}
    for i, messages in enumerate(got):
        counts = [m["editors"] for m in messages]
        assert counts == sorted(counts, reverse=True) and counts[-1] == CROWD - 10, counts
        assert counts == sequences.setdefault(bool(i % 2), counts)  # the same messages, in the same order
        for m in messages:
            _apply(lists[i], m)
    assert 1 <= len(sequences[False]) < 10  # coalesced
    late = connect(app).emit("join", {"doc": doc_id, "name": "late"}, callback=True)
    final = [p["id"] for p in late["peers"] if p["name"] != "late"]
    assert len(final) == 20
    for listed in lists:  # full-list and delta members alike: the list there is now
        assert sorted(listed) == sorted(final)


def test_members_whose_client_closed_are_not_written_presence_and_the_rest_end_exact(make_app, connect, doc_id):
    """A crowd that closed at once is handled departure after departure (serve.py's lane),
    and the first departure's presence message went to all the others meanwhile: 999 frames
    to closed sockets at 1,000. A member whose connection's `Departure` says it closed is
    written nothing; once the departures are handled, those who stayed (full-list and delta
    members) have the exact count and the list a late join is answered."""
    import gevent

    from collab.server.queue import DEPARTURE, Departure

    app, crowd, lists = _crowd(make_app, connect, doc_id, interval=0.001, deltas=True)
    server = app.extensions["socketio"].server
    closed, stay, lists = crowd[:200], crowd[200:], lists[200:]
    for c in closed:  # what serve.py does on a close frame or the end of the stream
        server.environ[c.eio_sid][DEPARTURE] = departure = Departure()
        departure.closed = True
    log: list[tuple[str, str]] = []
    _record(app, log)
    assert stay[0].emit("leave", {"doc": doc_id}, callback=True) == {"ok": True}
    stay, lists = stay[1:], lists[1:]

    def written_to() -> set[str]:
        return {sid for kind, sid in log if kind == "presence"}

    for _ in range(500):
        if len(written_to()) >= len(stay):
            break
        gevent.sleep(0.01)
    gevent.sleep(0.05)
    assert written_to() == {c.eio_sid for c in stay}  # the 99 who stayed, none of the 200
    for c in closed:
        c.disconnect()
    got = [[] for _ in stay]
    for _ in range(500):
        gevent.sleep(0.01)
        for i, c in enumerate(stay):
            got[i].extend(events(c, "presence"))
        if all(g and g[-1]["editors"] == len(stay) for g in got):
            break
    assert not written_to() & {c.eio_sid for c in closed}
    late = connect(app).emit("join", {"doc": doc_id, "name": "late"}, callback=True)
    assert late["editors"] == len(stay) + 1
    final = sorted(p["id"] for p in late["peers"] if p["name"] != "late")
    for listed, messages in zip(lists, got):
        assert messages[-1]["editors"] == len(stay)
        for m in messages:
            _apply(listed, m)
        assert sorted(listed) == final


class _Unwalkable(dict):
    """A namespace's rooms that may be looked up, not walked."""

    def _walked(self, *_):
        raise AssertionError("a departure walked every room of the namespace")

    copy = items = keys = values = __iter__ = _walked


def test_a_departure_leaves_its_own_rooms_without_walking_everyone_elses(make_app, connect, doc_id):
    """python-socketio found a departing client's rooms by copying every room of the namespace
    and asking each whether it held the client, and every client is a room of its own: each
    departure cost a pass over everyone (1,000 departures: a million lookups). The manager
    keeps each client's rooms (queue.py `rooms_of`): 150 of 300 leave with the rooms made
    unwalkable, and both registries agree, with the presence of those who stayed exact."""
    import gevent

    app, crowd, _ = _crowd(make_app, connect, doc_id, interval=0.001)
    manager = app.extensions["socketio"].server.manager
    manager.rooms["/"] = _Unwalkable(manager.rooms["/"])
    gone, stay = crowd[:150], crowd[150:]
    for c in gone:
        c.disconnect()
    rooms = dict(dict.items(manager.rooms["/"]))
    by_sid: dict[str, set[object]] = {}
    for room, members in rooms.items():
        for sid in members:
            by_sid.setdefault(sid, set()).add(room)
    assert by_sid == manager.rooms_of["/"]  # every room of every client, and nothing else
    assert not any(c.eio_sid in rooms[None].inverse for c in gone)
    last = [0] * len(stay)  # the count each one who stayed was told last
    for _ in range(500):
        gevent.sleep(0.01)
        last = [([m["editors"] for m in events(c, "presence")] or [n])[-1] for c, n in zip(stay, last)]
        if last == [len(stay)] * len(stay):
            break
    assert last == [len(stay)] * len(stay)
    assert connect(app).emit("join", {"doc": doc_id, "name": "late"}, callback=True)["editors"] == len(stay) + 1


def test_shared_presence_names_no_edit_id_in_redis_and_expires(redis_url):
    """Found from outside: the Redis hash of a document's peers was named by its edit id (the
    edit capability, readable by whoever can list a shared Redis's keys) and never expired (a
    killed process's peers stayed for good: a key leaked per document per crash)."""
    import secrets

    import redis

    from collab.core import wire
    from collab.server.presence import RedisPresence

    namespace = "t" + secrets.token_hex(8)
    doc = "edit-" + secrets.token_hex(8)
    presence = RedisPresence(redis_url, spawn=lambda *_: None, sleep=lambda _: None, process_id="p1", namespace=namespace)
    presence.set(doc, wire.peer("peer-1", "Ann", "editor", 0))
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(f"{namespace}:*")]
    try:
        assert keys and not any(doc in k for k in keys), keys
        [key] = keys
        assert 0 < client.ttl(key) <= RedisPresence.KEY_TTL
        assert [p["name"] for p in presence.peers(doc)] == ["Ann"]
    finally:
        if keys:
            client.delete(*keys)
