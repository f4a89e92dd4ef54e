"""The hand-off detector on real agent lines from wmt24_chat (quoted verbatim)."""

from __future__ import annotations

import pytest

from evals.handoff import DEFAULT_PATTERNS, HandoffDetector

DETECT = HandoffDetector()

HANDOFFS = [
    "I will escalate your case to our refunds department to process your refund, please wait to be "
    "contacted by our refunds team shortly for updates and confirmation of the refund.",
    "I need to escalate this refund request to our specialist team.",
    "As I can see your case has already been escalated to our team for investigation.",
    "I am escalating again for you in best possible way.",
    "In order to assist you further on this I need to forward your case for further investigation "
    "to our TOS team.",
    "I would like to inform that I am forwarding your case to TOS team.",
    "Hello, The previous agent is ready to receive your chat again, I will transfer you to them "
    "shortly.",
    "I have successfully transferred your case to Terms of Service team and please be assured that "
    "the team will get back to you after reviewing your account.",
    "Thank you, I will pass your information over to the team and they will contact you to speak "
    "about this by phone.",
    "Okay, I am going to pass the details to a colleague who will give you a call",
    "Please rest assured that our dedicated team will contact you via email as soon as possible.",
    "My colleague will contact you and update you",
    "One of our Dutch speaking agents will call you as soon as we can, thanks a lot for your "
    "patience",
    "No it will not be me that calls, I will arrange a call back from another agent",
    "I am sending your dispute to our Terms of Service team.",
    "However, I can raise a dispute on this sanction on your behalf.",
    "I will go ahead and create a case right away to the relevant department.",
    "I will redirect this ticket to our refund department so they can process the refund to your "
    "payment method and once the refund is processed, they will send you a confirmation email.",
    "I need to raise a query with our Mainland Europe logistics team to find out what is happening "
    "to your order.",
    "My manager is ready to take your chat",
]

NOT_HANDOFFS = [
    "Re-download the file and transfer it to your eReader.",
    "Transfer the eBook from #PRS_ORG# to your #PRS_ORG#.",
    "I understand that you have sold 38 players on Transfer market and you have not received coins "
    "for them.",
    "Hello there, I understand you are unable to transfer your PRS-ORG points to PRS-ORG.",
    "I can transfer your book to your main account.",
    "We will be looking forward to hear from you.",
    "You can expect this refund to arrive in 5-7 days depending on your bank/carrier, and you "
    "won't be charged again moving forward.",
    "I am going to forward you these steps through email after this chat session is completed.",
    "Without more details I can not contact the courier, are you able to forward the "
    "email?",
    "Please accept my apologies, we cannot escalate it again in this case as it has been rejected "
    "thrice.",
    "Yeah If there was a suspicious activity I could have escalated  the case",
    "I will take it as feedback and pass it on to the relevant department.",
    "If you are still facing the same gameplay issue, I will request you to please report this "
    "issue to the game team through the below link",
    "The issue that you are facing has already been reported to our team via many players and our "
    "team is working  with our maximum capabilities to get this issue fixed.",
    "Our dedicated teams are working hard on the issue to fix it at earliest.",
    "I have arranged a collection with the courier #PRS_ORG# and they will contact you directly to "
    "book in a collection date.",
    "I have spoken to a manager",
    "Please feel free to reach out to us again if you face any issue and we would be more than "
    "glad to help you out!",
    "Thank you for getting in touch about this, I will certainly try my best to help you.",
    "Enter your #PRS_ORG# password.",
]


@pytest.mark.parametrize("text", HANDOFFS)
def test_detects_real_handoffs(text: str) -> None:
    phrase = DETECT.match(text)
    assert phrase is not None and phrase in text
    assert DETECT(text)


@pytest.mark.parametrize("text", NOT_HANDOFFS)
def test_ignores_other_uses_of_the_words(text: str) -> None:
    assert DETECT.match(text) is None
    assert not DETECT(text)


def test_returns_the_earliest_phrase() -> None:
    text = "My colleague will contact you. I have escalated your case to the concerned team."
    assert DETECT.match(text) == "My colleague will contact you"


def test_custom_patterns_replace_the_defaults() -> None:
    detector = HandoffDetector(patterns=(r"\bhuman\b",))
    assert detector("let me get a human")
    assert not detector("I will escalate your case to our team")
    assert HandoffDetector().patterns == DEFAULT_PATTERNS


def test_every_default_pattern_compiles_case_insensitively() -> None:
    assert DETECT("I WILL ESCALATE YOUR CASE TO OUR TEAM")
    assert all(isinstance(p, str) and p for p in DEFAULT_PATTERNS)
