"""What presence sends (collab/server/presence.py `Roster`, pure): a capped list, exact
counts, only what changed, and nothing about peers no client was shown. The crowd tests
against the real server are tests/e2e/test_hostile_presence.py."""
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
