"""The shared ASR queue with the real model: priorities, packing, degrading under load."""

from __future__ import annotations

import asyncio

import jiwer
import numpy as np

from encounter_feedback.bench.wer import normalize
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.store.hub import Hub


class PartialProbe:
    """A PartialSource that always offers the same clip and keeps what it hears."""

    def __init__(self, clip: np.ndarray) -> None:
        self.clip = clip
        self.heard: list[ClipTranscript] = []

    def partial_clip(self) -> np.ndarray:
        return self.clip

    def on_partial(self, clip: np.ndarray, transcript: ClipTranscript) -> None:
        self.heard.append(transcript)

    def context(self) -> None:
        return None


def test_backlog_is_packed_partials_dropped_and_recovery_announced(engine, dialogue):
    clips = [
        dialogue.tracks[p.role][round((p.t0 - 0.2) * SAMPLE_RATE) : round((p.t1 + 0.2) * SAMPLE_RATE)]
        for p in dialogue.placements
    ]

    async def scenario():
        scheduler = AsrScheduler(engine, degrade_after_s=0.2, recover_after_s=0.1)
        changes: list[tuple[bool, str]] = []
        scheduler.listeners.append(lambda degraded, message: changes.append((degraded, message)))
        scheduler.start()
        probe = PartialProbe(clips[0])
        first = scheduler.final(clips[0])
        await asyncio.sleep(0.05)  # the first decode is running: the rest must wait for it
        rest = [scheduler.final(clip) for clip in clips[1:]]
        scheduler.request_partial(probe)
        transcripts = [await first] + list(await asyncio.gather(*rest))
        during = scheduler.stats
        scheduler.request_partial(probe)  # caught up: partials are served again
        for _ in range(100):
            if probe.heard:
                break
            await asyncio.sleep(0.05)
        await scheduler.stop()
        return transcripts, during, changes, probe.heard

    transcripts, stats, changes, heard = asyncio.run(scenario())
    for placed, transcript in zip(dialogue.placements, transcripts):
        text = " ".join(w.w for w in transcript.words)
        assert jiwer.wer(normalize(placed.text), normalize(text)) <= 0.3, (placed.text, text)
    assert stats.decodes == 2, "the four waiting finals share one decode"
    assert stats.partials_dropped == 1 and stats.pending_finals == 0 and stats.backlog_s == 0
    assert [degraded for degraded, _ in changes] == [True, False]
    assert "behind" in changes[0][1] and "caught up" in changes[1][1]
    assert len(heard) == 1 and "morning" in " ".join(w.w for w in heard[0].words).lower()


def test_a_slow_subscriber_is_cut_off_instead_of_buffering_forever():
    async def scenario():
        hub = Hub(queue_size=2)
        slow, fast = hub.subscribe("enc"), hub.subscribe("enc")
        for seq in range(3):
            hub.publish("enc", {"seq": seq})
            await fast.get()
        return slow.overflowed, await slow.get(), fast.overflowed

    assert asyncio.run(scenario()) == (True, None, False)


def test_a_revision_waits_for_a_lull_but_is_not_starved_by_endless_partials(engine, dialogue):
    clip = dialogue.tracks["patient"][
        round(dialogue.placements[1].t0 * SAMPLE_RATE) : round(dialogue.placements[1].t1 * SAMPLE_RATE)
    ]

    async def scenario():
        scheduler = AsrScheduler(engine, revision_patience_s=1.0)
        scheduler.start()

        class Talker(PartialProbe):
            """Someone who never stops talking: asks for the next partial as soon as one arrives."""

            def on_partial(self, clip, transcript):
                super().on_partial(clip, transcript)
                scheduler.request_partial(self)

        talker = Talker(clip)
        scheduler.request_partial(talker)
        await asyncio.sleep(0.1)
        revision = scheduler.revision([clip], None)
        [transcript] = await asyncio.wait_for(revision, 10)
        partials_before_revision = len(talker.heard)
        await scheduler.stop()
        return transcript, partials_before_revision

    transcript, partials = asyncio.run(scenario())
    assert "headache" in " ".join(w.w for w in transcript.words).lower()
    assert 2 <= partials <= 5, "partials went first until the revision had waited its patience"
