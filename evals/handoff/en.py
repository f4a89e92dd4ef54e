"""English hand-off phrases and cues.

The hand-off patterns were tuned on the English agent lines of `wmt24_chat` (`{train,valid}/en-*.csv`)
for precision: a hand-off needs a hand-off verb *and* a case/team, so "transfer the eBook to your
eReader", "the transfer market" or "looking forward to hearing from you" do not match. Whether a
matched phrase is done, offered or refused is decided by the cues below (see `detector.py`).
"""

from __future__ import annotations

from evals.handoff.phrases import PhraseSet

# Someone (or a unit) who can take over a case. Word-bounded by the patterns that use it.
_TEAM = (
    r"(?:team|teams|department|departments|dept|colleague|colleagues|specialist|specialists"
    r"|supervisor|supervisors|superiors?|manager|managers|agent|agents|advisor|advisors"
    r"|higher[- ]ups?|higher (?:tier|level|authorities)|next[- ]level(?: of support)?"
    r"|level of support|tier [23]|TOS|Terms of Services?|refunds? area|finance)"
)
# What an agent hands on: the customer's case, not a file, a book or a comment.
_CASE = (
    r"(?:case|cases|issue|request|query|queries|ticket|concern|concerns|complaint|matter|dispute"
    r"|appeal|details|information|situation|problem|question)"
)
# Filler words between the parts of a phrase; never feedback, which is relayed, not handed off.
_W = r"(?:(?!feedback\b|suggestions?\b|comments?\b)[\w'#][\w'#-]*[ ,]+)"

DEFAULT_PATTERNS: tuple[str, ...] = (
    # "I will escalate your case", "escalating this to", "it has been escalated already"
    r"\bescalat(?:e|es|ed|ing)\b[ ,]+(?:(?:it|this|that|the|your|my|our|a)\b[ ,]*)?"
    r"(?:" + _W + r"{0,2})?(?:" + _CASE + r"|to|with|it|this|that)\b",
    r"\b(?:" + _CASE + r"|it|this|that)\s+(?:has|have|had|was|were|is|are|will be|would be|been"
    r"|already|also|successfully|now|just|created and|\s)+escalated\b",
    # "I am escalating again for you", "I have escalated and ...", "it's to escalate so our team"
    r"\b(?:I|we)(?:'ve|'ll|'m| have| will| am| can| had| would| shall)?\s+"
    r"(?:(?!not\b|cannot\b|never\b|unable\b|could\b|would\b|should\b)\w+\s+){0,3}?"
    r"(?:re-?)?escalat(?:e|ed|ing)\b",
    r"\bescalat(?:e|ed|ing) so (?:that )?(?:our|the|my) (?:\w+ )?team\b",
    r"\b(?:complet|process|rais|creat|submitt?)(?:e|es|ed|ing) (?:the|an|this|your) escalation\b",
    # "I have forwarded your issue", "transferring your case", "your request has been forwarded"
    r"\b(?:forward|transferr?)(?:ed|ing)? (?:your|the|this) (?:case|issue|request"
    r"|concern|complaint|ticket|dispute|appeal)\b(?! number)",
    r"\b(?:case|issue|request|concern|complaint|ticket|dispute|appeal|this|it)\s+(?:has|have|was"
    r"|were|is|are|will be|been|already|also|successfully|now|just|\s)+(?:forwarded|transferred"
    r"|passed(?: over| on)?|referred|sent|routed)\s+(?:over\s+)?to\s+(?:them|" + _W + r"{0,4}?"
    + _TEAM + r"\b)",
    r"\bpass(?:ed|ing)? (?:the|your|this) (?:information|details|case|question|query)"
    r" (?:over|on)\b",
    r"\b(?:case|request|issue|concern|complaint|ticket)\s+(?:has|have|was|were|is|are|been|already"
    r"|also|successfully|now|just|\s)+(?:forwarded|transferred)\b",
    r"\bask (?:the|our|my) (?:\w+ ){0,2}?(?:team|department|colleague|manager|supervisor) to\b",
    r"\b(?:have|has|I've) (?:\w+ )?taken your (?:case|issue|concern) to\b",
    # "forward / transfer / pass / send / refer / redirect your case to our team"
    r"\b(?:forward(?:ed|ing)?|transferr?(?:ed|ing)?|pass(?:ed|ing)?|send(?:ing)?|sent"
    r"|refer(?:red|ring)?|redirect(?:ed|ing)?|process(?:ed|ing)?)\s+"
    + _W + r"{0,3}?" + _CASE + r"\b[ ,]+" + _W + r"{0,5}?(?:to|with)\s+" + _W + r"{0,4}?(?:"
    + _TEAM + r"|them|him|her|another \w+)\b",
    # "forward it to the concerned department", "pass this over to our products team"
    r"\b(?:forward(?:ed|ing)?|transferr?(?:ed|ing)?|pass(?:ed|ing)?|send(?:ing)?|sent"
    r"|refer(?:red|ring)?|redirect(?:ed|ing)?|escalat(?:e|ed|ing)|rout(?:e|ed|ing)"
    r"|highlight(?:ed|ing)?)\s+(?!(?:an? |the )?(?:e-?mail|message)\b)"
    + _W + r"{0,4}?(?:over |on |through )?(?:to|with)\s+" + _W + r"{0,4}?" + _TEAM + r"\b",
    # "I will transfer you to ...", "let me transfer you over to"
    r"\btransferr?(?:ed|ing)?\s+you\s+(?:over\s+|back\s+)?to\b",
    # "raise a query with our warehouse team", "I have raised this internally"
    r"\brais(?:e|ed|es|ing)\s+" + _W + r"{0,3}?(?:with|to)\s+" + _W + r"{0,4}?" + _TEAM + r"\b",
    r"\brais(?:e|ed|es|ing)\s+(?:this|it|your \w+)\s+internally\b",
    # ban disputes and appeals go to the Terms of Service team
    r"\b(?:rais(?:e|ed|ing)|submit(?:ted|ting)?|fil(?:e|ed|ing)|creat(?:e|ed|ing)|prepared"
    r"|send(?:ing)?|sent)\s+(?:(?:a|an|the|this|your|new|another|formal)\s+)*"
    r"(?:dispute|appeal)\b",
    r"\bdispute (?:the|this|your) (?:ban|sanction|suspension)",
    # "I am going to create a case on your behalf", "create a case right away to the department"
    r"\bcreat(?:e|ed|ing) (?:a|an|the) (?:new )?case (?:on your behalf|for (?:you|the|this))",
    r"\bcreat(?:e|ed|ing) (?:a|an|the) (?:new )?case\b[ ,]+" + _W + r"{0,3}?to (?:the|our|a)\s+"
    + _W + r"{0,3}?" + _TEAM + r"\b",
    # "I need to report this to my concerned team now" (not "it has been reported to the team":
    # known bugs that many players reported are not this customer's hand-off)
    r"\breport(?:ing)? (?:this|it|your case|your issue) to (?:my|our|the)"
    r" (?:concern(?:ed)? )?team\b",
    # "our dedicated team will contact you", "the TOS team will reach out to you" (not "our team
    # will guide you through the steps": the team has to take the case over)
    r"\b(?:our|the|my|a)\s+(?:[\w-]+\s+){0,3}?team\s+(?:will|would|shall|is going to|are going to)"
    r"\s+(?:\w+\s+){0,2}?(?:contact you|reach out to you|get back to you|be in (?:touch|contact)"
    r"|get in touch with you|notify you|call you|e-?mail you|re-?evaluate|take over|review (?:your"
    r"|the|this) (?:case|request|account|ban|dispute|appeal|claim|details))",
    r"\bthey(?:'ll| will) (?:\w+ )?(?:be in touch|get back to you|reach out to you)\b"
    r"(?:\W+\w+){0,4}?\W+(?:email|e-mail|mail)\b",
    # "my colleague will contact you", "one of our agents will call you", "someone will be in touch"
    r"\b(?:my|a|an|another|one of (?:my|our)|our)\s+(?:[\w-]+\s+){0,2}?(?:colleague|agent"
    r"|advisor|specialist|supervisor|manager)s?\b[ ,]+" + _W + r"{0,6}?(?:will|is going to|can"
    r"|shall|would)\s+(?:\w+\s+){0,2}?(?:contact(?:ing)? you|call(?:ing)? you|email(?:ing)? "
    r"(?:you|this to you)|reach(?:ing)? out to you|get(?:ting)? back to you|be in touch"
    r"|take over|take your chat)",
    r"\bsomeone (?:will|can|is going to) (?:\w+ )?(?:be in touch|contact you|call you"
    r"|get back to you)",
    r"\b(?:is|are) ready to (?:take|receive) your chat\b",
    # call-backs: "I will request a call back for you", "arrange a call back from another agent"
    r"\b(?:request|arrange|book)(?:ed|ing)?\s+(?:a\s+|you\s+a\s+)?call(?:\s*-?\s*back)?"
    r"\s+(?:for you|from)\b",
    r"\b(?:request|arrange|book)(?:ed|ing)?\s+(?:a\s+|you\s+a\s+)?call\s*-?\s*back\b",
    r"\bget an? (?:\w+ )?(?:agent|colleague|advisor|specialist) to (?:call|contact) you\b",
    r"\bask (?:for a call\s*-?\s*back|(?:my|a) (?:colleague|manager|supervisor) to (?:call|email"
    r"|contact))",
    r"\bwait for (?:the |our |my )?(?:\w+ )?team to (?:contact|reach out|get back)",
    r"\bthey(?:'ll| will) review your (?:account|case)\b",
    r"\b(?:help|assistance|support) from (?:our|the|my) (?:\w+ )?(?:next[- ]level |higher |senior )"
    r"?(?:team|department|colleagues?|specialists?|supervisor|manager)\b",
    r"\b(?:refer|redirect|direct)(?:ing)? you to (?:the|our|a|another) " + _W + r"{0,3}?(?:"
    + _TEAM + r"|hotline|customer service|support)\b",
    r"\b(?:my|our) (?:superiors|higher[- ]ups|supervisor|manager) will\b",
    # bot-style live transfers: "I'm transferring you now", "let me connect you with an agent",
    # "I am putting you through to a supervisor", "I'll get someone from the team to call you"
    r"\b(?:I'm|I am|we're|we are)\s+(?:now\s+)?transferr?ing\s+you\b",
    r"\b(?:connect(?:ing)?|put(?:ting)?)\s+you\s+(?:\w+\s+){0,2}?(?:with|to|through to)\s+(?:\w+\s+){0,4}?(?:"
    + _TEAM + r"|representatives?|person|human|someone|somebody|operator)\b",
    r"\barrange\s+for\s+(?:someone|a colleague|an agent|a (?:\w+ )?specialist)\s+to\s+(?:give you a call|call"
    r"|contact)\b",
    r"\brequest (?:a call|an agent|a colleague|someone)\b",
    r"\b(?:a|my|one of (?:my|our))\s+(?:[\w-]+\s+)?(?:colleague|agent|specialist|supervisor|manager)s?"
    r"\s+will\s+(?:\w+\s+){0,2}?(?:call|contact|phone|email|e-mail)\b",
    r"\b(?:a different|another|the|our)\s+(?:\w+\s+)?team\s+will\s+(?:look into|investigate|handle|take over)\b",
)

# Someone who can take a case, for the loose verbs of refusals and redirects.
_PARTY = r"(?:human|person|someone|somebody|agent|representative|operator|supervisor|manager|specialist|colleague)"
_NEG = (
    r"\b(?:not|no|cannot|can ?not|cant|unable|never|nor|impossible|without)\b|n't\b"
    r"|\bnot (?:authori[sz]ed|allowed|permitted)\b"
)
# Somewhere the customer is sent to get help that this chat does not give.
_ELSEWHERE = (
    r"(?:customer (?:service|support|care)|support|hotline|helpline|help ?(?:centre|center|desk|line)"
    r"|service (?:desk|centre|center|department)|department|team|retailer|store|shop|seller|vendor|provider"
    r"|bank|PlayStation|PSN|Xbox|Sony|Apple|Google|Steam|Nintendo|phone|number|PHONENUMBER|EMAIL|#?URL#?"
    r"|\S+@\S+|live chat|chat (?:support|feature|option)|contact us|\{\{(?:Live Chat|Customer Support|Phone"
    r"|Email|Contact Us|Support)[^}]*\}\})"
)
_CONTACT = (
    r"(?:contact|call|e-?mail|reach(?: out)?(?: to)?|get in touch with|visit|write to|go to"
    r"|speak (?:to|with)|talk (?:to|with)|connect with|send (?:us |them )?an? e-?mail(?: to)?|utili[sz]e|use)"
)

ENGLISH = PhraseSet(
    language="en",
    handoff=DEFAULT_PATTERNS,
    offer_lead=(
        r"\b(?:would you (?:like|prefer|want)|do you (?:want|wish|need)|shall (?:I|we)|should (?:I|we)"
        r"|may I|can I|want me to|would it help|is it ok(?:ay)? (?:if|for me to)|let me know if"
        r"|happy to|glad to)\b"
    ),
    offer_modal=(
        r"(?:\b(?:I|we)\s+(?:can|could|may|might)\s+(?:also\s+|certainly\s+|definitely\s+|surely\s+|always"
        r"\s+|try to\s+|help you\s+)*(?:[\w']+\s+){0,1}|\b(?:option|alternative|try) (?:is|would be|it'?s) to\s+"
        r"|\bmaybe (?:I|we) (?:can|could)\s+)$"
    ),
    offer_condition=(
        r"\bif you(?:'d| would)? (?:like|prefer|want|wish)\b|\bif (?:that'?s|it'?s) (?:ok|okay|fine|alright)\b"
        r"|\bif needed\b"
    ),
    offer=(
        r"\b(?:would you (?:like|prefer|want)|do you (?:want|wish)|shall I|should I)\s+(?:me\s+)?(?:to\s+)?"
        r"(?:speak|talk|chat|be (?:connected|transferred))\s+(?:to|with)\s+(?:a|an|the|one of our|our)?\s*"
        r"(?:\w+\s+)?" + _PARTY + r"s?\b",
        r"\b(?:would you (?:like|prefer|want)|do you want|shall I|should I)\s+(?:me\s+)?(?:to\s+)?"
        r"(?:escalate|transfer|forward|pass on|raise)\b(?:\s+(?:it|this|that|your case|the case))?\s*\?",
    ),
    negation=_NEG,
    not_negation=(
        r"\b(?:don'?t|do not|not to|no need to)\s+(?:worry|hesitate|forget)\b|\bno (?:worries|problem)\b"
        r"|\bnot only\b|\bnot sure\b|\bwhether or not\b"
    ),
    refusal_verb=(
        r"\b(?:(?:re-?\s?)?escalat(?:e|es|ing|ion)|be escalated"
        r"|transferr?\w*\s+(?:you|this|it|chats?|the chat|calls?|your (?:chat|case|call))"
        r"|connect\w*\s+you|put\w*\s+you\s+through|pass\w*\s+(?:it|this|that|your case|the case)\s+(?:on|over)"
        r"|forward\w*\s+(?:it|this|that|your case|the case|your request)|hand\w*\s+(?:you|this|it)\s+over"
        r"|call-?backs?|(?:speak|talk)\s+(?:to|with)\s+(?:a|an|the)\s+" + _PARTY + r")\b"
    ),
    refusal=(
        r"\b(?:escalat\w*|transferr?\w*|hand-?offs?|call-?backs?)\b[^.,;]{0,40}?\b(?:is|are|was)\s*(?:not|n't)"
        r"\s+(?:possible|an option|available|allowed|permitted)\b",
        r"\b(?:escalat\w*|transferr?\w*)\b[^.,;]{0,40}?\b(?:is|are) impossible\b",
    ),
    redirect=(
        r"\b(?:please|kindly|you (?:can|could|may|might|should|must|need to|will need to|would need to|have to"
        r"|'ll need to|will have to|would have to)|feel free to|don'?t hesitate to"
        r"|I (?:would )?(?:suggest|recommend|request|advise)(?: you| that you)?"
        r"(?: to)?|try to|best to|you were (?:inform|informed|advised|told|asked) to|so (?:that )?you can)\s+"
        r"(?:\w+\s+){0,3}?" + _CONTACT + r"\b(?:\s+[\w'/#-]+){0,6}?\s*(?:\b|(?=\{))" + _ELSEWHERE,
        r"^\W*(?:\d+\.\s*)?(?:contact|call|visit|e-?mail|reach out to|get in touch with|phone|ring)\b"
        r"(?:\s+[\w'/#-]+){0,6}?\s*(?:\b|(?=\{))" + _ELSEWHERE,
        r"\b(?:look for|go to|click(?: on)?|find|open)\s+(?:the\s+)?(?:\S+\s+){0,4}?[\"“{]*"
        r"(?:Contact Us|chat support)\b",
        r"\bway to (?:reach|contact|talk (?:to|with)|speak (?:to|with)|get in touch with)\b",
        r"\bif you (?:would like|prefer|want|wish) to (?:speak|talk|chat) (?:to|with|directly)\b",
    ),
    closing=(
        r"\bif you (?:have|encounter|experience|need|require|run into|face|still have|should have|would have"
        r"|still need)\b[^.]{0,40}?\b(?:questions?|issues?|difficult(?:y|ies)|problems?|assistance|help|support"
        r"|concerns?|queries|inquiries)\b|\b(?:contact|reach) (?:out to )?us (?:again|back)\b"
    ),
    clause_break=(
        r"[,;:()\u2013\u2014]|\s-\s|\b(?:but|however|although|though|because|so that|and then)\b"
        r"|\b(?=(?:I|we)(?:'ll| will|'m| am|'ve| have| need| shall| would like)\b)"
    ),
    customer_acts=(
        r"(?:\byou\s+(?:to|can|could|may|might|should|must|need to|have to|will need to|would need to"
        r"|just need to)\s+(?:[\w']+\s+){0,2}|\bplease\s+(?:kindly\s+)?)$"
    ),
    cancel=r"\b(?:could|would|should) have\s+(?:[\w']+\s+){0,2}$",
    feedback=r"\b(?:feedback|suggestions?)\b",
)
