"""What the encoders learn from: the examples built from the corpus, and the fine-tune's loss."""

from __future__ import annotations

import math

import pytest

from encounter_feedback.training.corpus import Item
from encounter_feedback.training.examples import SOME_MOMENT, from_reply_contexts


def _item(n: int, speaker: str, text: str, context: str | None = None, response: str | None = None) -> Item:
    return Item(f"x-{n}", speaker, text, context, None, response, "written for this test")


def test_the_turns_replies_answer_are_race_themed_moments_once_each_and_only_if_new():
    items = [
        _item(1, "patient", "The last doctor said it was all in my head."),
        _item(2, "provider", "I'm sorry.", "They sent me home without a scan.", "empathy"),
        _item(3, "provider", "That was wrong.", "They sent me home without a scan.", "validation"),
        _item(4, "provider", "Tell me more.", "The last doctor said it was all in my head.", "exploration"),
        _item(5, "provider", "Did you try yoga?", "They ignored me because I'm in a wheelchair.", "minimizing"),
        _item(6, "provider", "Any allergies?", "My knee hurts.", None),  # ordinary talk: no moment answered
        _item(7, "provider", "Anyone can get this.", "Are you going to brush me off too?", "colorblind"),
        _item(8, "provider", "That's awful.", "They ignored me because I'm a woman.", "validation"),  # another ground
        _item(9, "provider", "I hear you.", "Doctors always think Black women are exaggerating.", "validation"),
        _item(10, "provider", "Go on.", "Ugh, again.", "exploration"),  # too short to be a moment
    ]
    examples = from_reply_contexts(items)
    assert [e.first for e in examples] == [
        "Are you going to brush me off too?",
        "Doctors always think Black women are exaggerating.",
        "They sent me home without a scan.",
    ]
    assert all(e.second is None and e.labels == {"race_themed": SOME_MOMENT} and e.hard for e in examples)


def test_a_moment_with_no_written_label_is_taught_only_that_it_is_a_moment():
    torch = pytest.importorskip("torch", reason="training needs the [train] extra")
    from encounter_feedback.training.finetune import _loss

    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0, 0.3, 1.0], [0.0, 3.0, 0.0, 0.0, 0.0, 0.0]], requires_grad=True)
    some = _loss({"race_themed": logits[:1]}, [{"race_themed": SOME_MOMENT}])
    p = torch.softmax(logits[0], dim=0).detach()
    assert some.item() == pytest.approx(-math.log(1.0 - p[0].item()), rel=1e-5)
    some.backward()
    grad = logits.grad[0]
    assert grad[0] > 0 and (grad[1:] < 0).all(), "P(none) pushed down, every label up"
    assert grad[1:] / p[1:] == pytest.approx(torch.full((5,), (grad[1] / p[1]).item()), rel=1e-4), "no label favoured"
    mixed = _loss({"race_themed": logits}, [{"race_themed": SOME_MOMENT}, {"race_themed": 1}])
    labelled = torch.nn.functional.cross_entropy(logits[1:], torch.tensor([1]))
    assert mixed.item() == pytest.approx((some.item() + labelled.item()) / 2, rel=1e-5)
