"""Shared UI helpers: inputs kept in the URL, clear messages for project errors."""

from streamlit.testing.v1 import AppTest

URL_SCRIPT = """
import streamlit as st
import ui
from url_params import Number, Text

st.text_input("Word", **ui.bound(Text("word", "king")))
st.number_input("Count", **ui.bound(Number("count", 3, low=1, high=10)))
ui.sync_url()
"""

ERROR_SCRIPT = """
import streamlit as st
import ui
from models.core.errors import InputError

def fail():
    raise InputError("Type a word first.")

result = ui.run_or_report(fail)
st.write(f"after: {result}")
model = ui.load_model("no-such-model")
st.write(f"model: {model}")
"""


def test_bound_seeds_widgets_from_the_url_and_writes_them_back():
    at = AppTest.from_string(URL_SCRIPT, default_timeout=120)
    at.query_params["word"] = "paris"
    at.run()
    assert at.text_input[0].value == "paris"
    assert at.number_input[0].value == 3
    at.text_input[0].set_value("queen").run()
    assert at.query_params["word"] == "queen"
    assert at.query_params["count"] == "3"


def test_bound_ignores_values_that_do_not_parse():
    at = AppTest.from_string(URL_SCRIPT, default_timeout=120)
    at.query_params["count"] = "many"
    at.run()
    assert at.number_input[0].value == 3


def test_project_errors_become_messages_and_the_page_goes_on():
    at = AppTest.from_string(ERROR_SCRIPT, default_timeout=120).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert "Type a word first." in errors
    assert any("no-such-model" in e for e in errors)
    assert [m.value for m in at.markdown] == ["after: None", "model: None"]
