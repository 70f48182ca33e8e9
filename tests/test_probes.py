"""The hostile tests' verdict on whether others were served during an attack
(bench.probes.RoundTrips.kept_serving), on round trips laid out by hand: it must fail a
frozen loop and pass a busy one, or every hostile test means nothing or flakes."""
from bench.probes import RoundTrips


def _probe(spans: list[tuple[float, float]], pace: float = 0.006) -> RoundTrips:
    probe = RoundTrips.__new__(RoundTrips)  # no server: only the verdict's arithmetic
    probe.pace, probe.spans = pace, spans
    probe.times = [b - a for a, b in spans]
    return probe


def _steady(start: float, end: float, took: float, pace: float = 0.006) -> list[tuple[float, float]]:
    spans, t = [], start
    while t + took <= end:
        spans.append((t, t + took))
        t += took + pace
    return spans


def test_a_frozen_loop_fails_however_long_the_attack():
    before, after = _steady(0.0, 1.0, 0.001), _steady(3.0, 4.0, 0.001)
    frozen = before + [(1.0, 3.0)] + after  # one round trip waited out the whole attack
    assert not _probe(frozen).kept_serving(1.0, 2.9)
    assert not _probe(frozen).kept_serving(1.0, 1.1)


def test_a_loop_busy_half_the_time_passes():
    spans = _steady(0.0, 1.0, 0.001)
    t = 1.0
    while t < 2.0:  # during the attack: each round trip waits out 7 ms of the attack's work
        spans.append((t, t + 0.008))
        t += 0.008 + 0.006
    spans += _steady(2.0, 3.0, 0.001)
    assert _probe(spans).kept_serving(1.0, 2.0)


def test_a_short_attack_busy_for_half_of_it_passes():
    """The CI failure this was written for: 36 ms of attack, the loop busy for 16 ms of it
    (the old verdict wanted three round trips in it, where two fit)."""
    spans = _steady(0.0, 0.998, 0.0008) + [(0.999, 1.016)] + _steady(1.022, 1.036, 0.0008)
    spans += _steady(1.04, 1.5, 0.0008)
    assert _probe(spans).kept_serving(1.0, 1.036)
