"""The class sessions' data layer (classroom.py, database.py) on both databases it serves: a real SQLite
file in WAL mode and a real, throw-away PostgreSQL server (the one `make serve-cluster` starts, Debian's)."""

import json
import sqlite3
import threading
import time
from urllib.parse import urlsplit

import pytest

import classroom_store as cr
import database
import share_store
from tools.serve_cluster import postgres


@pytest.fixture(scope="module")
def postgres_url():
    with postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path, monkeypatch):
    """Which database the test runs on; STUDIO_DATABASE_URL points the app's code at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'studio.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv(database.URL_VARIABLE, url)
    return request.param


def test_sqlite_is_the_default_in_wal_mode_and_migrations_run_once(tmp_path, monkeypatch):
    monkeypatch.delenv(database.URL_VARIABLE, raising=False)
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path))
    assert database.url() == f"sqlite:///{tmp_path / database.SQLITE_FILE}"
    view = share_store.save({"a": ["1"]})
    assert share_store.load(view) == {"a": ["1"]}
    with sqlite3.connect(tmp_path / database.SQLITE_FILE) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [v for (v,) in connection.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, len(database.MIGRATIONS) + 1))
    assert database.migrate(database.url()) == len(database.MIGRATIONS)  # again: nothing new applied
    with sqlite3.connect(tmp_path / database.SQLITE_FILE) as connection:
        assert connection.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(database.MIGRATIONS)


def test_short_links_live_in_the_same_database(db):
    view = share_store.save({"sentiment_text": ["x" * 5_000]})
    assert share_store.load(view) == {"sentiment_text": ["x" * 5_000]}
    assert share_store.save({"sentiment_text": ["x" * 5_000]}) == view
    assert share_store.load("no-such-view") is None


def test_a_class_from_opening_to_the_end(db):
    room, key = cr.open_room(45)
    assert len(room.code) == 10 and set(room.code) <= set(cr.ALPHABET)
    assert cr.room(cr.shown_code(room.code).lower()).code == room.code  # typed in lower case, with the dash
    ada, new = cr.join(room.code, "  Ada\tLovelace ")
    assert new and ada.name == "Ada Lovelace"
    again, new = cr.join(room.code, "Someone else", token=ada.token)  # the same phone joins again
    assert not new and again.id == ada.id
    anonymous, _ = cr.join(room.code, "")
    assert anonymous.name == "Anonymous 2"
    with pytest.raises(cr.ClassroomError, match="already called"):
        cr.join(room.code, "ada lovelace")
    assert [p.name for p in cr.participants(room.code)] == ["Ada Lovelace", "Anonymous 2"]

    cr.set_activity(room.code, key, "fool-the-models")
    sent = cr.submit(room.code, ada.token, "fool-the-models", "<script>alert(1)</script> great!", "negative")
    assert sent.text == "<script>alert(1)</script> great!"  # stored as typed; the pages show it escaped
    cr.record_result(sent.id, {"VADER": "positive"})
    other = cr.submit(room.code, anonymous.token, "fool-the-models", "dull", "negative")
    cr.hide(room.code, key, other.id)
    everything = cr.submissions(room.code, "fool-the-models")
    assert [(s.name, s.result, s.hidden) for s in everything] == [
        ("Ada Lovelace", {"VADER": "positive"}, False),
        ("Anonymous 2", {}, True),
    ]
    assert [s.id for s in cr.submissions(room.code, "fool-the-models", hidden=False)] == [sent.id]
    with pytest.raises(cr.ClassroomError, match="moved on"):
        cr.submit(room.code, ada.token, "next-word", "word")

    cr.set_activity(room.code, key, "translation-vote")
    sentence = cr.submit(room.code, ada.token, "translation-vote", "The cat sleeps.")
    cr.vote(room.code, ada.token, sentence.id, "neural")
    cr.vote(room.code, anonymous.token, sentence.id, "neural")
    cr.vote(room.code, ada.token, sentence.id, "apertium")  # changed her mind: one vote each
    assert cr.votes(room.code, "translation-vote") == {sentence.id: {"neural": 1, "apertium": 1}}
    assert cr.my_votes(room.code, ada.token) == {sentence.id: "apertium"}

    cr.lock(room.code, key)
    with pytest.raises(cr.ClassroomError, match="locked"):
        cr.join(room.code, "Latecomer")
    with pytest.raises(cr.ClassroomError, match="locked"):
        cr.submit(room.code, ada.token, "translation-vote", "Hello.")
    cr.lock(room.code, key, False)
    with pytest.raises(cr.ClassroomError, match="Only the presenter"):
        cr.end(room.code, "not-the-key")

    cr.end(room.code, key)
    with pytest.raises(cr.ClassroomError, match="has ended"):
        cr.room(room.code)
    with pytest.raises(cr.ClassroomError, match="has ended"):
        cr.join(room.code, "Late")
    with database.transaction() as store:  # nothing a student sent is left
        for table in ("participants", "submissions"):
            assert store.value(f"SELECT COUNT(*) FROM {table} WHERE room = ?", (room.code,)) == 0
        assert store.value("SELECT COUNT(*) FROM votes WHERE submission = ?", (sentence.id,)) == 0


def test_next_word_keeps_one_guess_per_student_and_round(db):
    room, key = cr.open_room()
    cr.set_activity(room.code, key, "next-word", {"prompt": "The cat sat on the"})
    student, _ = cr.join(room.code, "Kim")
    cr.submit(room.code, student.token, "next-word", "mat", round="The cat sat on the", replace=True)
    cr.submit(room.code, student.token, "next-word", "sofa", round="The cat sat on the", replace=True)
    cr.submit(room.code, student.token, "next-word", "it", round="Another prompt", replace=True)
    assert [s.text for s in cr.submissions(room.code, "next-word", "The cat sat on the")] == ["sofa"]
    assert cr.room(room.code).setup == {"prompt": "The cat sat on the"}


def test_unknown_malformed_and_expired_rooms_say_so(db):
    with pytest.raises(cr.ClassroomError, match="no class"):
        cr.room("ABCDE-FGHJK")
    for bad in ("", "1234", "<script>", "A" * 10_000, "../../etc/passwd"):
        with pytest.raises(cr.ClassroomError, match="letters and digits"):
            cr.join(bad, "x")
    room, _ = cr.open_room()
    student, _ = cr.join(room.code, "Sam")
    cr.submit(room.code, student.token, "next-word", "word")
    with database.transaction() as store:  # its time runs out
        store.execute("UPDATE rooms SET expires = ? WHERE code = ?", (time.time() - 1, room.code))
    with pytest.raises(cr.ClassroomError, match="has ended"):
        cr.submissions(room.code, "next-word")
    assert cr.sweep_expired() >= 1  # every few seconds, before a class action
    with database.transaction() as store:
        assert store.value("SELECT COUNT(*) FROM submissions WHERE room = ?", (room.code,)) == 0
        assert store.value("SELECT COUNT(*) FROM participants WHERE room = ?", (room.code,)) == 0


def test_bad_text_and_names_are_refused_and_nothing_is_stored(db):
    room, _ = cr.open_room()
    student, _ = cr.join(room.code, "Lee")
    for text, why in (("", "nothing to send"), ("  \n\t ", "nothing to send"), ("x" * 100_000, "at most 300")):
        with pytest.raises(cr.ClassroomError, match=why):
            cr.submit(room.code, student.token, "next-word", text)
    with pytest.raises(cr.ClassroomError, match="at most 30"):
        cr.join(room.code, "n" * 31)
    assert cr.join(room.code, "a\x00b\u202e<b>c</b>")[0].name == "a b <b>c</b>"[:30].replace("  ", " ")
    with pytest.raises(cr.ClassroomError, match="not in this class"):
        cr.submit(room.code, "forged-token", "next-word", "word")
    assert cr.submissions(room.code, "next-word") == []


def test_a_flood_from_one_phone_is_rate_limited_and_others_go_on(db):
    room, _ = cr.open_room()
    flooder, _ = cr.join(room.code, "Flood")
    calm, _ = cr.join(room.code, "Calm")
    accepted = refused = 0
    for i in range(50):
        try:
            cr.submit(room.code, flooder.token, "next-word", f"word {i}")
            accepted += 1
        except cr.ClassroomError as error:
            assert "Slow down" in str(error)
            refused += 1
    assert cr.BURST <= accepted < cr.BURST + 10 and refused == 50 - accepted  # a few refill while it runs
    cr.submit(room.code, calm.token, "next-word", "calm")  # the room keeps working for everyone else
    time.sleep(1.2 / cr.RATE)
    cr.submit(room.code, flooder.token, "next-word", "after a pause")
    assert len(cr.submissions(room.code, "next-word")) == accepted + 2


def test_phones_writing_at_once_all_land(db):
    room, _ = cr.open_room()
    students = [cr.join(room.code, f"Phone {i}")[0] for i in range(8)]
    errors: list[Exception] = []

    def send(token: str) -> None:
        try:
            for i in range(3):
                cr.submit(room.code, token, "next-word", f"w{i}")
        except Exception as error:  # collected: a thread's exception would not fail the test
            errors.append(error)

    threads = [threading.Thread(target=send, args=(s.token,)) for s in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cr.submissions(room.code, "next-word")) == 24


def test_room_codes_are_not_guessable():
    codes = {cr.open_room()[0].code for _ in range(50)}
    assert len(codes) == 50
    assert len(cr.ALPHABET) ** cr.CODE_LENGTH > 2**49  # vs 10**4 for a 4-digit code
    assert json.dumps(cr.STORED)  # the join page quotes it


def test_the_clusters_postgresql_listens_on_loopback_only_and_wants_its_password(postgres_url):
    import psutil
    import psycopg

    address = urlsplit(postgres_url)
    listening = {
        c.laddr.ip for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.laddr.port == address.port
    }
    assert listening == {"127.0.0.1"}
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_url.replace(address.password, "guess"), connect_timeout=5).close()


def test_photos_of_the_new_classes_are_stored_as_bytes_and_go_with_the_class(db):
    room, key = cr.open_room()
    student, _ = cr.join(room.code, "Uma")
    photo = bytes(range(256)) * 100  # any bytes: the page stores what it re-encoded
    with pytest.raises(cr.ClassroomError, match="moved on"):
        cr.submit_photo(room.code, student.token, "cup", photo)
    cr.set_activity(room.code, key, "new-classes", {"classes": cr.class_names(" cup ,pen,  cup")})
    assert cr.room(room.code).setup == {"classes": ["cup", "pen"]}
    sent = cr.submit_photo(room.code, student.token, "cup", photo)
    with pytest.raises(cr.ClassroomError, match="not one the presenter named"):
        cr.submit_photo(room.code, student.token, "<script>", photo)
    with pytest.raises(cr.ClassroomError, match="at most 300 kB"):
        cr.submit_photo(room.code, student.token, "pen", bytes(cr.MAX_PHOTO_BYTES + 1))
    assert cr.photos(room.code, ["cup", "pen"]) == {"cup": [(sent.id, photo)], "pen": []}
    cr.hide(room.code, key, sent.id)
    assert cr.photos(room.code, ["cup", "pen"]) == {"cup": [], "pen": []}
    cr.end(room.code, key)
    with database.transaction() as store:
        assert store.value("SELECT COUNT(*) FROM submissions WHERE photo IS NOT NULL AND room = ?", (room.code,)) == 0


def test_the_presenters_class_names_are_checked():
    assert cr.class_names("cat, dog, , cat") == ["cat", "dog"]
    for bad in ("cat", "a, b, c, d, e", "cat, " + "x" * 31, ""):
        with pytest.raises(cr.ClassroomError):
            cr.class_names(bad)


def test_sqlite_readers_do_not_wait_for_a_writer_and_a_stuck_writer_gives_a_message(tmp_path, monkeypatch):
    path = tmp_path / "studio.sqlite3"
    monkeypatch.setenv(database.URL_VARIABLE, f"sqlite:///{path}")
    monkeypatch.setattr(database, "WAIT_SECONDS", 0.5)
    room, _ = cr.open_room()
    cr.join(room.code, "Vic")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another replica in the middle of a long write
    try:
        assert [p.name for p in cr.participants(room.code)] == ["Vic"]  # reads go on (WAL)
        with pytest.raises(cr.ClassroomError, match="busy"):
            cr.join(room.code, "Wes")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert cr.join(room.code, "Wes")[0].name == "Wes"
