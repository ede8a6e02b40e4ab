"""Turns: live (finals in arrival order, clock ticks) and offline (a whole transcript) agree."""

from __future__ import annotations

import random

import pytest

from encounter_feedback.analysis.annotator import Annotator, annotate
from encounter_feedback.analysis.time_order import TimeOrder, complete_to, earliest
from encounter_feedback.analysis.turns import TURN_CLOSE_S, Turn, TurnBuilder
from encounter_feedback.events import Event, Segment

SCRIPT = [
    ("patient", 1.0, 4.0, "I have had a headache for three days"),
    ("patient", 4.6, 7.0, "and it gets worse every night"),  # the same turn: a 0.6 s pause
    ("provider", 5.0, 5.4, "mm-hm"),  # a backchannel inside the patient's turn
    ("provider", 7.5, 9.0, "Does anything make it better"),
    ("patient", 9.3, 14.0, "Not really. The emergency room sent me home, and I think it was because I am Black."),
    ("provider", 13.2, 15.0, "Let us focus on your symptoms for now"),  # cuts in before the patient ends
    ("patient", 19.0, 21.0, "Sorry. I just feel like nobody listens to me."),  # after a 4 s silence
    ("provider", 21.5, 23.0, "I hear you, and I want to understand what happened."),
    ("provider", 23.4, 24.0, "Please go on."),  # the same turn
    ("patient", 24.3, 24.6, "yeah"),  # a backchannel
    ("provider", 27.5, 28.5, "When did the headaches start?"),  # the same speaker after 3.5 s: a new turn
]
ENDPOINT_S = 0.5
"""A final goes out this long after its speech ends (the VAD endpoint), plus its track's decode delay."""


def segments() -> list[Segment]:
    counts = {"patient": 0, "provider": 0}
    out = []
    for speaker, t0, t1, text in SCRIPT:
        counts[speaker] += 1
        out.append(_segment(f"{speaker}-{counts[speaker]}", speaker, t0, t1, text))
    return out


def _segment(id: str, speaker: str, t0: float, t1: float, text: str) -> Segment:
    words = text.split()
    step = (t1 - t0) / len(words)
    return Segment(
        id=id,
        encounter="enc-t",
        speaker=speaker,
        t0=t0,
        t1=t1,
        text=text,
        final=True,
        words=[{"w": w, "t0": t0 + i * step, "t1": t0 + (i + 1) * step, "p": 0.9} for i, w in enumerate(words)],
        avg_logprob=-0.2,
    )


def live_arrivals(segs: list[Segment], seed: int) -> list[tuple[float, Segment]]:
    """When each final reaches the analysis: the patient's track decodes 2 s behind the provider's
    (a backlog), with jitter; each track's finals stay in order, as the transcriber sends them."""
    rng = random.Random(seed)
    delay = {"patient": 2.0, "provider": 0.0}
    arrivals, last = [], {"patient": 0.0, "provider": 0.0}
    for s in segs:
        at = max(s.t1 + ENDPOINT_S + delay[s.speaker] + rng.uniform(0.0, 0.6), last[s.speaker])
        last[s.speaker] = at
        arrivals.append((at, s))
    return sorted(arrivals, key=lambda pair: pair[0])


def drive_live(segs: list[Segment], seed: int, add, tick, finish, step_s: float = 0.25) -> int:
    """Feed `segs` as the live server does: finals as they arrive, and a tick every `step_s` with
    where each speaker's speech still in flight began. Returns the tick count before `finish`."""
    arrivals = live_arrivals(segs, seed)
    assert [s.id for _, s in arrivals] != [s.id for s in sorted(segs, key=lambda s: s.t0)], "not out of order"
    end = arrivals[-1][0] + TURN_CLOSE_S + 1.0
    now, ticks = 0.0, 0
    while now < end:
        now += step_s
        while arrivals and arrivals[0][0] <= now:
            add(arrivals.pop(0)[1])
        in_flight = earliest((s.speaker, s.t0) for _, s in arrivals if s.t0 < now)
        tick(now, in_flight)
        ticks += 1
    finish()
    return ticks


def shape(turns: list[Turn]) -> list[tuple[str, list[str]]]:
    return [(turn.speaker, turn.segment_ids) for turn in turns]


def test_time_order_releases_what_every_track_has_completed():
    order: TimeOrder[tuple[float, float]] = TimeOrder(lambda span: span)
    for span in [(5.0, 6.0), (1.0, 4.0), (5.0, 5.5), (9.0, 9.5)]:
        order.add(span)
    assert complete_to(8.0, {"patient": 5.0}) == 5.0 and complete_to(8.0) == 8.0
    assert order.release(5.0) == [(1.0, 4.0)]
    assert order.release(8.0) == [(5.0, 5.5), (5.0, 6.0)]
    assert order.release(float("inf")) == [(9.0, 9.5)]


@pytest.mark.parametrize("seed", range(5))
def test_live_and_offline_build_the_same_turns(seed):
    segs = segments()
    offline = TurnBuilder()
    for s in segs:
        offline.add(s)
    expected = shape(offline.flush())
    assert expected == [
        ("patient", ["patient-1", "patient-2"]),
        ("provider", ["provider-2"]),
        ("patient", ["patient-3"]),
        ("provider", ["provider-3"]),
        ("patient", ["patient-4"]),
        ("provider", ["provider-4", "provider-5"]),
        ("provider", ["provider-6"]),
    ]

    live = TurnBuilder()
    closed: list[Turn] = []
    during: list[int] = []
    drive_live(
        segs,
        seed,
        live.add,
        lambda now, in_flight: closed.extend(live.tick(now, in_flight)),
        lambda: (during.append(len(closed)), closed.extend(live.flush())),
    )
    assert shape(closed) == expected
    assert during == [len(expected)], "every turn closed live, TURN_CLOSE_S after its speaker stopped"


def test_live_and_offline_emit_the_same_moments_and_responses(classifier):
    segs = segments()
    offline = annotate("enc-t", segs, classifier)
    live: list[Event] = []
    annotator = Annotator("enc-t", classifier, live.append)
    drive_live(segs, 0, annotator.add, annotator.tick, annotator.finish)

    def plain(events: list[Event]) -> list[dict]:
        return [{k: v for k, v in e.to_dict().items() if k != "emitted_at"} for e in events]

    latest = {e.id: e for e in live}  # a moment is sent again with its responsiveness score
    assert plain(list(latest.values())) == plain(offline)
    assert [e.to_dict()["type"] for e in offline] == ["moment", "response", "response"]
    assert offline[0].segments == ["patient-3"] and offline[1].segments == ["provider-3"]
    assert offline[2].segments == ["provider-4", "provider-5"]  # a later turn in the moment's window, coded
    assert [e.to_dict()["relation"] for e in offline[1:]] == ["immediate", "later"]
