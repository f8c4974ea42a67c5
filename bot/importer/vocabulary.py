"""The words Urgent Actions use in English, Spanish and French, as regex pieces and lookup tables.

Amnesty's Spanish and French sections publish the same layouts as the English one with their own
wording, so every keyword below lists the three languages side by side. Exports and PDF copies
lose accents (or the accented letters altogether) and turn apostrophes into ’, so phrases are
written in their proper spelling and `flex` makes them tolerant of all that.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["Words", "detect_language", "flex", "fold", "phrases"]

_BARE = {c: unicodedata.normalize("NFD", c)[0] for c in "áàâäãéèêëíìîïóòôöõúùûüñç"}


def fold(text: str) -> str:
    """Lower case without accents, with one kind of apostrophe: the form lookups compare."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def flex(pattern: str) -> str:
    """The regex with each accented letter also matching its bare letter or nothing, ' matching ’ or
    nothing, and a space matching any run of whitespace. Character classes and escapes are kept."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        if escaped or in_class:
            out.append(ch)
            in_class = in_class and not (ch == "]" and not escaped)
            escaped = not escaped and ch == "\\"
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "[":
            out.append(ch)
            in_class = True
        elif ch in _BARE:
            out.append(f"[{ch}{_BARE[ch]}]?")
        elif ch in "'’":
            out.append("['’]?")
        elif ch == " ":
            out.append(r"\s+")
        else:
            out.append(ch)
    return "".join(out)


def phrases(*alternatives: str) -> str:
    """One non-capturing group matching any of the phrases (see `flex`)."""
    return "(?:" + "|".join(flex(p) for p in alternatives) + ")"


class Words:
    """A word list with values (month names, ordinals, language names): a regex and a lookup."""

    def __init__(self, *tables: dict[str, int | str]) -> None:
        self.values: dict[str, int | str] = {}
        for table in tables:
            self.values.update(table)
        self._folded = {fold(word): value for word, value in self.values.items()}
        # Longest first, so that "mayo" is not cut to "may" and "seconde" to "second".
        ordered = sorted(self.values, key=len, reverse=True)
        self._patterns = [(re.compile(flex(word) + "$", re.I), self.values[word]) for word in ordered]
        self.pattern = "(?:" + "|".join(flex(word) for word in ordered) + ")"

    def get(self, text: str) -> int | str | None:
        text = re.sub(r"\s+", " ", text.strip())
        if (value := self._folded.get(fold(text))) is not None:
            return value
        # An export that dropped the accented letters ("fvrier", "troisime").
        return next((value for pattern, value in self._patterns if pattern.match(text)), None)


# --- numbers and names -------------------------------------------------------------------------

ORDINALS = Words(
    dict(zip("first second third fourth fifth sixth seventh eighth ninth tenth".split(), range(1, 11))),
    dict(zip("primera segunda tercera cuarta quinta sexta séptima octava novena décima".split(), range(1, 11))),
    dict(zip("primero segundo tercero cuarto quinto sexto séptimo octavo noveno décimo".split(), range(1, 11))),
    {"primer": 1, "tercer": 3},
    dict(
        zip(
            "première deuxième troisième quatrième cinquième sixième septième huitième neuvième dixième".split(),
            range(1, 11),
        )
    ),
    {"premier": 1, "seconde": 2},
)
# "2nd", "2e", "2ème", "2ª", "2.º": the digits are the number.
NUMERIC_ORDINAL = r"\d{1,2}(?:st|nd|rd|th|er|re|ème|eme|e|ª|º|\.ª|\.º)(?!\w)"

MONTHS = Words(
    dict(
        zip(
            "january february march april may june july august september october november december".split(),
            range(1, 13),
        )
    ),
    dict(
        zip(
            "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
            range(1, 13),
        )
    ),
    {"setiembre": 9},
    dict(
        zip(
            "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split(), range(1, 13)
        )
    ),
)

LANGUAGES = Words(
    {
        "english": "en",
        "russian": "ru",
        "persian": "fa",
        "farsi": "fa",
        "arabic": "ar",
        "french": "fr",
        "spanish": "es",
        "portuguese": "pt",
        "chinese": "zh",
        "mandarin": "zh",
        "german": "de",
        "italian": "it",
        "turkish": "tr",
        "ukrainian": "uk",
        "belarusian": "be",
        "uzbek": "uz",
        "kazakh": "kk",
        "tajik": "tg",
        "azerbaijani": "az",
        "armenian": "hy",
        "georgian": "ka",
        "hebrew": "he",
        "indonesian": "id",
        "japanese": "ja",
        "korean": "ko",
        "thai": "th",
        "vietnamese": "vi",
        "urdu": "ur",
        "hindi": "hi",
        "bengali": "bn",
        "nepali": "ne",
        "burmese": "my",
        "greek": "el",
        "dutch": "nl",
        "polish": "pl",
        "serbian": "sr",
        "croatian": "hr",
        "tamil": "ta",
        "sinhala": "si",
        "swahili": "sw",
        "amharic": "am",
    },
    {
        "inglés": "en",
        "ruso": "ru",
        "persa": "fa",
        "farsi": "fa",
        "árabe": "ar",
        "francés": "fr",
        "español": "es",
        "castellano": "es",
        "portugués": "pt",
        "chino": "zh",
        "mandarín": "zh",
        "alemán": "de",
        "italiano": "it",
        "turco": "tr",
        "ucraniano": "uk",
        "bielorruso": "be",
        "uzbeko": "uz",
        "kazajo": "kk",
        "tayiko": "tg",
        "azerí": "az",
        "azerbaiyano": "az",
        "armenio": "hy",
        "georgiano": "ka",
        "hebreo": "he",
        "indonesio": "id",
        "japonés": "ja",
        "coreano": "ko",
        "tailandés": "th",
        "vietnamita": "vi",
        "urdu": "ur",
        "hindi": "hi",
        "bengalí": "bn",
        "nepalí": "ne",
        "birmano": "my",
        "griego": "el",
        "neerlandés": "nl",
        "holandés": "nl",
        "polaco": "pl",
        "serbio": "sr",
        "croata": "hr",
        "tamil": "ta",
        "cingalés": "si",
        "suajili": "sw",
        "amárico": "am",
    },
    {
        "anglais": "en",
        "russe": "ru",
        "persan": "fa",
        "arabe": "ar",
        "français": "fr",
        "espagnol": "es",
        "portugais": "pt",
        "chinois": "zh",
        "allemand": "de",
        "italien": "it",
        "turc": "tr",
        "ukrainien": "uk",
        "biélorusse": "be",
        "ouzbek": "uz",
        "tadjik": "tg",
        "azerbaïdjanais": "az",
        "azéri": "az",
        "arménien": "hy",
        "géorgien": "ka",
        "hébreu": "he",
        "indonésien": "id",
        "japonais": "ja",
        "coréen": "ko",
        "thaï": "th",
        "vietnamien": "vi",
        "ourdou": "ur",
        "bengali": "bn",
        "népalais": "ne",
        "birman": "my",
        "grec": "el",
        "néerlandais": "nl",
        "polonais": "pl",
        "serbe": "sr",
        "croate": "hr",
        "tamoul": "ta",
        "cingalais": "si",
        "amharique": "am",
    },
)
# Words that join language names in a list ("in Persian, English or ...", "en ruso y ...").
LANGUAGE_JOINERS = r",|/|\b(?:and|or|y|o|u|et|ou)\b"
LANGUAGE_PREFIX = r"^(?:in|en|dans)\s+"

# --- the document's own language ---------------------------------------------------------------

# Frequent short words that belong to one of the three languages only ("de", "la", "en", "que" are
# shared by Spanish and French and tell nothing).
_STOPWORDS = {
    "en": set("the and of to is was that with for his her has have been he she are by this".split()),
    "es": set("el los las del y por con una fue su sus ha han para al está como este esta".split()),
    "fr": set("le les des du et est une qui dans pour sur il elle été au aux ne pas ce cette".split()),
}


# The headings say it outright, and decide a text too short to have many common words.
_MARKERS = {
    "en": re.compile(flex("urgent action|please write|send appeals"), re.I),
    "es": re.compile(flex("acción urgente|escriban|llamamientos"), re.I),
    "fr": re.compile(flex("action urgente|écrivez|vos appels"), re.I),
}
_MARKER_WEIGHT = 5


def detect_language(text: str, default: str = "en") -> str:
    """ "en", "es" or "fr": the language most of the text's common words and headings belong to
    ("en" on a tie); `default` when none of them is in it (a short phrase)."""
    counts = {lang: _MARKER_WEIGHT * len(marker.findall(text)) for lang, marker in _MARKERS.items()}
    for word in re.findall(r"[^\W\d_]+", text.lower()):
        for lang, words in _STOPWORDS.items():
            counts[lang] += word in words
    if not any(counts.values()):
        return default
    return max(counts, key=lambda lang: (counts[lang], lang == "en"))


# --- keywords ----------------------------------------------------------------------------------
# Each is a regex piece (a non-capturing group); parse.py and targets.py put them in context.

HEADING = phrases("urgent action", "acción urgente", "action urgente")
SPACED_HEADING = r"u\s+r\s+g\s+e\s+n\s+t\s+a\s+c\s+t\s+i\s+o\s+n"  # the fax-era letterhead
UPDATE = phrases("update", "actualización", "mise (?:à )?jour")
# "update of UA", "actualización de la AU", "mise à jour de l'AU"
UPDATE_OF = phrases("of", "on", "to", "de la", "del", "de", "sobre la", "sobre", "de l'", "sur l'", "d'")
# An update whose number is not given: "Further information on UA 81/07", "Follow-up on UA 52/10",
# "FI on UA 12/13", "Update: UA 12/13", "Actualización de la AU 7/13", "Mise à jour de l'AU 7/13".
FURTHER_ON = phrases(
    r"further info(?:rmation)?(?: on| to|\s*:)",
    "fi on",
    r"follow-?\s*up (?:on|to|of)",
    r"update(?: on| of| to)?\s*:?",
    # Spanish and French also head the background "Información complementaria", "Complément
    # d'information": only "sobre"/"sur" makes them the reference of an update.
    "información complementaria sobre(?: la)?",
    "acción complementaria sobre(?: la)?",
    r"actualización(?: de(?: la)?| sobre(?: la)?)?\s*:?",
    "action complémentaire sur(?: l')?",
    "complément d'information sur(?: l')?",
    "informations? complémentaires? sur(?: l')?",
    r"mise à jour(?: de(?: l')?| sur(?: l')?)?\s*:?",
)
# The last update of an appeal: nothing more is asked of the network. A release alone is not one: a
# person freed on bail, or still charged, is often the subject of further appeals.
CLOSING = phrases(
    "no further (?:action|appeals?) (?:is|are) (?:requested|needed|required|necessary)",
    "no (?:further|more) appeals are (?:requested|needed|required|necessary)",
    "no se (?:requiere|requieren|necesita|necesitan|solicita|solicitan) más (?:acciones|acción|llamamientos)",
    "no (?:es|son) necesari[oa]s? (?:realizar |emprender |enviar |tomar )?más (?:acciones|llamamientos)",
    "aucune (?:autre )?action (?:complémentaire |supplémentaire )?n'est (?:requise|nécessaire|demandée)",
    "il n'est plus nécessaire d'(?:agir|intervenir|envoyer des appels)",
)
APPEAL = phrases(
    r"please write",
    "send appeals",
    r"appeals to\s*:",
    "recommended action",
    "escriban inmediatamente",
    "envíen (?:sus )?llamamientos",
    r"llamamientos a\s*:",
    "acción recomendada",
    "écrivez immédiatement",
    "envoy(?:ez|er) vos appels",
    r"appels à\s*:",
    "action recommandée",
)
DEADLINE = phrases(
    "send appeals (?:before|by)",
    r"appeal deadline(?: notice)?\s*:?",
    "envíen (?:sus )?llamamientos (?:antes del?|no más tarde del?|hasta el)",
    r"fecha límite[^:\d]{0,60}:?",
    "(?:merci d'|veuillez )?envoy(?:ez|er) vos appels (?:avant le|d'ici le|au plus tard le)",
    r"date limite[^:\d]{0,60}:?",
)
ISSUED = phrases(
    "issue date",
    "publication date",
    "date published",
    "date of issue",
    "date of publication",
    "fecha de emisión",
    "fecha de publicación",
    "fecha de difusión",
    "date d'émission",
    "date de publication",
    "date de diffusion",
)
# The bare "Date:" label, an issue date only where the document's own header puts it (parse.py).
DATE_LABEL = phrases("date", "fecha")
# One capturing group each: the language names between "write immediately in" and "or your own".
WRITE_IN = [
    flex(r"write immediately,? in (.+?),? or (?:in )?your own language"),
    flex(r"escriban inmediatamente,? en (.+?),? o (?:en )?su (?:propio idioma|propia lengua|idioma)"),
    flex(r"écrivez immédiatement,? en (.+?),? ou (?:dans )?votre (?:propre )?langue"),
]
PREFERRED_LANGUAGE = phrases(
    "preferred language", "idioma preferido", "lengua preferida", "langue préférée", "langue de préférence"
)
OWN_WORDS = phrases(
    "in your own (?:words|language)",
    "(?:en|con) sus propias palabras",
    "en su propio idioma",
    "(?:dans|avec|en) vos propres (?:mots|termes)",
    "dans votre propre langue",
)
ASKS_START = phrases(
    "please write immediately",
    "recommended action",
    "escriban inmediatamente",
    "acción recomendada",
    "écrivez immédiatement",
    "action recommandée",
)
ASKS_END = phrases(
    "please send appeals",
    r"appeals to\s*:",
    "target.s contact details",
    "envíen (?:sus )?llamamientos",
    r"llamamientos a\s*:",
    "datos de contacto de",
    "(?:merci d'|veuillez )?envoy(?:ez|er) vos appels",
    r"appels à\s*:",
    "coordonnées d",
)
TITLE_LABEL = phrases("urgent action title", "título de la acción urgente", "titre de l'action urgente")
SUMMARY_LABEL = phrases("urgent action summary", "resumen de la acción urgente", "résumé de l'action urgente")
LETTER_LABEL = phrases("urgent action letter", "carta de (?:la )?acción urgente", "lettre d(?:e l)?'action urgente")
TWEET_LABEL = phrases(
    "suggested (?:message|tweet)(?: on twitter)?",
    "(?:mensaje|tuit) sugerido(?: (?:en|para) twitter)?",
    "tuit(?:ea|een|ee)",
    "(?:message|tweet) suggéré(?: (?:sur|pour) twitter)?",
    "tweetez",
)
BACKGROUND = phrases(
    r"(?:additional|background) information\b",
    r"información (?:adicional|complementaria|general)\b(?! sobre)",
    r"informations? (?:générales?|complémentaires?)\b(?! sur)",
    r"complément d'information\b(?! sur)",
)
BACKGROUND_END = phrases(
    r"name\s*:",
    r"gender\b",
    r"ua\s*:",
    "further information on ua",
    r"nombre\s*:",
    r"sexo\b",
    r"au\s*:",
    "información complementaria sobre",
    r"nom\s*:",
    r"genre\b",
    r"sexe\b",
    "action complémentaire sur",
    "complément d'information sur",
)
# Where the flat background of a joined export stops: the appeal, or the subject's name.
BACKGROUND_FLAT_END = phrases(
    "recommended action",
    "please write",
    r"name\s*:",
    "acción recomendada",
    "escriban inmediatamente",
    r"nombre\s*:",
    "action recommandée",
    "écrivez immédiatement",
    r"nom\s*:",
)
NAME_LABEL = phrases("name", "nombre", "nom")
GENDER_LABEL = phrases("gender", "sexo", "género", "genre", "sexe")
# A gender's letter, read with the letters the label offers ("h/m": hombre/mujer, "h/f": homme/femme).
GENDER_WORDS = {
    "male": "m",
    "hombre": "m",
    "homme": "m",
    "masculino": "m",
    "masculin": "m",
    "female": "f",
    "mujer": "f",
    "femme": "f",
    "femenino": "f",
    "feminin": "f",
}  # keys folded
GENDER_LETTERS = {"sexo": "hm", "genero": "hm", "genre": "hf", "sexe": "hf"}  # keys folded, see `fold`

# --- the appeal section (targets.py) -----------------------------------------------------------

SECTION_START = phrases(
    r"send appeals\b.*\bto\s*:?$",
    "target.s contact details",
    r"^appeals to\s*:?$",
    r"envíen (?:sus )?llamamientos\b.*\ba\s*:?$",
    r"^datos de contacto\b",
    r"^llamamientos a\s*:?$",
    r"envoy(?:ez|er) vos appels\b.*\s[àa]?\s*:$",
    r"^coordonnées d",
    r"^appels (?:à )?:?$",
)
SECTION_END = phrases(
    "suggested message",
    "preferred language",
    "appeal deadline",
    "also send copies",
    "please check with",
    "additional information",
    "background information",
    "mensaje sugerido",
    "tuit",
    "idioma preferido",
    "fecha límite",
    "envíen también cop",
    "(?:consulten|comprueben|verifiquen) con",
    "información (?:adicional|complementaria|general)",
    "message suggéré",
    "tweet",
    "langue préférée",
    "date limite",
    "envoyez également",
    "(?:veuillez )?vérifi",
    "informations? (?:générales?|complémentaires?)",
    "complément d'information",
)
# The labels of a target's contact lines, by the Target key they fill (models.TARGET_KEYS: a draft has each one).
CONTACT_LABELS = {
    "fax": phrases("fax"),
    "email": phrases("e-?mail", "correo(?:-e| electrónico)?", "courriel", "adresse électronique"),
    "twitter": phrases("twitter"),
    "salutation": phrases("salutation", "tratamiento", "saludo", "formule d'appel"),
}
COPIES = phrases(r"(?:and |y |e |et )?(?:envíen )?(?:copies|copias?|copie) (?:to|a|à)\s*:?")
# A degraded export's appeal heading, before its first target.
FLAT_START = [
    r"send appeals before {date} to",
    "appeals to",
    "envíen (?:sus )?llamamientos antes del? {date} a",
    "llamamientos a",
    "envoy(?:ez|er) vos appels avant le {date} à",
    "appels à",
]
FLAT_SALUTATION_LABEL = phrases("salutation", "tratamiento", "formule d'appel")
# Words that rule a line out as a person's name (titles, institutions, places).
NOT_NAME = {
    fold(word)
    for word in (
        "federation republic ministry minister president office department court embassy street council state"
        " national prosecutor general's attorney ombudsman ombudsperson commissioner governor mayor director"
        " secretary chief judge police commander rights"
        " federación república ministerio ministro ministra presidente presidenta oficina departamento tribunal"
        " embajada calle consejo estado nacional fiscal secretaría secretario despacho seguridad procurador"
        " procuradora defensor defensora gobernador gobernadora alcalde alcaldesa director directora jefe jefa"
        " juez jueza policía comandante derechos procuraduría fiscalía comisión dirección defensoría gobierno"
        " fédération république ministère ministre président présidente bureau département cour ambassade rue"
        " conseil état procureur secrétariat sécurité défenseur défenseure médiateur médiatrice gouverneur"
        " maire directeur directrice chef juge commandant droits"
    ).split()
}
NAME_PARTICLES = {
    "de",
    "da",
    "del",
    "la",
    "las",
    "los",
    "van",
    "von",
    "der",
    "al",
    "el",
    "bin",
    "ibn",
    "y",
    "du",
    "des",
    "le",
    "e",
}
NAME_LINKERS = {"of", "the", "and", "for", "on"}

# --- the sample letter and its salutation (asks.py, salutations.py) ----------------------------

# The word a salutation opens with, by language: it tells the halves of "Dear Minister/Estimado Señor
# Secretario" apart. Compared folded (see `fold`).
SALUTATION_WORDS = {
    "en": set("dear your to honourable honorable hon".split()),
    "es": set(
        "estimado estimada estimados estimadas señor señora señores sr sra srta excelentísimo excelentísima"
        " distinguido distinguida apreciado apreciada querido".split()
    ),
    "fr": set("monsieur madame mesdames messieurs cher chère mme excellence".split()),
    "ru": set("уважаемый уважаемая уважаемые".split()),
}
# The closing formula that ends a sample letter.
SIGN_OFF = phrases(
    "yours sincerely",
    "yours faithfully",
    "yours truly",
    "sincerely",
    "kind regards",
    "respectfully",
    "atentamente",
    "cordialmente",
    "un saludo",
    "reciba un cordial saludo",
    "veuillez agréer",
    "je vous prie d'agréer",
    "cordialement",
    "respectueusement",
)
# How a sample letter's request opens: a sentence the writer addresses to the official ("I urge you to …",
# "Le insto a …", "Je vous demande de …"). The letter's other sentences say what happened.
_REQUEST_OPENINGS = [
    r"(?:I|we)\s+(?:would\s+)?(?:(?:also|further|therefore|respectfully|strongly|now|again|urgently)\s+)?"
    r"(?:urge|call\s+(?:on|upon)|ask|request|appeal\s+to|implore|encourage)\s+you\b",
    r"I\s+(?:would\s+)?(?:(?:also|respectfully)\s+)?request\s+that\b",
    r"please\b(?!\s+accept)",
    flex(r"(?:(?:asimismo|además|también|por (?:ello|tanto|eso)),? )?(?:le|les) (?:(?:también|asimismo) )?")
    + flex("(?:insto|instamos|pido|pedimos|solicito|solicitamos|exhorto|exhortamos|ruego|rogamos|urjo)")
    + r"\b",
    flex(r"por favor") + r"\b",
    flex(r"(?:(?:aussi|également|en outre|par conséquent),? )?(?:je|nous) vous (?:(?:également|aussi|donc) )?")
    + flex("(?:demande|demandons|prie|prions|exhorte|exhortons|engage|invite|appelle)")
    + r"\b(?!\s+d['’]?agr)",
    r"veuillez\b(?!\s+agr)",
]
REQUEST_SENTENCE = "(?:" + "|".join(_REQUEST_OPENINGS) + ")"

# --- copies that lost their accented letters ---------------------------------------------------

# Frequent Spanish and French words with the accented letter dropped, as some hosts and exports give
# them ("ACCIN URGENTE", "ndice", "Mxico"): none is a word of its own in any of the three languages.
ACCENTS_LOST = (
    r"\b(?:accin|informacin|ndice|pgina|mxico|amnista|tambin|despus|segn|nmero|direccin|proteccin"
    r"|situacin|detencin|peticin|comisin|regin|prisin|poltica|pblico|pblica|ms all|adems|rpublique"
    r"|scurit|dtention|libert|prsident|tlphone|socit|gnral|intrieur|algrie|algria|pnal|trs|aot)\b"
)

# --- the appeal's subject (parse.py) -----------------------------------------------------------

# The words that follow a person's name at the start of an Urgent Action's opening sentence
# ("Alan Johnston was released ...", "Nizomkhon Juraev a été libéré ..."): the name is its subject.
SUBJECT_VERBS = set(
    (
        "was is has had remains remained faces faced risks could may will were"
        " fue es está estaba ha había sigue permanece corre podría"
        " a est était reste risque pourrait"
    ).split()
)
# Capitalised words that open a sentence without being a name.
NOT_NAME_START = {
    fold(word)
    for word in (
        "the a an on in at this there these those his her their he she they it we amnesty international"
        " human rights un one two three four five several more most many after before since following"
        " according el la los las un una unos unas en el este esta estos estas su sus según tras"
        " le les une des ce cette ces son sa ses selon après depuis"
    ).split()
}
# Lines that name an official's office rather than a person: in a target block, its title.
TITLE_LINE = phrases(
    "(?:prime |deputy |vice[- ]?)?minist(?:er|ro|ra|re)\\b",
    "attorney general",
    "(?:procurador|fiscal|procureur) general",
    "fiscal general",
    "procureur",
    "(?:vice[- ]?)?president[ea]?\\b",
    "président[e]?\\b",
    "governor|gobernador[a]?|gouverneur",
    "prosecutor general|prosecutor",
    "ambassador|embajador[a]?|ambassadeur",
    "(?:human rights )?ombuds(?:man|person)",
    "defensor[a]? del pueblo|defensor[a]? de los derechos",
    "(?:national |federal )?(?:police )?commissioner|comisionad[oa]|commissaire",
    "head of|jefe de|jefa de|chef de",
    "secretary(?: general| of)|secretari[oa] general|secrétaire (?:général|d'état)",
    "(?:chief |supreme )?(?:king|queen|emir|sultan)\\b",
    "mayor\\b|alcalde|alcaldesa|maire\\b",
    "director(?:a)? general|directeur général|directrice générale",
)
# Military and police ranks written in front of a name ("General de División Julián Pacheco").
RANK = phrases(
    "general(?: de (?:división|brigada|ejército|corps d'armée))?",
    "major general|brigadier general|lieutenant general|lieutenant colonel",
    "colonel|coronel|teniente coronel|teniente|capitán|captain|capitaine|commandant|comandante",
    "admiral|almirante|amiral|brigadier|commodore|comisario|commissaire divisionnaire",
)
