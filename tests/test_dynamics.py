"""Conversation dynamics: turn and overlap timing on signals with known timing, floor taking
(interruptions vs backchannels vs overlaps), moments, and the mixed-track case.

Timing uses harmonic tone bursts placed on two tracks at known times, measured through the real
acoustic refinement with deliberately sloppy VAD spans, so the 50 ms tolerance is earned by
`prosody.measure_audio`, not given by the fixture. The TTS fixture runs the real offline
pipeline (VAD + Whisper) over a scripted two-track dialogue.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass

import numpy as np
import pytest

from encounter_feedback.analysis.dynamics import MIXED, NO_REPLY, Cue, CueTracker, Metrics, replay_cues
from encounter_feedback.analysis.prosody import Acoustics, measure_audio, measure_utterance
from encounter_feedback.events import Moment, Segment
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.transcribe import Track, transcribe_tracks

TOLERANCE_S = 0.05


def harmonic_burst(f0: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """A voiced-like tone (8 harmonics) with 5 ms raised-cosine edges."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 9)) * amplitude / 2
    ramp = round(0.005 * SAMPLE_RATE)
    edge = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
    y[:ramp] *= edge
    y[-ramp:] *= edge[::-1]
    return y.astype(np.float32)


@dataclass(frozen=True)
class Burst:
    speaker: str
    t0: float
    t1: float
    text: str
    pause: tuple[float, float] | None = None
    """A silence inside the utterance (kept in one VAD utterance)."""
    f0: float | None = None
    """Hz; default 210 for the patient, 120 for the provider."""
    amplitude: float = 0.3


SCRIPT = [
    Burst("patient", 1.00, 4.00, "I have had a headache for three days now", pause=(2.00, 2.40)),
    Burst("provider", 4.60, 6.00, "Does anything make it better"),  # gap 0.60
    Burst("patient", 6.25, 9.00, "Not really and the pills do not help at all"),  # gap 0.25
    Burst("provider", 8.20, 10.50, "Let us talk about your medications first"),  # interruption, overlap 0.80
    Burst("patient", 11.00, 14.00, "I take the blue ones in the morning and at night"),  # gap 0.50
    Burst("provider", 12.00, 12.40, "mm-hm"),  # backchannel
    Burst("provider", 13.80, 16.00, "How many do you take each day"),  # terminal overlap -0.20
    Burst("patient", 19.50, 22.00, "Two of them usually but sometimes three"),  # long pause 3.50
    Burst("provider", 21.00, 21.60, "But what about"),  # overlap 0.60, no floor
    Burst("provider", 22.30, 24.00, "Okay and any allergies to medicines"),  # gap 0.30
]
DURATION_S = 26.0


def render(script: list[Burst], duration: float = DURATION_S) -> dict[str, np.ndarray]:
    tracks = {s: np.zeros(round(duration * SAMPLE_RATE), np.float32) for s in ("patient", "provider")}
    f0 = {"patient": 210.0, "provider": 120.0}
    for b in script:
        pieces = [(b.t0, b.pause[0]), (b.pause[1], b.t1)] if b.pause else [(b.t0, b.t1)]
        for a, e in pieces:
            start = round(a * SAMPLE_RATE)
            clip = harmonic_burst(b.f0 or f0[b.speaker], e - a, b.amplitude)
            tracks[b.speaker][start : start + len(clip)] += clip
    return tracks


def segment_for(b: Burst, index: int, encounter: str = "enc-test", speaker: str | None = None) -> Segment:
    """A final segment with evenly spread word times (as imprecise as Whisper's would be)."""
    words = b.text.split()
    step = (b.t1 - b.t0) / len(words)
    timed = [
        {"w": w, "t0": round(b.t0 + i * step + 0.08, 3), "t1": round(b.t0 + (i + 1) * step - 0.05, 3), "p": 0.9}
        for i, w in enumerate(words)
    ]
    return Segment(
        id=f"{speaker or b.speaker}-{index}",
        encounter=encounter,
        speaker=speaker or b.speaker,
        t0=timed[0]["t0"],
        t1=timed[-1]["t1"],
        text=b.text,
        final=True,
        words=timed,
        avg_logprob=-0.2,
        stable=len(words),
    )


def sloppy_acoustics(track: np.ndarray, b: Burst, rng: random.Random) -> Acoustics:
    """Measure the burst's utterance as the live server would: a VAD span off by up to 100 ms, and
    its clip padded by 200 ms."""
    vad_t0 = b.t0 + rng.uniform(-0.1, 0.1)
    vad_t1 = b.t1 + rng.uniform(-0.1, 0.1)
    lo, hi = round((vad_t0 - 0.2) * SAMPLE_RATE), round((vad_t1 + 0.2) * SAMPLE_RATE)
    return measure_audio(track[lo:hi], lo / SAMPLE_RATE, vad_t0, vad_t1)


@pytest.fixture(scope="module")
def measured() -> list[tuple[Segment, Acoustics]]:
    tracks = render(SCRIPT)
    rng = random.Random(6)
    counts = {"patient": 0, "provider": 0}
    pairs = []
    for b in SCRIPT:
        counts[b.speaker] += 1
        pairs.append((segment_for(b, counts[b.speaker]), sloppy_acoustics(tracks[b.speaker], b, rng)))
    return pairs


def cues(events, kind: str | None = None) -> list[Cue]:
    """Cues of `kind`, or every rapport cue (the per-utterance `prosody` cues left out)."""
    return [e for e in events if isinstance(e, Cue) and (e.kind == kind if kind else e.kind != "prosody")]


def test_refined_speech_spans_are_within_50_ms_of_the_truth(measured):
    for (segment, acoustics), b in zip(measured, SCRIPT):
        assert abs(acoustics.t0 - b.t0) <= TOLERANCE_S, (segment.id, acoustics.t0, b.t0)
        assert abs(acoustics.t1 - b.t1) <= TOLERANCE_S, (segment.id, acoustics.t1, b.t1)
    first = measured[0][1]
    assert len(first.pauses) == 1
    assert np.allclose(first.pauses[0], SCRIPT[0].pause, atol=TOLERANCE_S)
    assert first.speech_time == pytest.approx(3.0 - 0.4, abs=2 * TOLERANCE_S)


def test_turns_overlaps_and_silences_are_timed_within_50_ms(measured):
    events, summary = replay_cues("enc-test", measured, end=DURATION_S)
    latencies = [(c.speaker, c.value) for c in cues(events, "response_latency")]
    expected = [("provider", 0.60), ("patient", 0.25), ("patient", 0.50), ("provider", -0.20), ("provider", 0.30)]
    assert [s for s, _ in latencies] == [s for s, _ in expected]
    assert np.allclose([v for _, v in latencies], [v for _, v in expected], atol=TOLERANCE_S), latencies

    (interruption,) = cues(events, "interruption")
    assert (interruption.speaker, interruption.other, interruption.segment) == ("provider", "patient", "provider-2")
    assert interruption.t0 == pytest.approx(8.20, abs=TOLERANCE_S)
    assert interruption.t1 == pytest.approx(9.00, abs=TOLERANCE_S)
    assert interruption.value == pytest.approx(0.80, abs=TOLERANCE_S)

    (backchannel,) = cues(events, "backchannel")
    assert (backchannel.speaker, backchannel.other) == ("provider", "patient")
    assert backchannel.t0 == pytest.approx(12.0, abs=TOLERANCE_S)

    (overlap,) = cues(events, "overlap")
    assert (overlap.speaker, overlap.other) == ("provider", "patient")
    assert overlap.value == pytest.approx(0.60, abs=TOLERANCE_S)

    (silence,) = cues(events, "long_pause")
    assert (silence.t0, silence.t1) == pytest.approx((16.0, 19.5), abs=TOLERANCE_S)
    assert (silence.speaker, silence.other) == ("patient", "provider")
    assert silence.value == pytest.approx(3.5, abs=TOLERANCE_S)

    # talk time is speech only (the patient's 0.4 s pause excluded); overlap time is both at once
    patient_talk = 3.0 - 0.4 + 2.75 + 3.0 + 2.5
    provider_talk = 1.4 + 2.3 + 0.4 + 2.2 + 0.6 + 1.7
    assert summary["talk_time"]["patient"] == pytest.approx(patient_talk, abs=0.15)
    assert summary["talk_time"]["provider"] == pytest.approx(provider_talk, abs=0.15)
    assert summary["dominance"] == pytest.approx(provider_talk / patient_talk, rel=0.03)
    assert summary["talk_share"]["provider"] == pytest.approx(provider_talk / (patient_talk + provider_talk), abs=0.01)
    assert summary["overlap_time"] == pytest.approx(0.8 + 0.4 + 0.2 + 0.6, abs=0.1)
    assert summary["interruptions"] == {"patient": 0, "provider": 1}
    assert summary["backchannels"] == {"patient": 0, "provider": 1}
    assert summary["floor_changes"] == 6  # five gaps and one interruption; the long pause freed the floor
    # the opening statement (1-4 s) ended normally; the first interruption hit a later turn
    assert summary["opening_statement"]["interrupted"] is False
    assert summary["opening_statement"]["t0"] == pytest.approx(1.0, abs=TOLERANCE_S)


def test_finals_arriving_out_of_order_give_the_same_cues(measured):
    """Live: each track's finals arrive in order, but the two tracks interleave up to 2 s apart."""
    reference, _ = replay_cues("enc-test", measured, end=DURATION_S)
    rng = random.Random(1)
    delay = {"patient": 2.0, "provider": 0.0}  # the patient track's finals come 2 s late
    arrivals = sorted(measured, key=lambda p: p[1].t1 + 0.5 + delay[p[0].speaker] + rng.uniform(0, 0.3))
    events: list = []
    tracker = CueTracker("enc-test", events.append)
    added: set[str] = set()
    now = 0.0
    while now < DURATION_S + 3:
        now += 0.5
        for segment, acoustics in arrivals:
            if segment.id not in added and acoustics.t1 + 0.5 + delay[segment.speaker] <= now:
                tracker.add_utterance(segment, acoustics)
                added.add(segment.id)
        open_since = {}
        for segment, acoustics in measured:
            if segment.id not in added and acoustics.t0 < now:
                open_since[segment.speaker] = min(open_since.get(segment.speaker, 1e9), acoustics.t0)
        tracker.tick(now, open_since)
    tracker.finish(now)

    def key(c: Cue) -> tuple:
        return (c.kind, c.speaker, c.other, round(c.t0, 3), c.value)

    assert sorted(map(key, cues(events))) == sorted(map(key, cues(reference)))
    assert any(isinstance(e, Metrics) for e in events)


def test_without_open_since_nothing_is_analysed_before_it_is_complete(measured):
    """A tick whose `open_since` says the patient is mid-utterance holds the provider's cues back."""
    events: list = []
    tracker = CueTracker("enc-test", events.append)
    patient_first, provider_reply = measured[0], measured[1]
    tracker.add_utterance(*provider_reply)
    tracker.tick(7.0, {"patient": 0.9})  # the patient's 1-4 s utterance is still being decoded
    assert cues(events) == []
    tracker.add_utterance(*patient_first)
    tracker.tick(7.0)
    assert [c.kind for c in cues(events)] == ["response_latency"]


def test_metrics_and_cues_serialize_to_the_event_schema(measured):
    events, _ = replay_cues("enc-test", measured, end=DURATION_S)
    metrics = [e for e in events if isinstance(e, Metrics)]
    assert len(metrics) >= 2  # periodic (every 10 s of analysed time) and at the end
    last = metrics[-1].to_dict()
    assert last["type"] == "metrics" and last["t1"] >= 24.0
    cue = cues(events, "interruption")[0].to_dict()
    assert {"type", "id", "encounter", "speaker", "t0", "t1", "emitted_at", "kind", "value", "unit"} <= cue.keys()
    assert cue["type"] == "cue" and cue["unit"] == "s"
    prosody = cues(events, "prosody")
    assert sorted(c.segment for c in prosody) == sorted(segment.id for segment, _ in measured)  # one per utterance
    assert all(
        c.unit == "st" and {"loudness_db", "speech_rate", "articulation_rate"} <= c.detail.keys() for c in prosody
    )
    json.dumps([e.to_dict() for e in events])  # all plain JSON


# -- moments ---------------------------------------------------------------------------------------


def moment_on(segment: Segment, moment_id: str = "moment-1") -> Moment:
    return Moment(
        id=moment_id,
        encounter=segment.encounter,
        speaker=segment.speaker,
        t0=segment.t0,
        t1=segment.t1,
        label="discrimination_disclosure",
        confidence=0.9,
        segment=segment.id,
        segments=[segment.id],
        text=segment.text,
    )


def test_a_moment_reply_is_timed_and_compared_with_the_providers_baseline(measured):
    """The patient's 6.25-9.00 turn (interrupted by the provider at 8.2) as a moment."""
    disclosure = measured[2][0]
    events, summary = replay_cues("enc-test", measured, [moment_on(disclosure)], end=DURATION_S)
    about = {c.kind: c for c in cues(events) if c.moment == "moment-1"}
    assert about["interrupted_disclosure"].value == 1
    assert about["response_latency"].value == pytest.approx(8.20 - 9.00, abs=TOLERANCE_S)
    assert about["response_latency"].segment == "provider-2"
    pitch = about["pitch"]
    assert pitch.value == pytest.approx(12 * np.log2(120 / 27.5), abs=0.05)  # the provider's tone, in semitones
    # only four other non-acknowledgement provider utterances: too few for a baseline
    assert pitch.baseline is None and pitch.z is None and "baseline" in pitch.reason
    assert about["speech_rate"].value == pytest.approx(11 / 2.3, rel=0.05)  # 11 syllables in 2.3 s
    assert summary["moments"][0]["interrupted_disclosure"] == 1


def test_a_moment_without_reply_says_so():
    b = Burst("patient", 1.0, 4.5, "nobody ever listens to me")
    track = render([b])["patient"]
    pair = (segment_for(b, 1), sloppy_acoustics(track, b, random.Random(0)))
    events, summary = replay_cues("enc-test", [pair], [moment_on(pair[0])], end=6.0)
    about = {c.kind: c for c in cues(events) if c.moment == "moment-1"}
    assert about["interrupted_disclosure"].value == 0
    assert about["response_latency"].value is None and about["response_latency"].reason == NO_REPLY
    assert about["loudness"].value is None
    assert summary["opening_statement"] == {
        "t0": pytest.approx(1.0, abs=0.05),
        "t1": pytest.approx(4.5, abs=0.05),
        "interrupted": False,
        "time_to_interruption": None,
    }


def test_z_scores_against_the_providers_own_baseline():
    """Six provider questions around 120 Hz, then a reply to a moment that is higher (150 Hz),
    louder (+6 dB) and slower than all of them."""
    script, t = [], 0.5
    for i in range(6):
        length = (1.5, 1.4, 1.6)[i % 3]
        script += [
            Burst(
                "provider",
                t,
                t + length,
                "how are you feeling today then",  # 8 syllables
                f0=(115.0, 120.0, 125.0)[i % 3],
                amplitude=0.3 * 10 ** ((i % 3 - 1) / 20),
            ),
            Burst("patient", t + 2.0, t + 3.5, "fine thank you doctor"),
        ]
        t += 4.0
    disclosure = Burst("patient", t, t + 2.0, "the nurse said people like me exaggerate")
    reply = Burst("provider", t + 3.0, t + 5.0, "I am sorry", f0=150.0, amplitude=0.6)  # 4 syllables in 2 s
    script += [disclosure, reply]
    tracks = render(script, duration=t + 6.0)
    rng, counts, pairs = random.Random(3), {"patient": 0, "provider": 0}, []
    for b in script:
        counts[b.speaker] += 1
        pairs.append((segment_for(b, counts[b.speaker]), sloppy_acoustics(tracks[b.speaker], b, rng)))
    events, _ = replay_cues("enc-test", pairs, [moment_on(pairs[-2][0])], end=t + 6.0)
    about = {c.kind: c for c in cues(events) if c.moment == "moment-1"}
    assert about["response_latency"].value == pytest.approx(1.0, abs=TOLERANCE_S)
    assert about["interrupted_disclosure"].value == 0
    pitch, loudness, rate = about["pitch"], about["loudness"], about["speech_rate"]
    baseline_st = np.mean([12 * np.log2(f / 27.5) for f in (115.0, 120.0, 125.0)])
    assert pitch.baseline == pytest.approx(baseline_st, abs=0.05)
    assert pitch.value == pytest.approx(12 * np.log2(150 / 27.5), abs=0.05)
    assert pitch.z == pytest.approx((pitch.value - baseline_st) / 0.646, rel=0.1)  # SD of the six means: 0.646 st
    assert loudness.value - loudness.baseline == pytest.approx(6.0, abs=0.2)
    assert loudness.z > 5  # the questions' levels vary by only +-1 dB
    assert rate.value == pytest.approx(4 / 2.0, rel=0.05)
    assert rate.baseline == pytest.approx(np.mean([8 / 1.5, 8 / 1.4, 8 / 1.6]), rel=0.03)
    assert rate.z < -5


# -- the mixed track ---------------------------------------------------------------------------------


def test_a_mixed_track_reports_speaker_cues_as_unavailable(measured):
    mixed = [(segment_for(b, i + 1, speaker="unknown"), a) for i, ((_, a), b) in enumerate(zip(measured, SCRIPT))]
    moment = moment_on(mixed[2][0])
    events, summary = replay_cues("enc-test", mixed, [moment], end=DURATION_S)
    kinds = {c.kind for c in cues(events)}
    assert not kinds & {"interruption", "backchannel", "overlap"}
    about = [c for c in cues(events) if c.moment == moment.id]
    assert {c.kind for c in about} == {
        "interrupted_disclosure",
        "response_latency",
        "speech_rate",
        "pitch",
        "pitch_variability",
        "loudness",
    }
    assert all(c.value is None and c.reason == MIXED for c in about)
    for key in ("talk_share", "dominance", "interruptions", "backchannels", "response_latency", "overlap_time"):
        assert summary[key] is None and summary["unavailable"][key] == MIXED
    assert summary["opening_statement"] is None and summary["unavailable"]["opening_statement"] == MIXED
    # what needs no speaker is still measured: talk time and the long silence
    assert summary["talk_time"]["unknown"] > 15
    (silence,) = cues(events, "long_pause")
    assert silence.value == pytest.approx(3.5, abs=TOLERANCE_S)


def test_time_to_the_first_interruption_of_the_opening_statement(measured):
    """A greeting does not count as the opening statement; the provider cuts into the next turn."""
    script = [
        Burst("provider", 0.5, 1.5, "good morning"),
        Burst("patient", 2.0, 2.8, "hi doctor"),  # a greeting: under 3 s
        Burst("provider", 3.3, 4.5, "what brings you in"),
        Burst("patient", 5.0, 12.0, "well it started last week with a headache and then"),
        Burst("provider", 10.5, 13.0, "any fever"),  # cuts in 5.5 s into it
    ]
    tracks = render(script, duration=14.0)
    rng, counts, pairs = random.Random(2), {"patient": 0, "provider": 0}, []
    for b in script:
        counts[b.speaker] += 1
        pairs.append((segment_for(b, counts[b.speaker]), sloppy_acoustics(tracks[b.speaker], b, rng)))
    events, summary = replay_cues("enc-test", pairs, end=14.0)
    (cue,) = cues(events, "opening_interruption")
    assert (cue.speaker, cue.other) == ("provider", "patient")
    assert cue.value == pytest.approx(5.5, abs=TOLERANCE_S)
    assert summary["opening_statement"]["interrupted"] is True
    assert summary["opening_statement"]["t0"] == pytest.approx(5.0, abs=TOLERANCE_S)


# -- the TTS two-track fixture through the real pipeline ------------------------------------------


@dataclass(frozen=True)
class Line:
    role: str
    text: str
    after: float
    """Seconds after the previous main line ends (its gap); for a backchannel or an
    interruption, seconds after the start of the line it overlaps."""
    kind: str = "turn"
    """`turn`, `backchannel` (does not take the floor) or `interruption` (the line it overlaps
    stops `CUT_AFTER_S` after this one starts)."""


CUT_AFTER_S = 0.7
TTS_SCRIPT = [
    Line("provider", "Good morning. What brings you in today?", 0.5),
    Line(
        "patient",
        "I have had a bad headache for three days, and it gets worse every single night when I lie down.",
        0.7,
    ),
    Line("provider", "Okay.", 2.0, "backchannel"),
    Line("provider", "Does anything make it better?", 0.6),
    Line(
        "patient",
        "Not really. The emergency room sent me home, and I think it was because I am Black, "
        "and they never even looked at me properly.",
        0.5,
    ),
    Line("provider", "Let us focus on your symptoms for now.", 4.5, "interruption"),
    Line("patient", "Sorry. I just feel like nobody listens to me.", 4.0),  # a long silence
    Line("provider", "I hear you, and I want to understand what happened.", 0.8),
    Line("patient", "Yeah.", 1.5, "backchannel"),
    Line("patient", "Thank you. It has been a hard week.", 0.6),
    Line("provider", "When did the headaches start?", 0.7),
    Line("patient", "They started on Monday after work.", 0.6),
    Line("provider", "Have you taken any medicine for the pain?", 0.5),
    Line("patient", "Just some aspirin in the morning.", 0.7),
]


@dataclass(frozen=True)
class Placed:
    line: Line
    t0: float
    t1: float


def place_lines(script: list[Line]) -> tuple[dict[str, np.ndarray], list[Placed]]:
    from encounter_feedback.media.tts import VOICES, synthesize

    clips = [synthesize(line.text, VOICES[line.role]) for line in script]
    placed: list[Placed] = []
    main = None  # index of the latest turn (the line a backchannel or interruption overlaps)
    for line, clip in zip(script, clips):
        if line.kind == "turn":
            t0 = (placed[main].t1 if main is not None else 0.0) + line.after
        else:
            t0 = placed[main].t0 + line.after
        placed.append(Placed(line, round(t0, 3), round(t0 + len(clip) / SAMPLE_RATE, 3)))
        if line.kind == "interruption":  # the interrupted speaker stops CUT_AFTER_S later
            cut = placed[main]
            placed[main] = Placed(cut.line, cut.t0, round(t0 + CUT_AFTER_S, 3))
        if line.kind != "backchannel":
            main = len(placed) - 1
    length = max(p.t1 for p in placed) + 1.5
    tracks = {role: np.zeros(round(length * SAMPLE_RATE), np.float32) for role in ("patient", "provider")}
    fade = round(0.02 * SAMPLE_RATE)
    for p, clip in zip(placed, clips):
        clip = clip[: round((p.t1 - p.t0) * SAMPLE_RATE)].copy()
        if p.t1 - p.t0 < len(clips[placed.index(p)]) / SAMPLE_RATE - 0.01:
            clip[-fade:] *= np.linspace(1, 0, fade)  # cut off mid-word
        start = round(p.t0 * SAMPLE_RATE)
        tracks[p.line.role][start : start + len(clip)] += clip
    return tracks, placed


@pytest.fixture(scope="module")
def tts_encounter(engine):
    """The scripted dialogue, two tracks, through VAD + Whisper, each segment measured on its clip."""
    tracks, placed = place_lines(TTS_SCRIPT)
    pairs = transcribe_tracks("enc-tts", [Track(role, samples) for role, samples in tracks.items()], engine)
    return placed, [(segment, measure_utterance(u)) for segment, u in pairs], len(tracks["patient"]) / SAMPLE_RATE


def test_tts_dialogue_every_scripted_event_found_none_invented(tts_encounter):
    placed, pairs, length = tts_encounter
    disclosure = next(p for p in placed if "emergency room" in p.line.text)
    disclosure_segments = [
        s for s, a in pairs if s.speaker == "patient" and a.t0 < disclosure.t1 and a.t1 > disclosure.t0
    ]
    moment = Moment(
        id="moment-1",
        encounter="enc-tts",
        speaker="patient",
        t0=disclosure_segments[0].t0,
        t1=disclosure_segments[-1].t1,
        label="discrimination_disclosure",
        confidence=0.9,
        segment=disclosure_segments[-1].id,
        segments=[s.id for s in disclosure_segments],
    )
    events, summary = replay_cues("enc-tts", pairs, [moment], end=length)

    turns = [p for p in placed if p.line.kind != "backchannel"]
    expected_gaps = [
        (b.line.role, b.t0 - a.t1) for a, b in itertools.pairwise(turns) if b.line.kind == "turn" and b.t0 - a.t1 < 3.0
    ]
    gaps = [(c.speaker, c.value) for c in cues(events, "response_latency") if c.moment is None]
    assert [s for s, _ in gaps] == [s for s, _ in expected_gaps]
    assert np.allclose([v for _, v in gaps], [v for _, v in expected_gaps], atol=TOLERANCE_S), (gaps, expected_gaps)

    expected_backchannels = [(p.line.role, p.t0) for p in placed if p.line.kind == "backchannel"]
    found = [(c.speaker, c.t0) for c in cues(events, "backchannel")]
    assert [s for s, _ in found] == [s for s, _ in expected_backchannels]
    assert np.allclose([t for _, t in found], [t for _, t in expected_backchannels], atol=TOLERANCE_S)

    cut = next(p for p in placed if p.line.kind == "interruption")
    (interruption,) = cues(events, "interruption")
    assert (interruption.speaker, interruption.other) == ("provider", "patient")
    assert interruption.t0 == pytest.approx(cut.t0, abs=TOLERANCE_S)
    assert interruption.value == pytest.approx(CUT_AFTER_S, abs=TOLERANCE_S)

    silent_before = next(p for p in placed if p.line.kind == "turn" and p.line.after >= 3.0)
    (silence,) = cues(events, "long_pause")
    assert silence.value == pytest.approx(silent_before.line.after, abs=TOLERANCE_S)
    assert silence.t1 == pytest.approx(silent_before.t0, abs=TOLERANCE_S)

    assert cues(events, "overlap") == [] and cues(events, "opening_interruption") == []
    kinds = {c.kind for c in cues(events) if c.moment is None}
    assert kinds == {"response_latency", "backchannel", "interruption", "long_pause"}

    about = {c.kind: c for c in cues(events) if c.moment == "moment-1"}
    assert about["interrupted_disclosure"].value == 1
    assert about["response_latency"].value == pytest.approx(-CUT_AFTER_S, abs=TOLERANCE_S)
    assert about["pitch"].z is not None and about["speech_rate"].z is not None  # five other provider turns
    assert summary["interruptions"] == {"patient": 0, "provider": 1}
    assert summary["opening_statement"]["interrupted"] is False
