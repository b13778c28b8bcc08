"""The general English->Spanish model's data (issue 25): catalog cleaning, modern spelling, domain tags,
and the leak check, on small inputs and on the real built data where this machine has it."""

import struct
from pathlib import Path

import pytest

from training import translation_bible, translation_general
from training.spanish_orthography import archaic_forms, modernise
from training.translation_enes import TAGS, tagged_pairs, train_tokenizer, validation_sets
from training.translation_everyday import WRITTEN, everyday_pairs, written_pairs
from training.translation_general import clean_pair, drop_leaks, leaks, normalise, read_catalog


def write_mo(path: Path, entries: dict[str, str]) -> None:
    """A GNU .mo catalog (little-endian, no hash table) holding `entries`."""
    keys = sorted(entries)
    ids = [key.encode() for key in keys]
    strs = [entries[key].encode() for key in keys]
    header_size = 7 * 4
    table_size = 8 * len(keys)
    data_start = header_size + 2 * table_size
    blob, id_table, str_table = b"", [], []
    for table, items in ((id_table, ids), (str_table, strs)):
        for item in items:
            table.append((len(item), data_start + len(blob)))
            blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), header_size, header_size + table_size, 0, 0)
    tables = b"".join(struct.pack("<2I", *entry) for entry in id_table + str_table)
    path.write_bytes(header + tables + blob)


def test_a_catalog_reads_singular_entries_without_context(tmp_path):
    catalog = tmp_path / "app.mo"
    write_mo(
        catalog,
        {
            "": "Content-Type: text/plain; charset=UTF-8\n",
            "Open the file": "Abrir el archivo",
            "menu\x04Save the document": "Guardar el documento",
            "%d file\x00%d files": "%d archivo\x00%d archivos",
            "Untranslated entry": "",
        },
    )
    assert read_catalog(catalog) == {"Open the file": "Abrir el archivo", "Save the document": "Guardar el documento"}


@pytest.mark.parametrize(
    "english, spanish",
    [
        ("File %s could not be opened", "No se pudo abrir el archivo %s"),
        ("Copying %(count)d files now", "Copiando %(count)d archivos ahora"),
        ("Deleted {0} items from the list", "Se eliminaron {0} elementos de la lista"),
        ("Welcome back, {name} and friends", "Bienvenido de nuevo, {name} y amigos"),
        ("Set $HOME before you start", "Defina $HOME antes de empezar"),
        ("missing %qs in the declaration", "falta %qs en la declaración"),
        ("See https://example.org for more", "Vea https://example.org para más"),
        ("Use --force to overwrite files", "Use --force para sobrescribir archivos"),
        ("Quit", "Salir"),  # one word
        ("Open file", "Abrir archivo"),  # two words
        ("This is the same text", "This is the same text"),
        ("Show the main window", "Показать главное окно"),
    ],
)
def test_unusable_entries_are_dropped(english, spanish):
    assert clean_pair(english, spanish) is None


def test_markup_and_accelerators_are_removed():
    assert clean_pair("_Open the recent file", "_Abrir el archivo reciente") == (
        "Open the recent file",
        "Abrir el archivo reciente",
    )
    assert clean_pair("&Save all the documents", "&Guardar todos los documentos") == (
        "Save all the documents",
        "Guardar todos los documentos",
    )
    assert clean_pair("<b>Warning:</b> the disk is  full", "<b>Aviso:</b> el disco está lleno") == (
        "Warning: the disk is full",
        "Aviso: el disco está lleno",
    )
    assert clean_pair("Tom &amp; Jerry are friends", "Tom &amp; Jerry son amigos") == (
        "Tom & Jerry are friends",
        "Tom & Jerry son amigos",
    )


def test_modern_spelling_of_the_1909_text():
    assert modernise("Y fué á Jerusalem, é dió pan ó vino.") == "Y fue a Jerusalem, e dio pan o vino."
    assert modernise("Á la mañana vió que crió la tierra; levantóse y sentóse.") == (
        "A la mañana vio que crio la tierra; levantose y sentose."
    )
    assert modernise("Éste es aquél; sólo fuí yo, y díjole: dame tu pié.") == (
        "Este es aquel; solo fui yo, y díjole: dame tu pie."
    )


def test_modern_spelling_keeps_diacritic_accents():
    text = "Él sabe que tú y yo, y sé que a mí me dé más té. ¿Cuáles son? Sí."
    assert modernise(text) == text


def test_archaic_forms_are_listed():
    assert archaic_forms("Y fué á casa y sentóse.") == ["fué", "á", "sentóse"]
    assert archaic_forms("Mi teléfono está roto y él se sentó.") == []
    assert archaic_forms(modernise("Y fué á casa, y dióle pan.")) == []


def test_domain_tags_and_weights():
    rows = [
        ("daily", "My phone is broken.", "Mi teléfono está roto."),
        ("bible", "In the beginning", "En el principio"),
    ]
    pairs = tagged_pairs(rows, {"daily": 3})
    assert pairs.count(("<2daily> My phone is broken.", "Mi teléfono está roto.")) == 3
    assert pairs.count(("<2bible> In the beginning", "En el principio")) == 1
    held_out = {"valid": {"soft": [("Open the file now", "Abrir el archivo ahora")], "daily": [("Hi there", "Hola")]}}
    sets = validation_sets(held_out, limit=1)
    assert sets["soft"] == (["<2soft> Open the file now"], ["Abrir el archivo ahora"])
    assert validation_sets({"valid": [("In the beginning", "En el principio")]})["bible"][0] == ["In the beginning"]


def test_a_tag_is_one_token_of_the_tokenizer():
    tokenizer = train_tokenizer(["my phone is broken", "mi teléfono está roto"] * 5, 200, tuple(TAGS.values()))
    tokens = tokenizer.encode("<2daily> my phone").tokens
    assert tokens[0] == "<2daily>" and "<2daily>" not in tokenizer.decode(tokenizer.encode("<2daily> my").ids)


def test_the_leak_check_compares_normalised_text():
    held_out = [("My phone is broken.", "Mi teléfono está roto.")]
    train = [
        ("my phone is BROKEN", "Otra traducción"),  # the English, differently written
        ("Another sentence here", "Mi teléfono, está roto"),  # the Spanish
        ("My phone is new.", "Mi teléfono es nuevo."),
    ]
    assert drop_leaks(train, held_out) == [("My phone is new.", "Mi teléfono es nuevo.")]
    assert leaks(train, held_out) == train[:2]
    assert normalise("¿Qué tal, José?") == "quétaljosé"


def test_the_everyday_test_set_is_not_in_the_written_training_pairs_after_the_check():
    test = translation_general.everyday_test()
    assert len(test) >= 200
    assert not leaks(drop_leaks(everyday_pairs(), test), test)


def test_the_written_everyday_pairs_are_whole_sentences_in_both_languages():
    rows = [line.split("\t") for line in WRITTEN.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200 and all(len(row) == 2 and all(text.strip() for text in row) for row in rows)
    assert all(en[-1] in ".?!" and es[-1] in ".?!" and es[0] not in "?!" for en, es in rows)
    assert all(("?" in en) == ("¿" in es) for en, es in rows)  # Spanish opens its questions
    assert len(written_pairs()) == len({en for en, _ in written_pairs()})


CACHED = (translation_bible.split_dir() / "train.tsv").exists() and (
    translation_general.split_dir() / "train.tsv"
).exists()


@pytest.mark.skipif(not CACHED, reason="the Bible and software splits are not built here (make training-data)")
def test_no_held_out_sentence_trains_in_the_built_data():
    splits = translation_general.general_splits()
    held_out = [pair for name in ("valid", "test") for pairs in splits[name].values() for pair in pairs]
    for domain, pairs in splits["train"].items():
        assert not leaks(pairs, held_out), domain
    assert set(splits["valid"]["daily"]) <= set(written_pairs())  # validated on whole written sentences
    assert all(not archaic_forms(es) for _, es in splits["train"]["bible"][:2000])
