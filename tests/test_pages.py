"""Every page in the navigation runs under AppTest without an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import app

NAV_PAGES = ["home.py", "models_device.py"] + [
    file for entries in app.TECHNIQUES.values() for file, *_ in entries if (app.PAGES_DIR / file).exists()
]


def run_page(file: str) -> AppTest:
    at = AppTest.from_file(str(app.PAGES_DIR.parent / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(str(Path("app_pages") / file))
    return at.run()


@pytest.mark.parametrize("file", NAV_PAGES)
def test_page_runs_without_exception(file):
    at = run_page(file)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{file} shows no title"


def test_home_links_every_listed_technique():
    at = run_page("home.py")
    listed = {
        title for entries in app.TECHNIQUES.values() for file, title, *_ in entries if (app.PAGES_DIR / file).exists()
    }
    shown = " ".join(block.value for block in at.markdown)
    assert all(title in shown for title in listed)


def test_models_page_lists_the_registry_and_device():
    at = run_page("models_device.py")
    frame = at.dataframe[0].value
    from models.core.registry import get_registry

    assert sorted(frame["model"]) == sorted(spec.name for spec in get_registry().list())
    assert "torch" in at.table[0].value.index
