"""The shared ASR queue: priorities, packing, degrading under load and recovering.

The queue's decisions are driven by a `GatedEngine` (tests/gated_engine.py), whose every decode
waits until the test releases it, and a `FakeClock` the test advances: the test decides what is
queued while a decode runs and how long finals have waited, so what is asserted is the order of
decodes, never how fast this machine is. One test runs the real model, with assertions that hold at any speed.
"""

from __future__ import annotations

import asyncio

import jiwer
import numpy as np
import pytest

from encounter_feedback.bench.wer import normalize
from encounter_feedback.media.audio import SAMPLE_RATE
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.store.hub import Hub
from gated_engine import WAIT_S, FakeClock, GatedEngine, clip


class PartialProbe:
    """A PartialSource that always offers the same clip and keeps what it hears."""

    def __init__(self, clip: np.ndarray) -> None:
        self.clip = clip
        self.heard: list[ClipTranscript] = []
        self.got = asyncio.Event()

    def partial_clip(self) -> np.ndarray:
        return self.clip

    def on_partial(self, clip: np.ndarray, transcript: ClipTranscript) -> None:
        self.heard.append(transcript)
        self.got.set()

    def context(self) -> None:
        return None


def text(transcript: ClipTranscript) -> str:
    return " ".join(w.w for w in transcript.words)


def test_a_backlog_degrades_drops_the_optional_work_packs_the_finals_and_recovers():
    async def scenario() -> None:
        engine, clock = GatedEngine(), FakeClock()
        scheduler = AsrScheduler(engine, degrade_after_s=1.0, recover_after_s=3.0, clock=clock)
        changes: list[tuple[bool, str]] = []
        scheduler.listeners.append(lambda degraded, message: changes.append((degraded, message)))
        scheduler.start()

        first = scheduler.final(clip(1))
        running = await engine.next_decode()
        assert running.words == ["w1"]
        # while the first decode runs, the backlog builds: three finals, a speculation, a partial, a revision
        rest = [scheduler.final(clip(n)) for n in (2, 3, 4)]
        speculation = scheduler.final(clip(5), speculative=True)
        probe = PartialProbe(clip(6))
        scheduler.request_partial(probe)
        revision = scheduler.revision([clip(7)], None)
        clock.now += 1.5  # the finals have waited longer than degrade_after_s
        assert scheduler.stats.pending_finals == 3 and scheduler.stats.backlog_s == pytest.approx(3.0)
        assert scheduler.stats.oldest_wait_s == pytest.approx(1.5)

        running.release()
        packed = await engine.next_decode()
        assert packed.words == ["w2", "w3", "w4"], "the waiting finals share one decode"
        assert [degraded for degraded, _ in changes] == [True] and "1.5 s behind" in changes[0][1]
        assert speculation.cancelled() and revision.cancelled()
        stats = scheduler.stats
        assert (stats.partials_dropped, stats.speculations_dropped, stats.revisions_dropped) == (1, 1, 1)
        assert stats.degraded and stats.pending_finals == 0 and stats.backlog_s == 0

        packed.release()
        transcripts = [await first, *await asyncio.gather(*rest)]
        assert [text(t) for t in transcripts] == ["w1", "w2", "w3", "w4"]
        assert [(w.t0, w.t1) for w in transcripts[2].words] == [(0.0, 1.0)], "times are the clip's own"

        clock.now += 3.0  # kept up for recover_after_s: partials are served again
        scheduler.request_partial(probe)
        partial = await engine.next_decode()
        assert [degraded for degraded, _ in changes] == [True, False] and "caught up" in changes[1][1]
        partial.release()
        await asyncio.wait_for(probe.got.wait(), WAIT_S)
        assert [text(t) for t in probe.heard] == ["w6"]
        assert scheduler.stats.decodes == 3 and scheduler.stats.partials == 1
        await scheduler.stop()

    asyncio.run(scenario())


def test_finals_go_first_then_speculation_then_partials_then_revisions():
    async def scenario() -> list[list[str]]:
        engine = GatedEngine()
        scheduler = AsrScheduler(engine, clock=FakeClock())
        scheduler.start()
        first = scheduler.final(clip(1))
        order = [await engine.next_decode()]
        probe = PartialProbe(clip(4))
        revision = scheduler.revision([clip(5)], "said before")
        scheduler.request_partial(probe)
        scheduler.request_partial(probe)  # repeated requests coalesce
        speculation = scheduler.final(clip(3), speculative=True)
        final = scheduler.final(clip(2), prompt="earlier words")
        for _ in range(4):
            order[-1].release()
            order.append(await engine.next_decode())
        order[-1].release()
        await asyncio.gather(first, final, speculation, revision, probe.got.wait())
        assert engine.idle() and scheduler.stats.decodes == 5
        assert [d.prompt for d in order] == [None, "earlier words", None, None, "said before"]
        await scheduler.stop()
        return [d.words for d in order]

    assert asyncio.run(scenario()) == [["w1"], ["w2"], ["w3"], ["w4"], ["w5"]]


def test_a_revision_waits_for_a_lull_but_is_not_starved_by_endless_partials():
    async def scenario() -> tuple[int, ClipTranscript]:
        engine, clock = GatedEngine(), FakeClock()
        scheduler = AsrScheduler(engine, revision_patience_s=5.0, clock=clock)
        scheduler.start()

        class Talker(PartialProbe):
            """Someone who talks on and on: asks for the next partial as soon as one arrives."""

            talking = True

            def on_partial(self, clip: np.ndarray, transcript: ClipTranscript) -> None:
                super().on_partial(clip, transcript)
                if self.talking:
                    scheduler.request_partial(self)

        talker = Talker(clip(1))
        scheduler.request_partial(talker)
        decode = await engine.next_decode()
        revision = scheduler.revision([clip(2)], None)
        partials = 0
        while decode.words == ["w1"]:
            partials += 1
            if partials == 3:
                clock.now += 5.5  # the revision has waited past its patience
            decode.release()
            decode = await engine.next_decode()
        decode.release()
        [revised] = await asyncio.wait_for(revision, WAIT_S)
        after = await engine.next_decode()  # then the talker's partials resume
        assert after.words == ["w1"]
        talker.talking = False
        after.release()
        await scheduler.stop()
        return partials, revised

    partials, revised = asyncio.run(scenario())
    assert partials == 3, "partials went first until the revision had waited its patience"
    assert text(revised) == "w2"


def test_a_failed_decode_reaches_every_caller_and_the_queue_goes_on():
    async def scenario() -> tuple[list[BaseException | ClipTranscript], list[str]]:
        engine = GatedEngine()
        scheduler = AsrScheduler(engine, clock=FakeClock())
        scheduler.start()
        first = scheduler.final(clip(1))
        running = await engine.next_decode()
        packed = [scheduler.final(clip(2)), scheduler.final(clip(3))]
        probe = PartialProbe(clip(4))
        scheduler.request_partial(probe)
        running.release()
        (failing := await engine.next_decode()).fail(RuntimeError("out of memory"))
        (partial := await engine.next_decode()).fail(RuntimeError("out of memory"))  # a lost partial costs nothing
        later = scheduler.final(clip(5))
        (last := await engine.next_decode()).release()
        outcomes = await asyncio.gather(first, *packed, later, return_exceptions=True)
        await scheduler.stop()
        assert (failing.words, partial.words, last.words) == (["w2", "w3"], ["w4"], ["w5"])
        return outcomes, [text(t) for t in probe.heard]

    outcomes, heard = asyncio.run(scenario())
    assert text(outcomes[0]) == "w1" and text(outcomes[3]) == "w5"
    assert all(isinstance(o, RuntimeError) and "out of memory" in str(o) for o in outcomes[1:3])
    assert heard == []


def test_waiting_finals_are_packed_into_one_real_decode_and_each_gets_its_words(engine, dialogue):
    """The real model: finals queued together are decoded in one window and split back by clip;
    the partial asked for at the same time waits for them. Nothing here depends on speed."""
    clips = [
        dialogue.tracks[p.role][round((p.t0 - 0.2) * SAMPLE_RATE) : round((p.t1 + 0.2) * SAMPLE_RATE)]
        for p in dialogue.placements
    ]

    async def scenario():
        scheduler = AsrScheduler(engine, degrade_after_s=3600.0)
        scheduler.start()
        probe = PartialProbe(clips[0])
        finals = [scheduler.final(c) for c in clips]  # all queued before the scheduler's loop first runs
        scheduler.request_partial(probe)
        transcripts = await asyncio.gather(*finals)
        await asyncio.wait_for(probe.got.wait(), 60)
        stats = scheduler.stats
        await scheduler.stop()
        return transcripts, stats, probe.heard

    transcripts, stats, heard = asyncio.run(scenario())
    for placed, transcript in zip(dialogue.placements, transcripts):
        assert jiwer.wer(normalize(placed.text), normalize(text(transcript))) <= 0.3, (placed.text, text(transcript))
    assert stats.decodes == 2 and stats.partials == 1, "one decode for the five finals, then the partial"
    assert len(heard) == 1 and "morning" in text(heard[0]).lower()


def test_a_slow_subscriber_is_cut_off_instead_of_buffering_forever():
    async def scenario():
        hub = Hub(queue_size=2)
        slow, fast = hub.subscribe("enc"), hub.subscribe("enc")
        for seq in range(3):
            hub.publish("enc", {"seq": seq})
            await fast.get()
        return slow.overflowed, await slow.get(), fast.overflowed

    assert asyncio.run(scenario()) == (True, None, False)
