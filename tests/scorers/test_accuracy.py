import math

import pytest
from builders import case, conversation, reply

from evals.embedding import DIM, shared_embedder
from evals.errors import UserError
from evals.scorers.accuracy import AccuracyScorer, reply_vectors
from evals.scorers.empathy_model import split_sentences


def test_identical_reply_scores_one_and_unrelated_scores_low() -> None:
    c = case()
    for scorer in (AccuracyScorer(), AccuracyScorer(similarity="chrf")):
        assert scorer.score(c, reply(c, "I'm sorry, let me check your order.")).value == pytest.approx(1.0, abs=1e-5)
        assert scorer.score(c, reply(c, "Our opening hours are 9 to 5.")).value < 0.3


def refund_case():
    conv = conversation(turns=[("customer", "Where is my refund?"),
                               ("agent", "Your refund was sent yesterday and will reach your card within 5 days.")])
    return case(conv)


def test_semantic_similarity_credits_other_words_and_other_languages_where_chrf_does_not() -> None:
    c = refund_case()
    semantic, chrf = AccuracyScorer(semantic_floor=0.85), AccuracyScorer(similarity="chrf")
    paraphrase = "We issued the money back to you yesterday; expect it on your card in five days."
    german = "Ihre Erstattung wurde gestern veranlasst und ist innerhalb von 5 Tagen auf Ihrer Karte."
    unrelated = "Our shop opens at nine and closes at five on weekdays."
    for text in (paraphrase, german):
        meaning = semantic.score(c, reply(c, text)).value
        assert meaning > semantic.score(c, reply(c, unrelated)).value + 0.3
        assert meaning > chrf.score(c, reply(c, text)).value + 0.2


def test_chrf_is_kept_as_a_companion_score() -> None:
    c = refund_case()
    main, companion = AccuracyScorer().score_batch([c], [reply(c, "Refund sent yesterday.")])
    assert (main.scorer, companion.scorer) == ("accuracy", "accuracy_chrf")
    assert 0 < companion.value < 1 and "chrF++" in main.explanation and "meaning" in main.explanation


def test_tool_call_only_reply_is_unscored_not_zero() -> None:
    c = case()
    s = AccuracyScorer().score(c, reply(c, ""))
    assert math.isnan(s.value) and "tool call only" in s.explanation


def test_similarity_and_floor_are_checked() -> None:
    with pytest.raises(UserError, match="similarity: 'bleu' is not one of semantic, chrf"):
        AccuracyScorer(similarity="bleu")
    with pytest.raises(UserError, match="semantic_floor"):
        AccuracyScorer(semantic_floor=1.5)


def test_required_facts_are_blended_with_similarity() -> None:
    conv = conversation(turns=[("customer", "When is my refund due?"), ("agent", "Within 5 days.")],
                        facts=["5 days", "original card"])
    c = case(conv)
    half = AccuracyScorer(fact_weight=1.0).score(c, reply(c, "You get it in 5  DAYS."))
    assert half.value == pytest.approx(0.5)
    assert "missing: original card" in half.explanation
    both = AccuracyScorer(fact_weight=1.0).score(c, reply(c, "5 days, to the original card"))
    assert both.value == pytest.approx(1.0)


def test_unscored_without_reference_or_reply() -> None:
    conv = conversation().model_copy(update={"references": []})
    no_ref = case(conversation())
    no_ref = type(no_ref)(conv, 0, no_ref.reference.model_copy(update={"reply": None}))
    assert math.isnan(AccuracyScorer().score(no_ref, reply(no_ref)).value)
    c = case()
    failed = AccuracyScorer().score(c, reply(c, "", error="HTTPError: 500"))
    assert math.isnan(failed.value) and "HTTPError" in failed.explanation


def test_fact_weight_is_checked() -> None:
    with pytest.raises(UserError, match="fact_weight"):
        AccuracyScorer(fact_weight=2)


def test_reply_vectors_embed_every_sentence_at_once_and_equal_one_reply_at_a_time() -> None:
    embedder = shared_embedder(None)
    texts = ["Sorry about that. I will check your order now.", "Thanks!", "I will check your order now."]
    together = reply_vectors(embedder, texts)
    assert together.shape == (3, DIM)
    for text, row in zip(texts, together):
        mean = embedder.embed(split_sentences(text)).astype(float).mean(axis=0)
        assert row == pytest.approx(mean / (mean ** 2).sum() ** 0.5, abs=1e-6)
    assert reply_vectors(embedder, []).shape == (0, DIM)
