"""German, French, Portuguese and Dutch hand-off phrases.

Written for the languages wmt24_chat customers read agent replies in (`translation` fields), from the
hand-off wordings of those translations and of common support phrasing: forwarding/escalating the case
to a team, connecting the customer to a colleague, call-backs, a colleague or team who will contact
the customer. The same precision rule as in English: a hand-off verb needs a case, team or person.
"""

from __future__ import annotations

from evals.handoff.phrases import PhraseSet

_W = r"(?:[\w'’-]+\s+)"  # one filler word

# ---------------------------------------------------------------------------------------- German
_DE_TEAM = (
    r"(?:\w*team|\w*abteilung|kolleg\w*|mitarbeiter\w*|vorgesetzt\w*|spezialist\w*|fachbereich\w*|manager\w*"
    r"|berater\w*|agent\w*|support|kundendienst|kundenservice|menschen|ansprechpartner\w*)"
)
_DE_CASE = (
    r"(?:fall|anfrage\w*|anliegen|informationen|details|angelegenheit|ticket|streitfall|beschwerde|problem"
    r"|frage|situation|sache|dies|das|es|ihn|sie)"
)
_DE_PASS = (
    r"(?:weiter(?:ge)?leit\w*|weiterzuleiten|weiter(?:ge)?geb\w*|weiterzugeben|übergeb\w*|übergeben"
    r"|gesendet|senden|geschickt|schicken|übermittel\w*|eskalier\w*|eskaliert)"
)
GERMAN = PhraseSet(
    language="de",
    handoff=(
        r"\beskalier\w*|\beskaliert\b",
        r"\ban\s+" + _W + r"{0,4}?" + _DE_TEAM + r"\b\s+" + _W + r"{0,4}?" + _DE_PASS + r"\b",
        r"\b" + _DE_CASE + r"\b\s+" + _W + r"{0,6}?(?:weiter(?:ge)?leit\w*|weiterzuleiten|weiter(?:ge)?geb\w*"
        r"|weiterzugeben)\b",
        r"\b(?:Rückruf\w*|Anruf)\s+" + _W + r"{0,6}?(?:anfordern|angefordert|arrangier\w*|veranlass\w*|bitten"
        r"|organisier\w*|vereinbar\w*|buchen)\b",
        r"\b(?:kolleg\w*|mitarbeiter\w*|team|abteilung|jemand|sie|er)\b\s+" + _W + r"{0,4}?(?:wird|werden)\s+"
        + _W + r"{0,5}?(?:anrufen|kontaktieren|melden|in Verbindung setzen)\b",
        r"\b(?:der|die)\s+Sie\s+" + _W + r"{0,3}?(?:anrufen|kontaktieren) wird\b",
        r"\bverbinde\w*\s+(?:ich\s+)?Sie\s+" + _W + r"{0,3}?mit\s+" + _W + r"{0,2}?" + _DE_TEAM + r"\b",
        r"\b(?:Anfrage|Fall)\s+" + _W + r"{0,3}?(?:bei|an)\s+" + _W + r"{0,2}?\w*team\b",
        r"\bSie\s+mit\s+" + _W + r"{0,2}?" + _DE_TEAM + r"\s+(?:verbinde\w*|verbunden)\b",
        r"\b(?:Streit\w*|Einspruch|Widerspruch|Beschwerde)\s+(?:\w+\s+)?(?:einlegen|einreichen|anstellen|erheben)\b",
        r"\bChat\s+(?:zu\s+)?übernehmen\b",
        r"\bintern\s+(?:an(?:sprechen|gesprochen)|weiter\w*|melden|klären)\b",
    ),
    offer_lead=(
        r"\b(?:möchten Sie|wollen Sie|soll ich|sollen wir|darf ich|wünschen Sie|lassen Sie (?:es )?mich wissen)\b"
    ),
    offer_modal=r"\b(?:ich|wir)\s+(?:kann|können|könnte|könnten)\s+" + _W + r"{0,6}$",
    offer_condition=r"\bwenn Sie\b[^,.]{0,40}?\b(?:möchten|wollen|wünschen|vorziehen|lieber)\b|\bfalls gewünscht\b",
    offer=(
        r"\b(?:möchten|wollen|wünschen) Sie\s+" + _W + r"{0,3}?mit\s+" + _W + r"{0,3}?(?:Menschen|Mitarbeiter\w*"
        r"|Person|Vorgesetzten|Kolleg\w*|Berater\w*|jemandem)\s+(?:\w+\s+)?(?:sprechen|reden|verbunden werden)\b",
    ),
    negation=r"\b(?:nicht|kein\w*|nie|niemals|unmöglich|ohne)\b",
    not_negation=r"\b(?:keine Sorge\w*|machen Sie sich keine Sorgen|kein Problem|zögern Sie nicht|nicht nur)\b",
    refusal_verb=r"\b(?:weiter(?:ge)?leit\w*|weiterzuleiten|weiter(?:ge)?geb\w*|weiterzugeben|eskal\w+|verbinden|verbinde"
    r"|durchstellen)\b",
    refusal=(r"\b(?:Eskalation|Weiterleitung|Übergabe|Rückruf)\b[^.,;]{0,40}?\bnicht\s+(?:möglich|vorgesehen)\b",),
    redirect=(
        r"\ban\s+" + _W + r"{0,3}?(?:Anbieter|Händler|Hotline|Kundenservice|Kundendienst|Support|Bank|Geschäft"
        r"|Verkäufer)"
        r"\w*\b[^.?!]{0,80}?\bwenden\b",
        r"\b(?:wenden|kontaktieren|anrufen|rufen|besuchen|erreichen|schreiben)\b[^.?!]{0,60}?"
        r"\b(?:an|unter|per|bei|über)\s+" + _W + r"{0,3}?(?:Hotline|Kundenservice|Kundendienst|Support|Händler\w*"
        r"|Verkäufer\w*|Bank|Geschäft|Laden|Anbieter\w*|E-Mail|Telefon\w*|Hilfe-?Center|Hilfecenter|Service\w*"
        r"|Website|Webseite)\b",
        r"\b(?:rufen Sie|kontaktieren Sie|besuchen Sie|wenden Sie sich|erreichen Sie|schreiben Sie)\b[^.?!]{0,60}?"
        r"\b(?:Hotline|Kundenservice|Kundendienst|Support|Händler\w*|Bank|Geschäft|Anbieter\w*|E-Mail|Telefon\w*"
        r"|Hilfe-?Center|Nummer|\d{3,})",
    ),
    closing=r"\b(?:wenn|falls|sollten) Sie\s+" + _W + r"{0,4}?(?:weitere|andere|noch)\s+" + _W
    + r"{0,2}?(?:Fragen|Hilfe|Probleme|Unterstützung)\b|\berneut (?:an uns|mit uns|kontaktieren)\b",
    clause_break=r"[,;:()\u2013\u2014]|\s-\s|\b(?:aber|jedoch|doch|weil|sondern|damit)\b",
    customer_acts=r"(?:\bSie\s+(?:können|müssen|sollten|könnten)\s+" + _W + r"{0,3}|\bbitte\s+)$",
    feedback=r"\bFeedback\b",
)

# ---------------------------------------------------------------------------------------- French
_FR_TEAM = (
    r"(?:équipe\w*|service\w*|département\w*|conseill\w*|collègue\w*|responsable\w*|supérieur\w*|agent\w*"
    r"|spécialiste\w*|superviseur\w*|niveau supérieur|humain\w*|personne)"
)
_FR_CASE = (
    r"(?:cas|dossier|demande|requête|situation|préoccupation|problème|réclamation|litige|ticket|plainte"
    r"|informations|question)"
)
_FR_PASS = r"(?:transm\w*|transf[ée]r\w*|escalad\w*|escal\w*|remont\w*|redirig\w*|achemin\w*|envo\w*|pass\w*)"
FRENCH = PhraseSet(
    language="fr",
    handoff=(
        r"\b" + _FR_PASS + r"\s+" + _W + r"{0,3}?(?:" + _FR_CASE + r"|la|le|cela|ça|ce cas)\b\s*" + _W
        + r"{0,4}?(?:à|au|aux|vers|auprès d[eu'’])\s*" + _W + r"{0,3}?" + _FR_TEAM + r"\b",
        r"\b(?:transm\w*|escalad\w*|transf[ée]r\w*)\s+(?:votre|le|ce|cette|la)\s+" + _FR_CASE + r"\b",
        r"\b" + _FR_CASE + r"\s+(?:a|ont|est|sont|a été|ont été|sera|seront)\s+" + _W + r"{0,2}?(?:transmis\w*"
        r"|transféré\w*|escaladé\w*|remonté\w*)\b",
        r"\b(?:je|nous)\s+vous\s+(?:transf[ée]r\w*|mett?\w* en relation|passe|passerai)\b",
        r"\bvous\s+(?:transférer|mettre en relation|passer)\s+(?:à|avec)\s+" + _W + r"{0,3}?" + _FR_TEAM + r"\b",
        r"\b(?:collègue|conseiller|agent|équipe|responsable|quelqu'un|elle|ils?)\b\s+" + _W + r"{0,4}?vous\s+"
        r"(?:appellera|contactera|recontactera|rappellera|répondra)\b",
        r"\b(?:organiser|demander|programmer|planifier|prévoir)\s+(?:un|le)\s+(?:rappel|appel)\b",
        r"\b(?:aide|assistance)\s+" + _W + r"{0,3}?(?:de|d['’])\s*(?:notre|nos|mon)\s+" + _FR_TEAM,
        r"\bcré\w+\s+(?:un|une)\s+(?:dossier|demande|ticket)\s+" + _W + r"{0,2}?auprès d[eu]",
        r"\b(?:demanderai|demander)\s+à\s+(?:l['’]|notre\s+|mon\s+)" + _FR_TEAM + r"\b",
    ),
    offer_lead=(
        r"\b(?:voulez-vous|souhaitez-vous|voudriez-vous|aimeriez-vous|dois-je|puis-je|désirez-vous"
        r"|faites-moi savoir si|vous voulez que|vous souhaitez que)\b"
    ),
    offer_modal=r"\b(?:je|nous)\s+(?:peux|pouvons|pourrais|pourrions|pourrai)\s+" + _W + r"{0,4}$|\boption\s+"
    + _W + r"{0,2}(?:est|serait)\s+de\s+$",
    offer_condition=r"\bsi vous (?:le )?(?:souhaitez|voulez|préférez|désirez)\b",
    offer=(
        r"\b(?:voulez|souhaitez|voudriez|aimeriez)[- ]vous\s+(?:parler|discuter|être mis en relation)\s+(?:à|avec)\s+"
        r"(?:un|une|le|la|quelqu'un)?\s*(?:vrai\s+)?(?:humain|personne|conseill\w*|agent|responsable|quelqu'un"
        r"|superviseur)\b",
    ),
    negation=r"\b(?:ne|n['’]|pas|aucun\w*|jamais|impossible|sans)\b|\bn['’]",
    not_negation=r"\b(?:ne vous inquiétez pas|pas de souci|pas de problème|n['’]hésitez pas|pas seulement)\b",
    refusal_verb=r"\b(?:transm\w*|escalad\w*|vous transf[ée]r\w*|mettre en relation|transfert vers)\b",
    refusal=(
        r"\b(?:transfert|escalade|transmission|rappel)\b[^.,;]{0,40}?\b(?:n['’]est pas|n['’]est plus|est impossible"
        r"|impossible|pas possible)\b",
    ),
    redirect=(
        r"\b(?:contacter|contactez|appeler|appelez|joindre|visiter|visitez|adresser|adressez|écrire|écrivez"
        r"|rendez-vous)\b[^.?!]{0,60}?\b(?:service client\w*|support|assistance|hotline"
        r"|revendeur\w*|magasin|boutique|vendeur|banque|fournisseur|centre d['’]aide|centre d['’]assistance"
        r"|e-?mail|téléphone|numéro|PlayStation|Xbox|Sony|\d{2}(?:\s\d{2}){2,})",
    ),
    closing=r"\bsi vous (?:avez|rencontrez)\s+" + _W + r"{0,3}?(?:autres|d['’]autres|questions|problèmes)\b"
    r"|\b(?:nous )?(?:recontacter|contacter à nouveau|nous contacter de nouveau)\b",
    clause_break=r"[,;:()\u2013\u2014]|\s-\s|\b(?:mais|cependant|toutefois|car|parce que|afin que|pour que)\b",
    customer_acts=r"(?:\bvous\s+(?:pouvez|devez|devrez|pourriez|devriez)\s+" + _W + r"{0,3}|\bveuillez\s+)$",
    feedback=r"\b(?:commentaires?|suggestions?|feedback)\b",
)

# ------------------------------------------------------------------------------------ Portuguese
_PT_TEAM = (
    r"(?:equipe\w*|equipa\w*|departamento\w*|setor\w*|atendente\w*|supervisor\w*|colega\w*|especialista\w*"
    r"|nível superior|agente\w*|gerente\w*|responsável|responsáveis|humano\w*|pessoa)"
)
_PT_CASE = r"(?:caso|solicitação|pedido|reclamação|problema|situação|questão|disputa|informações|ticket)"
_PT_PASS = r"(?:encaminh\w*|transfer\w*|escalon\w*|escal(?:ar|ei|arei|ado|ada)|repass\w*|envi\w*|pass\w*)"
PORTUGUESE = PhraseSet(
    language="pt",
    handoff=(
        r"\b" + _PT_PASS + r"\s+" + _W + r"{0,4}?(?:para|ao|à|aos|a)\s+" + _W + r"{0,3}?" + _PT_TEAM + r"\b",
        r"\b(?:encaminh\w*|escalon\w*|transfer\w*)\s+(?:o\s+|seu\s+|sua\s+|o seu\s+|a sua\s+)" + _PT_CASE + r"\b",
        r"\b(?:vou|irei|vamos|estou|estamos)\s+(?:encaminh\w*|escalon\w*|escalar)\b",
        r"\b(?:estou|vou|irei|vamos)\s+transferi\w*\s+(?:você|o senhor|a senhora)\b|\btransferindo você\b",
        r"\b" + _PT_CASE + r"\s+(?:foi|foram|está|será|já foi)\s+" + _W + r"{0,2}?(?:encaminhad\w*|escalonad\w*"
        r"|transferid\w*|enviad\w*)\b",
        r"\b(?:colega|atendente|equipe|equipa|supervisor|alguém|especialista)\b\s+" + _W + r"{0,4}?(?:vai|irá|vão"
        r"|irão|entrará|entrarão)\s+" + _W
        + r"{0,2}?(?:ligar|entrar em contato|contatar|contactar|retornar|em contato)\b",
        r"\b(?:agendar|solicitar|pedir|organizar)\s+(?:um|uma)\s+(?:retorno|ligação|chamada)\b",
        r"\b(?:abrir|registrar|enviar)\s+(?:uma\s+|um\s+)?(?:disputa|contestação|recurso|apelação)\b",
        r"\b(?:relatar|reportar)\s+(?:isso|isto|o caso|seu caso)\s+(?:à|a|para)\s+" + _W + r"{0,2}?" + _PT_TEAM,
    ),
    offer_lead=(
        r"\b(?:gostaria(?: que eu)?|você gostaria|quer que eu|deseja que eu|você quer|devo|posso\s+\w+\s*\?"
        r"|me avise se|prefere que eu)\b"
    ),
    offer_modal=r"\b(?:posso|podemos|poderia|poderíamos|pode ser que eu)\s+" + _W + r"{0,3}$",
    offer_condition=r"\bse (?:você )?(?:preferir|quiser|desejar)\b",
    offer=(
        r"\b(?:quer|gostaria|deseja|prefere)\s+(?:de\s+)?(?:falar|conversar)\s+com\s+(?:um|uma|o|a|alguém)?\s*"
        r"(?:atendente|humano|pessoa|agente|supervisor|gerente|alguém|representante)\b",
    ),
    negation=r"\b(?:não|nao|nunca|nenhum\w*|nenhuma|impossível|sem)\b",
    not_negation=r"\b(?:não se preocupe|não hesite|não tem problema|sem problema|não só)\b",
    refusal_verb=r"\b(?:encaminh\w*|escalon\w*|escalar|transferi\w*\s+(?:você|o senhor|a senhora|seu caso|o caso)"
    r"|conectar você|conectá-lo)\b",
    refusal=(
        r"\b(?:transferência|escalonamento|encaminhamento|retorno)\b[^.,;]{0,40}?\b(?:não (?:é|está) (?:possível"
        r"|disponível)|é impossível)\b",
    ),
    redirect=(
        r"(?<!eu )(?<!nós )\b(?:entre em contato|entrar em contato|ligue|ligar|visite|visitar|contate|contatar|fale"
        r"|falar|procure|procurar|envie um e-?mail|mande um e-?mail)\b(?! com você)[^.?!]{0,60}?"
        r"\b(?:central de atendimento|atendimento|suporte|revendedor\w*|loja|vendedor"
        r"|banco|fornecedor|central|e-?mail|telefone|número|PlayStation|Xbox|Sony|\d{4})",
    ),
    closing=r"\bse (?:você )?(?:tiver|precisar|tem)\s+" + _W + r"{0,3}?(?:outras|dúvidas|ajuda|perguntas|mais)\b"
    r"|\bentr\w* em contato (?:conosco|novamente)\b",
    clause_break=r"[,;:()\u2013\u2014]|\s-\s|\b(?:mas|porém|contudo|porque|pois|para que)\b",
    customer_acts=r"(?:\bvocê\s+(?:pode|deve|precisa|poderá|deverá)\s+" + _W + r"{0,3}|\bpor favor\s+)$",
    feedback=r"\b(?:feedback|sugest\w+|comentários?)\b",
)

# ------------------------------------------------------------------------------------------ Dutch
_NL_TEAM = (
    r"(?:\w*team|\w*afdeling|collega\w*|medewerker\w*|leidinggevende\w*|specialist\w*|manager\w*|adviseur\w*"
    r"|agent\w*|supervisor\w*|mens|persoon|klantenservice)"
)
NL_PASS = r"(?:doorgeven|doorgegeven|doorsturen|doorgestuurd|door te (?:geven|sturen|verbinden)|escaleren|geëscaleerd)"
DUTCH = PhraseSet(
    language="nl",
    handoff=(
        r"\b(?:ik|we|wij|hij|zij|het|dit|zaak|verzoek|ticket|probleem|aanvraag|klacht|case|kwestie|kosten)\b"
        r"[^.?!,]{0,60}?\b" + NL_PASS + r"\b",
        r"\b(?:ik|we|wij)\s+(?:geef|stuur|verbind)\s+" + _W + r"{0,5}?door\b",
        r"\bescale(?:er|ren)\b|\bgeëscaleerd\b",
        r"\b(?:voorleggen|voorgelegd|gestuurd|sturen)\s+(?:aan|naar)\s+" + _W + r"{0,3}?" + _NL_TEAM + r"\b",
        r"\b(?:collega|medewerker|team|afdeling|iemand|\w+team)\b\s+" + _W + r"{0,3}?(?:zal|zullen|gaat|neemt|belt)"
        r"\s+" + _W + r"{0,5}?(?:bellen|contact met u op|contact met je op|contact opnemen|terugbellen|op)\b",
        r"\bterugbel\w*\b",
        r"\b(?:u|je)\s+" + _W + r"{0,2}?doorverbind\w*\b|\bdoorverbind\w*\s+met\b",
        r"\bnaar\s+" + _W + r"{0,3}?\w*(?:team|afdeling)\s+" + _W + r"{0,2}?(?:gestuurd|doorgestuurd|doorgegeven)\b",
        r"\b(?:agent\w*|adviseur\w*|specialist\w*)\s+" + _W + r"{0,2}?(?:zal|zullen)\s+" + _W + r"{0,5}?bellen\b",
        r"\bberoep\s+(?:in te dienen|indienen|aantekenen)\b",
        r"\bverbind\s+(?:ik\s+)?(?:u|je)\s+" + _W + r"{0,2}?door\b",
    ),
    offer_lead=r"\b(?:wilt u|wil je|^\W*zal ik|^\W*zullen we|moet ik|mag ik|laat (?:het )?(?:me|mij) weten als)\b",
    offer_modal=r"\b(?:ik|we|wij)\s+(?:kan|kunnen|zou|zouden)\s+" + _W + r"{0,5}$|\b(?:kan|kunnen)\s+(?:ik|we|wij)\s+"
    + _W + r"{0,5}$",
    offer_condition=r"\bals (?:u|je) (?:wilt|dat wilt|wenst|liever)\b",
    offer=(
        r"\b(?:wilt u|wil je)\s+" + _W + r"{0,2}?(?:met|tegen)\s+(?:een|de|iemand)?\s*(?:echte\s+)?(?:mens|medewerker"
        r"|persoon|leidinggevende|manager|collega|iemand)\s+(?:\w+\s+)?(?:spreken|praten)\b",
    ),
    negation=r"\b(?:niet|geen|nooit|onmogelijk|zonder)\b",
    not_negation=r"\b(?:maak(?:t u)? (?:je|u|uzelf) geen zorgen|geen zorgen|geen probleem|aarzel niet|niet alleen)\b",
    refusal_verb=r"\b(?:" + NL_PASS + r"|doorverbinden|doorverbind|escaleren)\b",
    refusal=(r"\b(?:escaleren|escalatie|doorverbinden|doorsturen)\b[^.,;]{0,40}?\b(?:niet mogelijk|onmogelijk)\b",),
    redirect=(
        r"\b(?:alstublieft|alsjeblieft|graag|u (?:kunt|moet|zou moeten)|je (?:kunt|moet|zou moeten)|neem contact"
        r"|bel|bezoek)\b[^.?!]{0,60}?\b(?:klantenservice|hotline|support\w*|ondersteuning|winkel|verkoper|bank"
        r"|leverancier|e-?mail|telefoon|nummer|helpcentrum|PlayStation|Xbox|Sony|\d{3})",
        r"\bcontact\s+" + _W + r"{0,2}?(?:nemen|opnemen|op)\s+met\s+" + _W + r"{0,3}?(?:winkel|klantenservice|support"
        r"|ondersteuning|verkoper|bank|Xbox|PlayStation|PSN|Sony)",
    ),
    closing=r"\bals (?:u|je) (?:nog|verdere|andere|meer)\s+" + _W + r"{0,2}?(?:vragen|hulp|problemen)\b"
    r"|\b(?:opnieuw|weer) contact met ons\b",
    clause_break=r"[,;:()\u2013\u2014]|\s-\s|\b(?:maar|echter|omdat|want|zodat)\b",
    customer_acts=r"(?:\b(?:u|je)\s+(?:kunt|moet|zou)\s+" + _W + r"{0,3}|\balstublieft\s+)$",
    feedback=r"\bfeedback\b",
)
