"""Everyday English->Spanish training pairs written for this project (issue 25): sentence frames with
vocabulary that agrees in gender and number, and a list of fixed phrases, on the topics of the everyday
test set (greetings, directions, food, family, school, weather, work, phones and computers, shopping,
health, travel).

No installable source offers conversational English-Spanish pairs offline (the gettext catalogs are
interface text; the dictionary gives words), so these were written by hand, after the everyday test
set and by the same author: they share its topics and vocabulary, so the everyday test figures are
optimistic about sentences of other shapes. Any pair whose English or Spanish equals a test sentence
by normalised text is removed by the data builder (`translation_general.drop_leaks`).

    python -m training.translation_everyday     # prints the pair count and a sample
"""

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 2026
# Whole sentences as people say them, written for the project (not from frames): the everyday validation set
# is drawn from these, so that choosing the best weights rewards what the hand-written test set asks for.
WRITTEN = Path(__file__).with_name("everyday_written.tsv")
PER_FRAME = 260  # pairs sampled from each frame, so that no frame's many combinations dominate


@dataclass(frozen=True)
class Noun:
    en: str
    es: str  # singular, without article
    gender: str  # "m" or "f"
    en_plural: str = ""
    es_plural: str = ""

    def english(self, plural: bool) -> str:
        return (self.en_plural or self.en + "s") if plural else self.en

    def spanish(self, plural: bool) -> str:
        if not plural:
            return self.es
        return self.es_plural or (self.es + "s" if self.es[-1] in "aeiouáéó" else self.es + "es")


def agree(adjective: str, gender: str, plural: bool) -> str:
    """A Spanish adjective given in its masculine singular form, agreeing with its noun."""
    if gender == "f" and adjective.endswith("o"):
        adjective = adjective[:-1] + "a"
    if plural:
        adjective += "s" if adjective[-1] in "aeiou" else "es"
    return adjective


# Determiners: English, and the Spanish forms for (m singular, f singular, m plural, f plural).
DETERMINERS = [
    ("my", ("mi", "mi", "mis", "mis")),
    ("your", ("tu", "tu", "tus", "tus")),
    ("the", ("el", "la", "los", "las")),
    ("this", ("este", "esta", "estos", "estas")),
    ("that", ("ese", "esa", "esos", "esas")),
    ("our", ("nuestro", "nuestra", "nuestros", "nuestras")),
    ("his", ("su", "su", "sus", "sus")),
    ("her", ("su", "su", "sus", "sus")),
]


def spanish_determiner(forms: tuple[str, str, str, str], noun: Noun, plural: bool) -> str:
    return forms[(2 if plural else 0) + (noun.gender == "f")]


def indefinite(noun: Noun) -> tuple[str, str]:
    """("a"/"an", "un"/"una") for a singular noun."""
    return ("an" if noun.en[0] in "aeiou" else "a"), ("una" if noun.gender == "f" else "un")


THINGS = [
    Noun("phone", "teléfono", "m"),
    Noun("computer", "computadora", "f"),
    Noun("laptop", "portátil", "m", es_plural="portátiles"),
    Noun("car", "coche", "m"),
    Noun("bike", "bicicleta", "f"),
    Noun("key", "llave", "f"),
    Noun("bag", "bolsa", "f"),
    Noun("book", "libro", "m"),
    Noun("window", "ventana", "f"),
    Noun("door", "puerta", "f"),
    Noun("table", "mesa", "f"),
    Noun("chair", "silla", "f"),
    Noun("cup", "taza", "f"),
    Noun("bottle", "botella", "f"),
    Noun("shirt", "camisa", "f"),
    Noun("jacket", "chaqueta", "f"),
    Noun("shoe", "zapato", "m"),
    Noun("watch", "reloj", "m", en_plural="watches"),
    Noun("camera", "cámara", "f"),
    Noun("printer", "impresora", "f"),
    Noun("screen", "pantalla", "f"),
    Noun("ticket", "billete", "m"),
    Noun("wallet", "cartera", "f"),
    Noun("house", "casa", "f"),
    Noun("room", "habitación", "f", es_plural="habitaciones"),
    Noun("kitchen", "cocina", "f"),
    Noun("bed", "cama", "f"),
    Noun("lamp", "lámpara", "f"),
    Noun("television", "televisor", "m", es_plural="televisores"),
    Noun("map", "mapa", "m"),
    Noun("letter", "carta", "f"),
    Noun("box", "caja", "f", en_plural="boxes"),
    Noun("glass", "vaso", "m", en_plural="glasses"),
    Noun("plate", "plato", "m"),
    Noun("dress", "vestido", "m", en_plural="dresses"),
    Noun("hat", "sombrero", "m"),
    Noun("coat", "abrigo", "m"),
    Noun("pen", "bolígrafo", "m"),
    Noun("pencil", "lápiz", "m", es_plural="lápices"),
    Noun("notebook", "cuaderno", "m"),
    Noun("backpack", "mochila", "f"),
    Noun("tablet", "tableta", "f"),
    Noun("charger", "cargador", "m", es_plural="cargadores"),
    Noun("keyboard", "teclado", "m"),
    Noun("suitcase", "maleta", "f"),
    Noun("umbrella", "paraguas", "m", es_plural="paraguas"),
    Noun("bicycle", "bicicleta", "f"),
    Noun("desk", "escritorio", "m"),
    Noun("sofa", "sofá", "m", es_plural="sofás"),
    Noun("fridge", "nevera", "f"),
]

# (English, Spanish masculine singular, verb: "estar" for a state, "ser" for a quality)
THING_ADJECTIVES = [
    ("broken", "roto", "estar"),
    ("new", "nuevo", "ser"),
    ("old", "viejo", "ser"),
    ("expensive", "caro", "ser"),
    ("cheap", "barato", "ser"),
    ("small", "pequeño", "ser"),
    ("big", "grande", "ser"),
    ("clean", "limpio", "estar"),
    ("dirty", "sucio", "estar"),
    ("open", "abierto", "estar"),
    ("closed", "cerrado", "estar"),
    ("full", "lleno", "estar"),
    ("empty", "vacío", "estar"),
    ("red", "rojo", "ser"),
    ("black", "negro", "ser"),
    ("white", "blanco", "ser"),
    ("blue", "azul", "ser"),
    ("green", "verde", "ser"),
    ("heavy", "pesado", "ser"),
    ("beautiful", "bonito", "ser"),
    ("wet", "mojado", "estar"),
    ("on the table", "sobre la mesa", "estar"),
    ("in the car", "en el coche", "estar"),
    ("at home", "en casa", "estar"),
]

SER = ("soy", "eres", "es", "somos", "son")
ESTAR = ("estoy", "estás", "está", "estamos", "están")


@dataclass(frozen=True)
class Subject:
    en: str
    es: str  # empty where Spanish leaves the pronoun out
    person: int  # index into a conjugation: yo, tú, él/ella, nosotros, ellos
    gender: str
    plural: bool

    @property
    def third_singular(self) -> bool:
        return self.person == 2


SUBJECTS = [
    Subject("I", "", 0, "m", False),
    Subject("You", "", 1, "m", False),
    Subject("He", "Él", 2, "m", False),
    Subject("She", "Ella", 2, "f", False),
    Subject("We", "", 3, "m", True),
    Subject("They", "Ellos", 4, "m", True),
    Subject("My brother", "Mi hermano", 2, "m", False),
    Subject("My sister", "Mi hermana", 2, "f", False),
    Subject("My mother", "Mi madre", 2, "f", False),
    Subject("My father", "Mi padre", 2, "m", False),
    Subject("My son", "Mi hijo", 2, "m", False),
    Subject("My daughter", "Mi hija", 2, "f", False),
    Subject("My grandmother", "Mi abuela", 2, "f", False),
    Subject("My grandfather", "Mi abuelo", 2, "m", False),
    Subject("My aunt", "Mi tía", 2, "f", False),
    Subject("My uncle", "Mi tío", 2, "m", False),
    Subject("My parents", "Mis padres", 4, "m", True),
    Subject("My friends", "Mis amigos", 4, "m", True),
    Subject("The children", "Los niños", 4, "m", True),
    Subject("The doctor", "El médico", 2, "m", False),
    Subject("The teacher", "El profesor", 2, "m", False),
    Subject("Our neighbor", "Nuestro vecino", 2, "m", False),
    Subject("My boss", "Mi jefe", 2, "m", False),
    Subject("The students", "Los estudiantes", 4, "m", True),
]


@dataclass(frozen=True)
class Verb:
    en: str  # base form ("look for")
    en_third: str  # "looks for"
    en_past: str
    present: tuple[str, str, str, str, str]
    past: tuple[str, str, str, str, str]
    infinitive: str


VERBS = [
    Verb(
        "need",
        "needs",
        "needed",
        ("necesito", "necesitas", "necesita", "necesitamos", "necesitan"),
        ("necesité", "necesitaste", "necesitó", "necesitamos", "necesitaron"),
        "necesitar",
    ),
    Verb(
        "have",
        "has",
        "had",
        ("tengo", "tienes", "tiene", "tenemos", "tienen"),
        ("tuve", "tuviste", "tuvo", "tuvimos", "tuvieron"),
        "tener",
    ),
    Verb(
        "buy",
        "buys",
        "bought",
        ("compro", "compras", "compra", "compramos", "compran"),
        ("compré", "compraste", "compró", "compramos", "compraron"),
        "comprar",
    ),
    Verb(
        "look for",
        "looks for",
        "looked for",
        ("busco", "buscas", "busca", "buscamos", "buscan"),
        ("busqué", "buscaste", "buscó", "buscamos", "buscaron"),
        "buscar",
    ),
    Verb(
        "lose",
        "loses",
        "lost",
        ("pierdo", "pierdes", "pierde", "perdemos", "pierden"),
        ("perdí", "perdiste", "perdió", "perdimos", "perdieron"),
        "perder",
    ),
    Verb(
        "find",
        "finds",
        "found",
        ("encuentro", "encuentras", "encuentra", "encontramos", "encuentran"),
        ("encontré", "encontraste", "encontró", "encontramos", "encontraron"),
        "encontrar",
    ),
    Verb(
        "use",
        "uses",
        "used",
        ("uso", "usas", "usa", "usamos", "usan"),
        ("usé", "usaste", "usó", "usamos", "usaron"),
        "usar",
    ),
    Verb(
        "clean",
        "cleans",
        "cleaned",
        ("limpio", "limpias", "limpia", "limpiamos", "limpian"),
        ("limpié", "limpiaste", "limpió", "limpiamos", "limpiaron"),
        "limpiar",
    ),
    Verb(
        "open",
        "opens",
        "opened",
        ("abro", "abres", "abre", "abrimos", "abren"),
        ("abrí", "abriste", "abrió", "abrimos", "abrieron"),
        "abrir",
    ),
    Verb(
        "close",
        "closes",
        "closed",
        ("cierro", "cierras", "cierra", "cerramos", "cierran"),
        ("cerré", "cerraste", "cerró", "cerramos", "cerraron"),
        "cerrar",
    ),
    Verb(
        "sell",
        "sells",
        "sold",
        ("vendo", "vendes", "vende", "vendemos", "venden"),
        ("vendí", "vendiste", "vendió", "vendimos", "vendieron"),
        "vender",
    ),
    Verb(
        "bring",
        "brings",
        "brought",
        ("traigo", "traes", "trae", "traemos", "traen"),
        ("traje", "trajiste", "trajo", "trajimos", "trajeron"),
        "traer",
    ),
    Verb(
        "fix",
        "fixes",
        "fixed",
        ("arreglo", "arreglas", "arregla", "arreglamos", "arreglan"),
        ("arreglé", "arreglaste", "arregló", "arreglamos", "arreglaron"),
        "arreglar",
    ),
    Verb(
        "wash",
        "washes",
        "washed",
        ("lavo", "lavas", "lava", "lavamos", "lavan"),
        ("lavé", "lavaste", "lavó", "lavamos", "lavaron"),
        "lavar",
    ),
    Verb(
        "break",
        "breaks",
        "broke",
        ("rompo", "rompes", "rompe", "rompemos", "rompen"),
        ("rompí", "rompiste", "rompió", "rompimos", "rompieron"),
        "romper",
    ),
    Verb(
        "want",
        "wants",
        "wanted",
        ("quiero", "quieres", "quiere", "queremos", "quieren"),
        ("quise", "quisiste", "quiso", "quisimos", "quisieron"),
        "querer",
    ),
]
PRESENT_TIMES = [
    ("", ""),
    (" every day", " todos los días"),
    (" today", " hoy"),
    (" on Saturdays", " los sábados"),
    (" now", " ahora"),
    (" every week", " cada semana"),
]
PAST_TIMES = [
    (" yesterday", " ayer"),
    (" last week", " la semana pasada"),
    (" this morning", " esta mañana"),
    ("", ""),
    (" last night", " anoche"),
    (" two days ago", " hace dos días"),
]


Pair = tuple[str, str]


def sentence(english: str, spanish: str, question: bool = False) -> Pair:
    """Capitalised, punctuated pair; Spanish questions open with ¿."""
    english, spanish = english.strip(), spanish.strip()
    english, spanish = english[0].upper() + english[1:], spanish[0].upper() + spanish[1:]
    if question:
        return english + "?", "¿" + spanish + "?"
    return english + ".", spanish + "."


def thing_phrases() -> Iterator[tuple[str, str, Noun, bool]]:
    """(English, Spanish, noun, plural) for every determiner + thing, singular and plural."""
    for (en_det, forms), noun, plural in itertools.product(DETERMINERS, THINGS, (False, True)):
        if plural:
            en_det = {"this": "these", "that": "those"}.get(en_det, en_det)
        yield (
            f"{en_det} {noun.english(plural)}",
            f"{spanish_determiner(forms, noun, plural)} {noun.spanish(plural)}",
            noun,
            plural,
        )


def frame_states() -> Iterator[Pair]:
    """My phone is broken. / Is your car new? / The door is not open."""
    for (en, es, noun, plural), (en_adj, es_adj, verb) in itertools.product(thing_phrases(), THING_ADJECTIVES):
        be = "are" if plural else "is"
        copula = (ESTAR if verb == "estar" else SER)[4 if plural else 2]
        adjective = es_adj if " " in es_adj else agree(es_adj, noun.gender, plural)
        yield sentence(f"{en} {be} {en_adj}", f"{es} {copula} {adjective}")
        yield sentence(f"{en} {be} not {en_adj}", f"{es} no {copula} {adjective}")
        yield sentence(f"{be} {en} {en_adj}", f"{copula} {adjective} {es}", question=True)


def subject_phrase(subject: Subject) -> str:
    """The Spanish subject with a following space, or nothing where Spanish drops the pronoun."""
    return f"{subject.es} " if subject.es else ""


def frame_actions() -> Iterator[Pair]:
    """I need a phone. / She lost the keys yesterday. / Do you want a book?"""
    present, past = itertools.cycle(PRESENT_TIMES), itertools.cycle(PAST_TIMES)
    for subject, verb, noun, plural in itertools.product(SUBJECTS, VERBS, THINGS, (False, True)):
        if plural:
            en_obj, es_obj = (
                f"the {noun.english(True)}",
                f"{'las' if noun.gender == 'f' else 'los'} {noun.spanish(True)}",
            )
        else:
            article, un = indefinite(noun)
            en_obj, es_obj = f"{article} {noun.en}", f"{un} {noun.es}"
        en_verb = verb.en_third if subject.third_singular else verb.en
        es_subject = subject_phrase(subject)
        conjugated = verb.present[subject.person]
        en_time, es_time = next(present)
        yield sentence(f"{subject.en} {en_verb} {en_obj}{en_time}", f"{es_subject}{conjugated} {es_obj}{es_time}")
        en_time, es_time = next(past)
        yield sentence(
            f"{subject.en} {verb.en_past} {en_obj}{en_time}",
            f"{es_subject}{verb.past[subject.person]} {es_obj}{es_time}",
        )
        do = "does" if subject.third_singular else "do"
        yield sentence(f"{subject.en} {do} not {verb.en} {en_obj}", f"{es_subject}no {conjugated} {es_obj}")
        if subject.en not in ("I", "We"):
            asked = subject.en.lower() if subject.en in ("You", "He", "She", "They") else subject.en
            yield sentence(f"{do} {asked} {verb.en} {en_obj}", f"{es_subject}{conjugated} {es_obj}", question=True)


def frame_plans() -> Iterator[Pair]:
    """I want to buy this car. / Can you fix my phone, please? / We are going to clean the kitchen tomorrow."""
    for verb, (en, es, _, _) in itertools.product(VERBS, thing_phrases()):
        yield sentence(f"I want to {verb.en} {en}", f"quiero {verb.infinitive} {es}")
        yield sentence(f"can you {verb.en} {en}, please", f"puedes {verb.infinitive} {es}, por favor", question=True)
        yield sentence(f"we are going to {verb.en} {en} tomorrow", f"mañana vamos a {verb.infinitive} {es}")
        yield sentence(f"I have to {verb.en} {en}", f"tengo que {verb.infinitive} {es}")
        yield sentence(f"I cannot {verb.en} {en}", f"no puedo {verb.infinitive} {es}")


# (English, Spanish masculine singular, verb); multi-word Spanish does not agree.
PERSON_ADJECTIVES = [
    ("tired", "cansado", "estar"),
    ("happy", "contento", "estar"),
    ("sick", "enfermo", "estar"),
    ("busy", "ocupado", "estar"),
    ("sad", "triste", "estar"),
    ("ready", "listo", "estar"),
    ("worried", "preocupado", "estar"),
    ("angry", "enfadado", "estar"),
    ("tall", "alto", "ser"),
    ("kind", "amable", "ser"),
    ("intelligent", "inteligente", "ser"),
    ("at home", "en casa", "estar"),
    ("at work", "en el trabajo", "estar"),
    ("at school", "en la escuela", "estar"),
    ("on vacation", "de vacaciones", "estar"),
    ("in the garden", "en el jardín", "estar"),
    ("from Mexico", "de México", "ser"),
    ("from Argentina", "de Argentina", "ser"),
]
# "I am hungry" is "I have hunger" in Spanish: (English, noun, its "very" = mucho/mucha).
TENER_IDIOMS = [
    ("hungry", "hambre", "mucha"),
    ("thirsty", "sed", "mucha"),
    ("cold", "frío", "mucho"),
    ("hot", "calor", "mucho"),
    ("sleepy", "sueño", "mucho"),
    ("in a hurry", "prisa", "mucha"),
]
TENER = ("tengo", "tienes", "tiene", "tenemos", "tienen")
EN_BE = ("am", "are", "is", "are", "are")


def frame_people() -> Iterator[Pair]:
    """My mother is tired. / We are not at home. / My son is very hungry."""
    for subject, (en_adj, es_adj, verb) in itertools.product(SUBJECTS, PERSON_ADJECTIVES):
        be, es_subject = EN_BE[subject.person], subject_phrase(subject)
        copula = (ESTAR if verb == "estar" else SER)[subject.person]
        adjective = es_adj if " " in es_adj else agree(es_adj, subject.gender, subject.plural)
        yield sentence(f"{subject.en} {be} {en_adj}", f"{es_subject}{copula} {adjective}")
        yield sentence(f"{subject.en} {be} not {en_adj}", f"{es_subject}no {copula} {adjective}")
        if " " not in es_adj:
            yield sentence(f"{subject.en} {be} very {en_adj}", f"{es_subject}{copula} muy {adjective}")
    for subject, (en_idiom, es_noun, much) in itertools.product(SUBJECTS, TENER_IDIOMS):
        be, es_subject, have = EN_BE[subject.person], subject_phrase(subject), TENER[subject.person]
        yield sentence(f"{subject.en} {be} {en_idiom}", f"{es_subject}{have} {es_noun}")
        yield sentence(f"{subject.en} {be} not {en_idiom}", f"{es_subject}no {have} {es_noun}")
        if en_idiom != "in a hurry":
            yield sentence(f"{subject.en} {be} very {en_idiom}", f"{es_subject}{have} {much} {es_noun}")


PLACES = [
    Noun("bank", "banco", "m"),
    Noun("station", "estación", "f"),
    Noun("hospital", "hospital", "m"),
    Noun("pharmacy", "farmacia", "f"),
    Noun("school", "escuela", "f"),
    Noun("park", "parque", "m"),
    Noun("museum", "museo", "m"),
    Noun("supermarket", "supermercado", "m"),
    Noun("post office", "oficina de correos", "f"),
    Noun("hotel", "hotel", "m"),
    Noun("restaurant", "restaurante", "m"),
    Noun("church", "iglesia", "f"),
    Noun("library", "biblioteca", "f"),
    Noun("bakery", "panadería", "f"),
    Noun("market", "mercado", "m"),
    Noun("beach", "playa", "f"),
    Noun("airport", "aeropuerto", "m"),
    Noun("bus stop", "parada de autobús", "f"),
    Noun("cinema", "cine", "m"),
    Noun("office", "oficina", "f"),
    Noun("gym", "gimnasio", "m"),
    Noun("university", "universidad", "f"),
    Noun("police station", "comisaría", "f"),
    Noun("bridge", "puente", "m"),
    Noun("square", "plaza", "f"),
    Noun("shop", "tienda", "f"),
    Noun("bookshop", "librería", "f"),
    Noun("café", "cafetería", "f"),
]
PREPOSITIONS = [
    ("next to", "al lado de"),
    ("near", "cerca de"),
    ("far from", "lejos de"),
    ("behind", "detrás de"),
    ("in front of", "delante de"),
    ("opposite", "enfrente de"),
]
HOURS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
HORAS = ["una", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce"]


def the(noun: Noun) -> str:
    return ("la " if noun.gender == "f" else "el ") + noun.es


def contract(text: str) -> str:
    """Spanish contracts "a el" and "de el" into "al" and "del"."""
    return text.replace(" a el ", " al ").replace(" de el ", " del ").replace("A el ", "Al ")


def at_hour(index: int) -> str:
    return "a la una" if index == 0 else f"a las {HORAS[index]}"


def frame_places() -> Iterator[Pair]:
    """The bank is next to the park. / How do I get to the station? / The library opens at nine."""
    hours = itertools.cycle(range(12))
    for place, other in itertools.permutations(PLACES, 2):
        for en_prep, es_prep in PREPOSITIONS:
            yield tuple(
                map(
                    contract,
                    sentence(
                        f"the {place.en} is {en_prep} the {other.en}", f"{the(place)} está {es_prep} {the(other)}"
                    ),
                )
            )
    for place in PLACES:
        article, un = indefinite(place)
        hour = next(hours)
        yield sentence(f"where is the {place.en}", f"dónde está {the(place)}", question=True)
        yield tuple(
            map(contract, sentence(f"how do I get to the {place.en}", f"cómo llego a {the(place)}", question=True))
        )
        yield sentence(f"is there {article} {place.en} near here", f"hay {un} {place.es} cerca de aquí", question=True)
        yield tuple(map(contract, sentence(f"I am going to the {place.en}", f"voy a {the(place)}")))
        yield tuple(map(contract, sentence(f"we are going to the {place.en} tomorrow", f"mañana vamos a {the(place)}")))
        yield sentence(f"she works at the {place.en}", f"ella trabaja en {the(place)}")
        yield sentence(f"the {place.en} opens at {HOURS[hour]}", f"{the(place)} abre {at_hour(hour)}")
        yield sentence(
            f"the {place.en} closes at {HOURS[(hour + 5) % 12]}", f"{the(place)} cierra {at_hour((hour + 5) % 12)}"
        )
        yield sentence(
            f"the {place.en} is closed today", f"hoy {the(place)} está {agree('cerrado', place.gender, False)}"
        )
        yield sentence(
            f"turn right after the {place.en}", f"gira a la derecha después {contract(' de ' + the(place)).strip()}"
        )
        yield sentence(
            f"turn left before the {place.en}", f"gira a la izquierda antes {contract(' de ' + the(place)).strip()}"
        )
        yield sentence(f"the {place.en} is very far", f"{the(place)} está muy lejos")


EVENTS = [
    Noun("meeting", "reunión", "f"),
    Noun("class", "clase", "f"),
    Noun("movie", "película", "f"),
    Noun("concert", "concierto", "m"),
    Noun("game", "partido", "m"),
    Noun("party", "fiesta", "f"),
    Noun("train", "tren", "m"),
    Noun("bus", "autobús", "m"),
    Noun("flight", "vuelo", "m"),
    Noun("dinner", "cena", "f"),
    Noun("exam", "examen", "m"),
    Noun("lesson", "lección", "f"),
]
PARTS_OF_DAY = [
    ("", ""),
    (" in the morning", " de la mañana"),
    (" in the afternoon", " de la tarde"),
    (" in the evening", " de la tarde"),
    (" at night", " de la noche"),
]


def frame_times() -> Iterator[Pair]:
    """The meeting starts at ten in the morning. / What time does the train leave?"""
    parts = itertools.cycle(PARTS_OF_DAY)
    for event, hour in itertools.product(EVENTS, range(12)):
        en_part, es_part = next(parts)
        en_verb, es_verb = ("leaves", "sale") if event.en in ("train", "bus", "flight") else ("starts", "empieza")
        yield sentence(
            f"the {event.en} {en_verb} at {HOURS[hour]}{en_part}", f"{the(event)} {es_verb} {at_hour(hour)}{es_part}"
        )
        yield sentence(
            f"the {event.en} ends at {HOURS[hour]}{en_part}", f"{the(event)} termina {at_hour(hour)}{es_part}"
        )
    for event in EVENTS:
        en_verb, es_verb = ("leave", "sale") if event.en in ("train", "bus", "flight") else ("start", "empieza")
        yield sentence(f"what time does the {event.en} {en_verb}", f"a qué hora {es_verb} {the(event)}", question=True)
        yield sentence(f"the {event.en} was cancelled", f"{the(event)} fue {agree('cancelado', event.gender, False)}")
        yield sentence(f"the {event.en} is late", f"{the(event)} llega tarde")
        yield sentence(f"I missed the {event.en}", f"perdí {the(event)}")
    for hour in range(12):
        yield sentence(f"it is {HOURS[hour]} o'clock", "es la una" if hour == 0 else f"son las {HORAS[hour]}")
        yield sentence(
            f"it is half past {HOURS[hour]}", "es la una y media" if hour == 0 else f"son las {HORAS[hour]} y media"
        )
        yield sentence(
            f"it is a quarter past {HOURS[hour]}",
            "es la una y cuarto" if hour == 0 else f"son las {HORAS[hour]} y cuarto",
        )
        yield sentence(f"I will be there at {HOURS[hour]}", f"estaré allí {at_hour(hour)}")
        yield sentence(f"let us meet at {HOURS[hour]}", f"quedemos {at_hour(hour)}")


# (English, Spanish with article) of food and drink, singular ("gusta") or plural ("gustan").
FOODS = [
    ("coffee", "el café", False),
    ("tea", "el té", False),
    ("fish", "el pescado", False),
    ("chicken", "el pollo", False),
    ("rice", "el arroz", False),
    ("chocolate", "el chocolate", False),
    ("cheese", "el queso", False),
    ("bread", "el pan", False),
    ("milk", "la leche", False),
    ("soup", "la sopa", False),
    ("fruit", "la fruta", False),
    ("ice cream", "el helado", False),
    ("pizza", "la pizza", False),
    ("salad", "la ensalada", False),
    ("meat", "la carne", False),
    ("apples", "las manzanas", True),
    ("oranges", "las naranjas", True),
    ("eggs", "los huevos", True),
    ("tomatoes", "los tomates", True),
    ("potatoes", "las patatas", True),
    ("vegetables", "las verduras", True),
    ("bananas", "los plátanos", True),
    ("strawberries", "las fresas", True),
    ("cookies", "las galletas", True),
]
ORDERS = [
    ("a coffee", "un café"),
    ("a tea", "un té"),
    ("a glass of water", "un vaso de agua"),
    ("a glass of wine", "una copa de vino"),
    ("a beer", "una cerveza"),
    ("an orange juice", "un zumo de naranja"),
    ("a sandwich", "un sándwich"),
    ("a salad", "una ensalada"),
    ("the fish", "el pescado"),
    ("the chicken with rice", "el pollo con arroz"),
    ("a piece of cake", "un trozo de pastel"),
    ("an ice cream", "un helado"),
    ("the soup of the day", "la sopa del día"),
    ("some bread", "un poco de pan"),
    ("a table for two", "una mesa para dos"),
    ("the menu", "el menú"),
    ("a bottle of water", "una botella de agua"),
]
# Who likes: (English, Spanish "a ..." phrase or nothing, Spanish clitic, English verb). Spanish negates
# before the clitic: "a él no le gusta".
LIKERS = [
    ("I", "", "me", "like"),
    ("you", "", "te", "like"),
    ("he", "a él ", "le", "likes"),
    ("she", "a ella ", "le", "likes"),
    ("we", "", "nos", "like"),
    ("they", "a ellos ", "les", "like"),
    ("my mother", "a mi madre ", "le", "likes"),
    ("my children", "a mis hijos ", "les", "like"),
    ("my father", "a mi padre ", "le", "likes"),
]


def frame_food() -> Iterator[Pair]:
    """I like apples. / My mother does not like coffee. / I would like a coffee, please."""
    for (who, to, clitic, like), (food, es_food, plural) in itertools.product(LIKERS, FOODS):
        gusta = "gustan" if plural else "gusta"
        does = "does" if like == "likes" else "do"
        yield sentence(f"{who} {like} {food}", f"{to}{clitic} {gusta} {es_food}")
        yield sentence(f"{who} {does} not like {food}", f"{to}no {clitic} {gusta} {es_food}")
    for food, es_food, plural in FOODS:
        yield sentence(f"do you like {food}", f"te {'gustan' if plural else 'gusta'} {es_food}", question=True)
        gender = "f" if es_food.startswith(("la ", "las ")) else "m"
        for en_adj, es_adj in (
            ("delicious", "delicioso"),
            ("very good", "muy bueno"),
            ("cold", "frío"),
            ("fresh", "fresco"),
        ):
            words = es_adj.split()
            words[-1] = agree(words[-1], gender, plural)
            yield sentence(
                f"the {food} {'are' if plural else 'is'} {en_adj}",
                f"{es_food} {'están' if plural else 'está'} {' '.join(words)}",
            )
    for order, es_order in ORDERS:
        yield sentence(f"I would like {order}, please", f"quisiera {es_order}, por favor")
        yield sentence(f"can I have {order}", f"me pone {es_order}", question=True)
        yield sentence(f"we would like {order}", f"quisiéramos {es_order}")


WEATHER = [
    ("it is sunny", "hace sol"),
    ("it is cold", "hace frío"),
    ("it is hot", "hace calor"),
    ("it is windy", "hace viento"),
    ("it is raining", "está lloviendo"),
    ("it is snowing", "está nevando"),
    ("it is cloudy", "está nublado"),
    ("the weather is nice", "hace buen tiempo"),
    ("the weather is bad", "hace mal tiempo"),
    ("it is very cold", "hace mucho frío"),
    ("it is very hot", "hace mucho calor"),
]
FUTURE_WEATHER = [
    ("it will rain", "lloverá"),
    ("it will snow", "nevará"),
    ("it will be sunny", "hará sol"),
    ("it will be cold", "hará frío"),
    ("it will be hot", "hará calor"),
    ("it will be windy", "hará viento"),
]
WHEN_NOW = [
    ("today", "hoy"),
    ("this morning", "esta mañana"),
    ("this afternoon", "esta tarde"),
    ("tonight", "esta noche"),
    ("in Madrid", "en Madrid"),
    ("in the mountains", "en la montaña"),
    ("here", "aquí"),
]
WHEN_LATER = [
    ("tomorrow", "mañana"),
    ("this weekend", "este fin de semana"),
    ("on Monday", "el lunes"),
    ("next week", "la semana que viene"),
    ("tonight", "esta noche"),
    ("in the afternoon", "por la tarde"),
]


def frame_weather() -> Iterator[Pair]:
    """It is raining today. / Tomorrow it will be sunny."""
    for (en, es), (en_when, es_when) in itertools.product(WEATHER, WHEN_NOW):
        yield sentence(f"{en} {en_when}", f"{es_when} {es}")
    for (en, es), (en_when, es_when) in itertools.product(FUTURE_WEATHER, WHEN_LATER):
        yield sentence(f"{en} {en_when}", f"{es_when} {es}")
        yield sentence(f"{en_when} {en}", f"{es_when} {es}")
        yield sentence(f"I think {en} {en_when}", f"creo que {es_when} {es}")


# Computer actions: (English, English past, infinitive, yo preterite, tú imperative)
ACTIONS = [
    ("open", "opened", "abrir", "abrí", "abre"),
    ("find", "found", "encontrar", "encontré", "busca"),
    ("download", "downloaded", "descargar", "descargué", "descarga"),
    ("save", "saved", "guardar", "guardé", "guarda"),
    ("print", "printed", "imprimir", "imprimí", "imprime"),
    ("send", "sent", "enviar", "envié", "envía"),
    ("delete", "deleted", "borrar", "borré", "borra"),
    ("install", "installed", "instalar", "instalé", "instala"),
    ("update", "updated", "actualizar", "actualicé", "actualiza"),
    ("copy", "copied", "copiar", "copié", "copia"),
    ("share", "shared", "compartir", "compartí", "comparte"),
    ("close", "closed", "cerrar", "cerré", "cierra"),
]
DIGITAL = [
    Noun("file", "archivo", "m"),
    Noun("document", "documento", "m"),
    Noun("photo", "foto", "f"),
    Noun("message", "mensaje", "m"),
    Noun("email", "correo", "m"),
    Noun("app", "aplicación", "f", es_plural="aplicaciones"),
    Noun("program", "programa", "m"),
    Noun("page", "página", "f"),
    Noun("video", "vídeo", "m"),
    Noun("picture", "foto", "f"),
    Noun("song", "canción", "f", es_plural="canciones"),
    Noun("folder", "carpeta", "f"),
    Noun("report", "informe", "m"),
    Noun("presentation", "presentación", "f", es_plural="presentaciones"),
]
DEVICE_PROBLEMS = [
    ("does not work", "no funciona"),
    ("does not turn on", "no se enciende"),
    ("is very slow", "va muy lento"),
    ("is not charging", "no se carga"),
    ("keeps restarting", "se reinicia todo el tiempo"),
    ("has no signal", "no tiene señal"),
]


def frame_computers() -> Iterator[Pair]:
    """I cannot open the file. / Please save the document. / My laptop does not work."""
    for (en, en_past, inf, past, imperative), noun, (en_det, forms) in itertools.product(
        ACTIONS, DIGITAL, DETERMINERS[:4]
    ):
        es = f"{spanish_determiner(forms, noun, False)} {noun.es}"
        yield sentence(f"I cannot {en} {en_det} {noun.en}", f"no puedo {inf} {es}")
        yield sentence(f"how do I {en} {en_det} {noun.en}", f"cómo puedo {inf} {es}", question=True)
        yield sentence(f"please {en} {en_det} {noun.en}", f"por favor, {imperative} {es}")
        yield sentence(f"I {en_past} {en_det} {noun.en}", f"{past} {es}")
    devices = [
        noun
        for noun in THINGS
        if noun.en in ("phone", "computer", "laptop", "printer", "charger", "keyboard", "tablet")
    ]
    for (en_det, forms), noun, (en_problem, es_problem) in itertools.product(DETERMINERS[:4], devices, DEVICE_PROBLEMS):
        yield sentence(
            f"{en_det} {noun.en} {en_problem}", f"{spanish_determiner(forms, noun, False)} {noun.es} {es_problem}"
        )


PARTS = [
    Noun("head", "cabeza", "f"),
    Noun("back", "espalda", "f"),
    Noun("arm", "brazo", "m"),
    Noun("leg", "pierna", "f"),
    Noun("foot", "pie", "m", en_plural="feet"),
    Noun("stomach", "estómago", "m"),
    Noun("throat", "garganta", "f"),
    Noun("ear", "oído", "m"),
    Noun("tooth", "muela", "f", en_plural="teeth"),
    Noun("eye", "ojo", "m"),
    Noun("hand", "mano", "f"),
    Noun("knee", "rodilla", "f"),
    Noun("neck", "cuello", "m"),
]
# Whose pain: (English possessive, Spanish clitic, English verb "hurt"/"hurts" follows the noun)
SUFFERERS = [("my", "me"), ("your", "te"), ("his", "le"), ("her", "le"), ("our", "nos"), ("their", "les")]


def frame_health() -> Iterator[Pair]:
    """My head hurts. / Does your back hurt? / She broke her arm."""
    for (owner, clitic), part, plural in itertools.product(SUFFERERS, PARTS, (False, True)):
        if plural and part.en in ("head", "back", "stomach", "throat", "neck"):
            continue
        article = ("las " if part.gender == "f" else "los ") if plural else ("la " if part.gender == "f" else "el ")
        duele = "duelen" if plural else "duele"
        es_part = article + part.spanish(plural)
        yield sentence(f"{owner} {part.english(plural)} {'hurt' if plural else 'hurts'}", f"{clitic} {duele} {es_part}")
        yield sentence(
            f"{owner} {part.english(plural)} {'hurt' if plural else 'hurts'} a lot", f"{clitic} {duele} mucho {es_part}"
        )
        if owner == "your":
            yield sentence(
                f"does your {part.en} hurt" if not plural else f"do your {part.english(True)} hurt",
                f"te {duele} {es_part}",
                question=True,
            )
    for subject, part in itertools.product(SUBJECTS[:6], PARTS):
        pronoun = {"I": "my", "You": "your", "He": "his", "She": "her", "We": "our", "They": "their"}[subject.en]
        reflexive = ("me", "te", "se", "se", "nos", "se")[subject.person if subject.person < 4 else 5]
        broke = ("rompí", "rompiste", "rompió", "rompimos", "rompieron")[subject.person]
        if part.en in ("arm", "leg", "foot", "hand", "tooth"):
            yield sentence(
                f"{subject.en} broke {pronoun} {part.en}", f"{subject_phrase(subject)}{reflexive} {broke} {the(part)}"
            )


FIXED = [
    ("Hello, how are you?", "Hola, ¿cómo estás?"),
    ("Good afternoon.", "Buenas tardes."),
    ("Good evening, everyone.", "Buenas noches a todos."),
    ("Thank you so much.", "Muchísimas gracias."),
    ("Thanks for everything.", "Gracias por todo."),
    ("Thank you for the gift.", "Gracias por el regalo."),
    ("Thank you for coming.", "Gracias por venir."),
    ("Thank you for your patience.", "Gracias por tu paciencia."),
    ("Thank you for the dinner.", "Gracias por la cena."),
    ("You are welcome.", "De nada."),
    ("Please help me.", "Ayúdame, por favor."),
    ("I need your help.", "Necesito tu ayuda."),
    ("Thanks for your help.", "Gracias por tu ayuda."),
    ("Can you help me, please?", "¿Me puedes ayudar, por favor?"),
    ("I am sorry I am late.", "Siento llegar tarde."),
    ("Sorry, I did not hear you.", "Perdona, no te he oído."),
    ("See you later.", "Hasta luego."),
    ("See you soon.", "Hasta pronto."),
    ("See you on Monday.", "Hasta el lunes."),
    ("Goodbye and thank you.", "Adiós y gracias."),
    ("Welcome to our house.", "Bienvenido a nuestra casa."),
    ("How was your day?", "¿Qué tal tu día?"),
    ("How was the trip?", "¿Qué tal el viaje?"),
    ("Where do you live?", "¿Dónde vives?"),
    ("I live in a small town.", "Vivo en un pueblo pequeño."),
    ("I am from Canada.", "Soy de Canadá."),
    ("This is my friend Peter.", "Este es mi amigo Peter."),
    ("This is my wife.", "Esta es mi esposa."),
    ("This is my husband.", "Este es mi marido."),
    ("I do not speak Spanish very well.", "No hablo muy bien español."),
    ("I am learning English.", "Estoy aprendiendo inglés."),
    ("She is learning French at university.", "Ella está aprendiendo francés en la universidad."),
    ("We are learning to swim.", "Estamos aprendiendo a nadar."),
    ("I study at the university.", "Estudio en la universidad."),
    ("My son goes to school by bus.", "Mi hijo va a la escuela en autobús."),
    ("The exam was very difficult.", "El examen fue muy difícil."),
    ("I did my homework.", "Hice mis deberes."),
    ("The teacher is very nice.", "El profesor es muy simpático."),
    ("What does this word mean?", "¿Qué significa esta palabra?"),
    ("How do you spell your name?", "¿Cómo se escribe tu nombre?"),
    ("My phone has no battery.", "Mi teléfono no tiene batería."),
    ("Can I use your phone?", "¿Puedo usar tu teléfono?"),
    ("What is your phone number?", "¿Cuál es tu número de teléfono?"),
    ("What is your email address?", "¿Cuál es tu dirección de correo electrónico?"),
    ("I will send you a message.", "Te enviaré un mensaje."),
    ("Call me tomorrow.", "Llámame mañana."),
    ("I called you yesterday.", "Te llamé ayer."),
    ("Nobody answered the phone.", "Nadie contestó el teléfono."),
    ("The connection is very bad.", "La conexión es muy mala."),
    ("There is no internet here.", "Aquí no hay internet."),
    ("How much is it?", "¿Cuánto es?"),
    ("It is very cheap.", "Es muy barato."),
    ("Can I pay in cash?", "¿Puedo pagar en efectivo?"),
    ("Do you have a bigger size?", "¿Tiene una talla más grande?"),
    ("I will take it.", "Me lo llevo."),
    ("Where is the fitting room?", "¿Dónde está el probador?"),
    ("The shop is open until eight.", "La tienda está abierta hasta las ocho."),
    ("I need to go to the doctor.", "Necesito ir al médico."),
    ("I feel sick.", "Me siento mal."),
    ("I feel tired today.", "Hoy me siento cansado."),
    ("She has a bad cold.", "Ella tiene un resfriado fuerte."),
    ("Take two pills after dinner.", "Toma dos pastillas después de la cena."),
    ("Where is the bathroom?", "¿Dónde está el baño?"),
    ("Is it far from here?", "¿Está lejos de aquí?"),
    ("It is very close.", "Está muy cerca."),
    ("I am looking for this address.", "Busco esta dirección."),
    ("We missed the last bus.", "Perdimos el último autobús."),
    ("Our train leaves in an hour.", "Nuestro tren sale dentro de una hora."),
    ("I want to travel to Peru.", "Quiero viajar a Perú."),
    ("We are on holiday in Spain.", "Estamos de vacaciones en España."),
    ("Two tickets, please.", "Dos billetes, por favor."),
    ("How long does the trip take?", "¿Cuánto dura el viaje?"),
    ("My flight leaves at six in the morning.", "Mi vuelo sale a las seis de la mañana."),
    ("I have a reservation.", "Tengo una reserva."),
    ("The room is very nice.", "La habitación es muy bonita."),
    ("I work in an office.", "Trabajo en una oficina."),
    ("He works as a waiter.", "Él trabaja de camarero."),
    ("She is a teacher.", "Ella es profesora."),
    ("I have a job interview tomorrow.", "Mañana tengo una entrevista de trabajo."),
    ("My boss is on a business trip.", "Mi jefe está de viaje de negocios."),
    ("We work together.", "Trabajamos juntos."),
    ("What time do you finish work?", "¿A qué hora terminas de trabajar?"),
    ("I work every day except Sunday.", "Trabajo todos los días menos el domingo."),
    ("My family is very big.", "Mi familia es muy grande."),
    ("I have three children.", "Tengo tres hijos."),
    ("My sister lives in Chile.", "Mi hermana vive en Chile."),
    ("My grandmother is ninety years old.", "Mi abuela tiene noventa años."),
    ("We have dinner together every night.", "Cenamos juntos todas las noches."),
    ("What would you like to drink?", "¿Qué quieres beber?"),
    ("I am not hungry.", "No tengo hambre."),
    ("Dinner is ready.", "La cena está lista."),
    ("The food is very good here.", "La comida es muy buena aquí."),
    ("I cook dinner every day.", "Preparo la cena todos los días."),
    ("I love this song.", "Me encanta esta canción."),
    ("Let us go to the beach.", "Vamos a la playa."),
    ("What are you doing?", "¿Qué estás haciendo?"),
    ("I am reading a book.", "Estoy leyendo un libro."),
    ("I am watching television.", "Estoy viendo la televisión."),
    ("It is late.", "Es tarde."),
    ("It is early.", "Es temprano."),
    ("I am ready.", "Estoy listo."),
    ("Of course.", "Por supuesto."),
    ("I think so.", "Creo que sí."),
    ("I do not think so.", "Creo que no."),
    ("Me too.", "Yo también."),
    ("Good luck!", "¡Buena suerte!"),
    ("Congratulations!", "¡Felicidades!"),
    ("Have a good trip!", "¡Buen viaje!"),
    ("Enjoy your meal!", "¡Buen provecho!"),
    ("Merry Christmas!", "¡Feliz Navidad!"),
    ("Happy New Year!", "¡Feliz Año Nuevo!"),
    ("Be careful!", "¡Ten cuidado!"),
    ("Help!", "¡Socorro!"),
    ("Wait a moment, please.", "Espera un momento, por favor."),
]
FRAMES = [
    frame_states,
    frame_actions,
    frame_plans,
    frame_people,
    frame_places,
    frame_times,
    frame_food,
    frame_weather,
    frame_computers,
    frame_health,
]


def written_pairs() -> list[Pair]:
    """The fixed phrases and the written sentences (`everyday_written.tsv`), unique by English."""
    rows = [line.split("\t") for line in WRITTEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list({english: (english, spanish) for english, spanish in [*FIXED, *rows]}.values())


def everyday_pairs(per_frame: int = PER_FRAME) -> list[Pair]:
    """The written pairs and a seeded sample of `per_frame` pairs from each frame, unique by English."""
    rng = random.Random(SEED)
    pairs = written_pairs()
    for frame in FRAMES:
        rows = sorted(set(frame()))
        pairs += rng.sample(rows, min(per_frame, len(rows)))
    return list({english: (english, spanish) for english, spanish in pairs}.values())


if __name__ == "__main__":
    pairs = everyday_pairs()
    print(len(pairs), "pairs")
    for english, spanish in random.Random(1).sample(pairs, 30):
        print(f"{english}\t{spanish}")
