"""Who said it on one room microphone: the voice encoder, diarization, roles, and the benchmark's scoring."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from encounter_feedback.analysis.roles import assign_roles
from encounter_feedback.bench.speakers import attributed_errors, labelled_tokens, wrong_speaker
from encounter_feedback.events import Segment
from encounter_feedback.media.audio import write_wav
from encounter_feedback.media.tts import Placement, RenderedDialogue, render_dialogue
from encounter_feedback.pipeline.offline import analyze, load_sources
from encounter_feedback.pipeline.room import LiveRoom
from encounter_feedback.speech.transcribe import Track, transcribe_tracks
from encounter_feedback.speech.voice_encoder import VoiceEncoder, weights_path
from encounter_feedback.store.database import Store

INTERVIEW = [
    ("provider", "Good morning, I'm one of the medical students. What brings you in today?"),
    ("patient", "I've had a cough for about three weeks now, and it keeps me up at night."),
    ("provider", "I'm sorry to hear that. Are you bringing anything up when you cough?"),
    ("patient", "Some yellow phlegm in the mornings, but no blood."),
    ("provider", "Have you had any fevers or chills?"),
    ("patient", "No fevers. I feel tired all the time, though."),
    ("provider", "Do you smoke, or have you smoked in the past?"),
    ("patient", "I quit five years ago. Before that I smoked for about ten years."),
    ("provider", "Do you have any trouble breathing when you climb stairs or walk fast?"),
    ("patient", "I get winded on the second flight of stairs at work."),
    ("provider", "Thank you. Is there anything else you are worried about?"),
    ("patient", "My father had lung problems, so I wanted to get this checked early."),
]
"""A history taking: the provider asks, the patient answers (as in real consultations)."""
ROOM_VOICES = {"provider": "en-us+m3", "patient": "en-us+f2"}
"""Two clearly different voices. The default demo voices are two variants of one eSpeak voice,
closer to each other than two real people usually are."""
GAP_S = 0.2
"""Shorter than the VAD's 0.5 s end of utterance: the change of speaker falls inside an utterance."""


def render_room(
    lines: Sequence[tuple[str, str]] = INTERVIEW, voices: Mapping[str, str] = ROOM_VOICES
) -> RenderedDialogue:
    """`lines` in two voices, `GAP_S` apart: `mix()` is what one room microphone hears."""
    return render_dialogue(lines, gap_s=GAP_S, voices=voices)


@pytest.fixture(scope="module")
def room() -> RenderedDialogue:
    return render_room()


def heard_lines(room: RenderedDialogue, segments: Sequence[Segment]) -> list[Placement]:
    """The lines of which the transcriber heard words: all, or all but one (tiny.en now and then
    drops the last sentence of a long utterance; eSpeak's rendering differs by a few ms from run
    to run)."""
    heard = [
        line
        for line in room.placements
        if any(line.t0 <= (w["t0"] + w["t1"]) / 2 <= line.t1 for s in segments for w in s.words)
    ]
    assert len(heard) >= len(room.placements) - 1, heard
    return heard


def _analyze_mix(tmp_path, engine, samples: np.ndarray):
    path = tmp_path / "room.wav"
    write_wav(path, samples)
    return analyze(load_sources(mixed=path), engine, Store(tmp_path / "data"), tmp_path / "out")


def test_two_voices_on_one_track_get_their_roles_and_split_where_the_voice_changes(tmp_path, engine, room):
    result = _analyze_mix(tmp_path, engine, room.mix())
    speakers = result.summary["speakers"]
    assert speakers["voices"] == 2 and speakers["roles"]["confident"], speakers
    segments = result.segments
    assert {s.speaker for s in segments} == {"patient", "provider"}
    assert {s.model for s in segments} == {engine.name}  # split parts keep the model that decoded them
    heard = heard_lines(room, segments)
    for line in heard:
        inside = [s for s in segments if line.t0 <= (s.t0 + s.t1) / 2 <= line.t1]
        assert inside and {s.speaker for s in inside} == {line.role}, (line, inside)
        assert min(s.t0 for s in inside) == pytest.approx(line.t0, abs=0.5), line
        assert max(s.t1 for s in inside) == pytest.approx(line.t1, abs=0.5), line
    # Lines 0.2 s apart were one utterance for the VAD: it was split where the voice changed.
    assert len(segments) >= len(heard)
    assert "provider" in (tmp_path / "out" / "transcript.txt").read_text().lower()


def test_one_voice_stays_one_speaker(tmp_path, engine):
    one_voice = {"provider": ROOM_VOICES["provider"], "patient": ROOM_VOICES["provider"]}
    dialogue = render_room(voices=one_voice)
    result = _analyze_mix(tmp_path, engine, dialogue.mix())
    assert result.summary["speakers"]["voices"] == 1, result.summary["speakers"]
    assert {s.speaker for s in result.segments} == {"unknown"}
    assert sum(len(s.words) for s in result.segments) > 100


def test_roles_from_questions_and_pronouns():
    provider = "What brings you in? Do you have any pain? How long have you had it?"
    patient = "I have a headache. It started on Monday. My mother gets them too."
    roles = assign_roles((patient, provider))
    assert roles.provider == 1 and roles.roles == {1: "provider", 0: "patient"}
    assert roles.confident and "3 of 3 sentences were questions" in roles.explain()
    assert not assign_roles(("Hello.", "Hello.")).confident


@pytest.mark.slow  # loads PyTorch as the reference (about 20 s)
def test_encoder_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the reference for the NumPy LSTM (not needed at run time)")
    weights = np.load(weights_path())
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    linear = torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: torch.from_numpy(weights[k]) for k in weights.files if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: torch.from_numpy(weights[k]) for k in weights.files if k.startswith("linear.")})
    mels = np.random.default_rng(0).gamma(0.5, 2.0, size=(3, 160, 40)).astype(np.float32)
    lengths = np.array([160, 90, 31])
    expected = []
    with torch.no_grad():
        for mel, n in zip(mels, lengths):
            _, (hidden, _) = lstm(torch.from_numpy(mel[None, :n]))
            raw = torch.relu(linear(hidden[-1]))[0].numpy()
            expected.append(raw / np.linalg.norm(raw))
    got = VoiceEncoder().embed(mels, lengths)
    np.testing.assert_allclose(got, np.stack(expected), atol=2e-6)


def test_shipped_weights_are_resemblyzers():
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("resemblyzer not installed (pip install --no-deps resemblyzer): nothing to compare with")
    from encounter_feedback.training.voice_weights import encoder_weights, resemblyzer_checkpoint

    shipped = np.load(weights_path())
    converted = encoder_weights(resemblyzer_checkpoint())
    assert sorted(shipped.files) == sorted(converted)
    for name, value in converted.items():
        np.testing.assert_array_equal(shipped[name], value)


def test_bench_scores_words_on_the_wrong_speaker():
    reference = labelled_tokens([("provider", "Any pain?"), ("patient", "No, none at all.")])
    right = labelled_tokens([("provider", "any pain"), ("patient", "no none at all")])
    late_switch = labelled_tokens([("provider", "any pain no"), ("patient", "none at all")])
    assert wrong_speaker(reference, right) == (0, 6)
    assert wrong_speaker(reference, late_switch) == (1, 6)
    errors = attributed_errors(reference, late_switch)
    assert (errors["provider"].errors, errors["patient"].errors) == (1, 1)
    swapped = attributed_errors(reference, right, swap=True)
    assert swapped["provider"].errors == 4 and swapped["patient"].errors == 4


def test_live_room_labels_each_final_and_hands_the_analysis_labelled_segments(engine, room):
    """The room station's finals through LiveRoom, as the live transcriber hands them over."""
    pairs = transcribe_tracks("enc", [Track("unknown", room.mix())], engine)
    published: list[Segment] = []
    analysed: list[Segment] = []
    relabels: list[int] = []
    """How many events were out each time the analysis was told that segments it heard were relabelled."""

    async def run() -> None:
        live = LiveRoom(
            published.append,
            lambda utterance, segment: analysed.append(segment),
            on_relabel=lambda: relabels.append(len(published)),
        )
        for segment, utterance in pairs:
            live.emit(segment)
            live.final(utterance, segment)
        await live.drain()

    asyncio.run(run())
    latest = {s.id: s for s in published}  # the latest version of each id wins
    segments = sorted((s for s in latest.values() if s.words), key=lambda s: s.t0)
    assert {s.speaker for s in segments} == {"patient", "provider"}
    assert all(s.revision == 1 for s in segments)
    assert {s.model for s in segments} == {engine.name}  # relabelled parts keep the model that decoded them
    for line in heard_lines(room, [s for s, _ in pairs]):
        inside = [s for s in segments if line.t0 <= (s.t0 + s.t1) / 2 <= line.t1]
        assert inside and {s.speaker for s in inside} == {line.role}, (line, inside)
    # The analysis hears every final once, labelled, in the order spoken: as its parts stood when
    # two voices were found (how far re-estimates got by then depends on the worker thread's pace).
    heard_ids = [s.id for s in analysed]
    assert len(heard_ids) == len(set(heard_ids))
    assert {s.id for s, _ in pairs} <= set(heard_ids)
    assert {s.speaker for s in analysed} <= {"patient", "provider"}
    order = [s.id for s, _ in pairs]
    assert [order.index(s.id.split(".")[0]) for s in analysed] == sorted(
        order.index(s.id.split(".")[0]) for s in analysed
    )
    # Whatever changed after the analysis heard it (another speaker, or a part split off later) was
    # announced as relabelled after its latest version went out, so the flags coded on it can follow.
    heard = {s.id: (s.speaker, s.text) for s in analysed}
    for segment in segments:
        if heard.get(segment.id) != (segment.speaker, segment.text):
            last_sent = max(i for i, s in enumerate(published) if s.id == segment.id)
            assert relabels and relabels[-1] > last_sent, segment.id
