"""The headline model's training data: the stated score rule, the fixed held-out split, and no evaluation row
among the training rows.

`training.data` needs only numpy, so this runs in the service's test environment; the training rows are
composed as `training.headlines.datasets()` composes them (that module needs torch), and the shipped
metadata's row counts tie the two together.
"""

from __future__ import annotations

import json

import pytest
from training.data import (
    evaluation_sets,
    held_out_split,
    load_fiqa,
    load_semeval,
    load_twitter,
    score_label,
)

from ai_service.registry import ARTIFACTS


@pytest.mark.parametrize(
    ("score", "label"),
    [(0.0501, "positive"), (0.05, "neutral"), (0.0, "neutral"), (-0.05, "neutral"), (-0.0501, "negative")],
)
def test_scores_map_to_classes_by_the_stated_band(score: float, label: str) -> None:
    assert score_label(score) == label


def test_the_split_is_fixed_about_a_fifth_and_keeps_each_semeval_title_on_one_side() -> None:
    semeval, titles = load_semeval()
    train, held = held_out_split(semeval, titles)
    again = held_out_split(semeval, titles)
    assert (train.texts, held.texts) == (again[0].texts, again[1].texts)
    assert 0.15 < len(held.texts) / len(semeval.texts) < 0.25
    assert not set(train.texts) & set(held.texts)  # a title scored for two companies never straddles it


def test_no_evaluation_text_is_a_training_text() -> None:
    semeval, titles = load_semeval()
    training = {
        "twitter_financial_news_train": load_twitter("train"),
        "semeval2017_t5_headlines_train_split": held_out_split(semeval, titles)[0],
        "fiqa2018_microblogs_train_split": held_out_split(load_fiqa())[0],
    }
    shipped = json.loads((ARTIFACTS / "headlines.json").read_text())["trained_on"]["datasets"]
    assert {name: len(rows.texts) for name, rows in training.items()} == {
        name: entry["rows"] for name, entry in shipped.items()
    }
    seen = {text for rows in training.values() for text in rows.texts}
    for name, rows in evaluation_sets().items():
        assert not seen & set(rows.texts), name
