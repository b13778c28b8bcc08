"""A class together in AppTest: one presenter session (/classroom) and phone sessions (/join) sharing a real
SQLite database, each activity with the real models, and the bad input a class produces."""

import io

import pandas as pd
import pytest
from PIL import Image

import classroom_store as cr
import database
import ui
from models.classification.transfer import example_classes
from tests.test_presenter_share import open_page

SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(autouse=True)
def own_database(tmp_path, monkeypatch):
    monkeypatch.setenv(database.URL_VARIABLE, f"sqlite:///{tmp_path / 'class.sqlite3'}")


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def start_class(**query: str):
    """The presenter's page after pressing Start; the room's code."""
    presenter = no_exception(open_page("classroom.py", **query))
    next(b for b in presenter.button if b.label == "Start a class").click()
    no_exception(presenter.run())
    return presenter, presenter.session_state[ui.CLASS_ROOM][0]


def join(code: str, name: str = ""):
    phone = no_exception(open_page("join.py", room=code))
    phone.text_input[1].input(name)
    phone.button[0].click()
    return no_exception(phone.run())


def send(phone, text: str, label: str | None = None):
    """Type into the phone's current activity's box and press its form's button."""
    boxes = phone.text_area if len(phone.text_area) else phone.text_input[1:]
    boxes[0].input(text)
    if label is not None:
        phone.button_group[0].set_value(label)
    next(b for b in phone.button if b.key and b.key.startswith("FormSubmitter:class_")).click()
    return no_exception(phone.run())


def images(node) -> int:
    own = getattr(node, "type", None) == "image"
    return own + sum(images(child) for child in getattr(node, "children", {}).values())


def texts(at, kind: str) -> list[str]:
    return [element.value for element in getattr(at, kind)]


def choose_activity(presenter, title: str):
    presenter.button_group(key="class_activity").set_value(title)
    return no_exception(presenter.run())


def test_next_word_the_class_beside_smollm2():
    presenter, code = start_class()
    assert f"## {cr.shown_code(code)}" in texts(presenter, "markdown")
    join_url = next(c.value for c in presenter.code if "/join?" in c.value)
    assert join_url.endswith(f"/join?room={code}")
    assert images(presenter.main) == 2  # the class's QR code of that address, and the Share control's
    assert "**0 in:** nobody yet" in texts(presenter, "markdown")
    ada = join(code, "Ada")
    assert "You are in as **Ada** · Next word" in texts(ada, "success")
    assert any("deleted when the presenter ends the class" in c for c in texts(ada, "caption"))
    kim = join(code)  # anonymous
    send(ada, "mat")
    send(kim, "Mat!")
    send(kim, "floor")  # a new guess replaces the last
    no_exception(presenter.run())
    assert "**2 in:** Ada, Anonymous 2" in texts(presenter, "markdown")
    assert any(c.startswith("Guesses: 2.") for c in texts(presenter, "caption"))
    (chart,) = presenter.get("vega_lite_chart")  # the class's bars beside SmolLM2's, word by word
    drawn = chart.proto.SerializeToString()
    assert all(word in drawn for word in (b"mat", b"floor", b"the class", b"SmolLM2"))


def test_fool_the_models_verdicts_live_and_who_fooled_most():
    presenter, code = start_class(class_activity="Fool the models")
    phone = join(code, SCRIPT[:30])
    assert texts(phone, "success")[0].startswith("You are in as **\\<script\\>")  # escaped, shown as typed
    send(phone, "Oh great, another two hours of my life I will never get back.", "positive")
    said = texts(phone, "success")[-1]
    assert said.startswith("You fooled ") and "of 4 models" in said
    stored = cr.submissions(code, "fool-the-models")[0]
    assert len(stored.result) == 4 and set(stored.result.values()) <= set(cr.SENTIMENTS)
    no_exception(presenter.run())
    table = presenter.dataframe[0].value
    assert isinstance(table, pd.DataFrame) and table.loc[0, "sentence"].startswith("Oh great")
    fooled = sum(v != "positive" for v in stored.result.values())
    assert table.loc[0, "fooled"] == fooled
    metrics = {m.label: m.value for m in presenter.metric}
    assert len(metrics) == 4 and sum(int(v.split(" / ")[0]) for v in metrics.values()) == fooled


def test_which_translation_is_better_votes_are_tallied():
    presenter, code = start_class(class_activity="Which translation is better")
    phone = join(code, "Bo")
    voter = join(code, "Cy")
    send(phone, "The house is big.")
    stored = cr.submissions(code, "translation-vote")[0]
    assert stored.result["neural"] and stored.result["apertium"]
    no_exception(voter.run())
    shown = texts(voter, "markdown")  # blind: A and B, in an order fixed per sentence
    lettered = {m[:5]: m[8:] for m in shown if m.startswith(("**A** · ", "**B** · "))}
    assert set(lettered) == {"**A**", "**B**"}
    assert set(lettered.values()) == {ui.plain(stored.result[system]) for system in cr.TRANSLATIONS}
    voter.button_group(key=f"class_vote_{stored.id}").set_value("A")
    no_exception(voter.run())
    voted = cr.my_votes(code, voter.session_state["_class_seats"][code].token)
    assert list(voted) == [stored.id]
    assert ui.plain(stored.result[voted[stored.id]]) == lettered["**A**"]  # the vote went to the text shown as A
    no_exception(presenter.run())
    metrics = {m.label: m.value for m in presenter.metric}
    named = {"neural": "Votes for the neural model", "apertium": "Votes for Apertium"}
    assert metrics == {label: str(int(system == voted[stored.id])) for system, label in named.items()}
    row = presenter.dataframe[0].value.iloc[0]
    assert row["English"] == "The house is big." and row["rules (Apertium)"] == stored.result["apertium"]


def test_bad_rooms_and_bad_input_give_messages_and_the_room_keeps_working():
    for bad in ("ABCDE-FGHJK", "1234", SCRIPT, "x" * 40):
        phone = no_exception(open_page("join.py", room=bad))
        assert phone.error and not any(SCRIPT in e for e in texts(phone, "error"))
    presenter, code = start_class()
    phone = join(code, "Flo")
    assert not phone.button or phone.button[0].label != "Join"  # joined: the phone keeps its place
    again = no_exception(phone.run())
    assert "You are in as **Flo** · Next word" in texts(again, "success")
    send(phone, "")
    assert texts(phone, "error") == ["There is nothing to send: type something first."]
    for _ in range(cr.BURST + 3):  # a flood from one phone
        send(phone, "word")
    assert any(e.startswith("Slow down") for e in texts(phone, "error"))
    other = join(code, "Gus")
    send(other, "rug")
    assert not other.error
    assert len(cr.submissions(code, "next-word")) == 2  # one guess each: the flood kept replacing one

    choose_activity(presenter, "Fool the models")
    no_exception(other.run())
    send(other, "y" * 100_000, "negative")  # more than the box takes (Streamlit drops it; classroom refuses it too)
    assert texts(other, "error") == ["There is nothing to send: type something first."]
    assert cr.submissions(code, "fool-the-models") == []
    send(other, SCRIPT, "negative")
    assert cr.submissions(code, "fool-the-models")[0].text == SCRIPT  # stored as typed...
    no_exception(presenter.run())
    assert presenter.dataframe[0].value.loc[0, "sentence"] == SCRIPT  # ...and shown as text, never as markup

    # moderation: hide the last guess, lock, end
    choose_activity(presenter, "Next word")
    presenter.button(key="class_hide_button").click()
    no_exception(presenter.run())
    assert sum(s.hidden for s in cr.submissions(code, "next-word")) == 1
    presenter.toggle(key="class_locked").set_value(True)
    no_exception(presenter.run())
    assert cr.room(code).locked
    late = no_exception(open_page("join.py", room=code))
    late.text_input[1].input("Late")
    late.button[0].click()
    assert "locked" in texts(no_exception(late.run()), "error")[0]
    presenter.button(key="class_end").click()
    no_exception(presenter.run())
    assert any(b.label == "Start a class" for b in presenter.button)
    assert "has ended" in texts(no_exception(phone.run()), "error")[0]
    with database.transaction() as db:
        assert db.value("SELECT COUNT(*) FROM submissions WHERE room = ?", (code,)) == 0


def jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_teach_it_new_classes_from_the_phones_photos():
    presenter, code = start_class(class_activity="Teach it new classes", class_names="cat, coffee, cat")
    assert cr.room(code).setup == {"classes": ["cat", "coffee"]}  # the duplicate dropped
    phones = [join(code, name) for name in ("Pia", "Quinn", "Ray", "Sol")]
    assert phones[0].segmented_control(key="class_photo_class").options == ["cat", "coffee"]
    crops = example_classes(images_per_class=4, seed=1)
    for i, name in enumerate(("cat", "coffee") * 4):
        phone = phones[i % 4]  # two photos each: within a phone's burst
        phone.segmented_control(key="class_photo_class").set_value(name)
        phone.camera_input(key="class_photo").set_value(("shot.jpg", jpeg(crops[name][i // 2]), "image/jpeg"))
        no_exception(phone.run())
        phone.button(key="class_photo_send").click()
        assert texts(no_exception(phone.run()), "success")[-1].startswith(f"Sent as {name}")
    stored = cr.photos(code, ["cat", "coffee"])
    assert [len(stored["cat"]), len(stored["coffee"])] == [4, 4]
    assert all(Image.open(io.BytesIO(photo)).format == "JPEG" for _, photo in stored["cat"])

    no_exception(presenter.run())
    assert "**cat** · 4 photo(s)" in texts(presenter, "markdown")
    presenter.button(key="class_train").click()
    no_exception(presenter.run())
    (accuracy,) = [m for m in presenter.metric if m.label == "Accuracy on the held-out photos"]
    assert accuracy.value == "100%"  # one held-out crop of each class, told apart
    table = presenter.dataframe[-1].value  # the sample photo to try: the coffee cup
    assert table.loc[0, "class"] == "coffee" and table["probability"].sum() == pytest.approx(1.0)

    phone = phones[0]  # refused before they are stored: no rate spent
    for content, why in (
        (b"\x00\x00\x00\x18ftypheic" + bytes(2_000), "not an image that can be read"),  # an iPhone's HEIC
        (b"\xff\xd8\xff\xe0" + bytes(500), "not an image that can be read"),  # a JPEG broken off
        (bytes(10_500_000), "10.5 MB; send one of at most 10 MB"),
    ):
        phone.camera_input(key="class_photo").set_value(("shot.jpg", content, "image/jpeg"))
        no_exception(phone.run())
        phone.button(key="class_photo_send").click()
        assert why in texts(no_exception(phone.run()), "error")[-1]
    assert sum(len(v) for v in cr.photos(code, ["cat", "coffee"]).values()) == 8  # nothing more was stored
