"""The second pass of a live track: finals gathered, decoded again together, revised where the words changed."""

from __future__ import annotations

import asyncio

from encounter_feedback.events import Event, Segment, Word
from encounter_feedback.speech.asr import ClipTranscript
from encounter_feedback.speech.scheduler import AsrScheduler
from encounter_feedback.speech.second_pass import SecondPass
from encounter_feedback.speech.utterances import Utterance, to_segment
from gated_engine import FakeClock, GatedEngine, clip


def first_pass(n: int, heard: str) -> tuple[Utterance, Segment]:
    """Utterance n (the gated engine hears `w{n}` in it; 2 s apart) and its live final, which heard `heard`."""
    utterance = Utterance("patient", 2.0 * n, 2.0 * n + 1.0, clip(n), 2.0 * n)
    segment = to_segment("enc", f"patient-{n}", utterance, ClipTranscript([Word(heard, 0.1, 0.9, 0.8)], -0.3))
    assert segment is not None
    return utterance, segment


def test_gathered_finals_are_decoded_together_and_revised_where_the_words_changed():
    async def scenario() -> tuple[list[list[str]], list[str | None], list[Event]]:
        engine = GatedEngine()
        scheduler = AsrScheduler(engine, clock=FakeClock())
        scheduler.start()
        revised: list[Event] = []
        second = SecondPass("enc", scheduler, revised.append, revise_after_s=2.5)
        second.add(*first_pass(1, "w1"), prompt="good morning")  # the second pass will agree
        second.add(*first_pass(2, "x2"), prompt="good morning w1")  # it will hear w2
        assert engine.idle(), "2 s gathered: not yet"
        second.add(*first_pass(3, "w3"), prompt="good morning w1 x2")
        batch = await engine.next_decode()
        batch.release()
        second.add(*first_pass(4, "x4"), prompt="good morning w1 x2 w3")
        finishing = asyncio.create_task(second.finish())  # the track ended: the rest is revised too
        rest = await engine.next_decode()
        rest.release()
        await asyncio.wait_for(finishing, 10)
        await scheduler.stop()
        return [batch.words, rest.words], [batch.prompt, rest.prompt], revised

    decodes, prompts, revised = asyncio.run(scenario())
    assert decodes == [["w1", "w2", "w3"], ["w4"]]
    assert prompts == ["good morning", "good morning w1 x2 w3"], "each batch with what was said before its first final"
    assert [(e.id, e.text, e.revision) for e in revised] == [("patient-2", "w2", 1), ("patient-4", "w4", 1)]
    assert [(e.t0, e.t1) for e in revised] == [(4.0, 5.0), (8.0, 9.0)]
