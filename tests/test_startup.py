"""The first minute (models/core/startup.py): the server's preparation waits for the first page, a technique page
starts it at once, and the model warm-up waits while any page's script runs. The preparation is once per process,
so each case runs in a fresh Python."""

import subprocess
import sys
import textwrap
import threading
import time

from models.core import startup
from tests.conftest import REPO


def run_fresh(code: str) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, check=True, timeout=120)


def test_the_servers_preparation_waits_for_a_page_then_starts_at_once():
    run_fresh(
        """
        import sys, time
        from models.core import startup

        preparation = startup.prepare_in_background(warm=False, within=60)
        time.sleep(1.0)
        assert preparation.done == [] and "torch" not in sys.modules, "started before any page asked"
        assert startup.prepare_in_background() is preparation  # a technique page opens: go now
        assert preparation.finished.wait(timeout=90) and preparation.error is None
        assert [name for name, _ in startup.STAGES] == preparation.done
        """
    )


def test_the_servers_preparation_starts_on_its_own_when_nobody_visits():
    run_fresh(
        """
        from models.core import startup

        preparation = startup.prepare_in_background(warm=False, within=0.5)
        assert preparation.finished.wait(timeout=90) and preparation.error is None
        """
    )


def test_the_warm_up_waits_while_a_page_script_runs():
    assert startup.wait_while_pages_run(patience=0.1)
    waited: list[bool] = []
    with startup.script_run():
        waiter = threading.Thread(target=lambda: waited.append(startup.wait_while_pages_run(patience=30)))
        waiter.start()
        time.sleep(0.3)
        assert waited == []  # still waiting: the page's run goes first
        assert not startup.wait_while_pages_run(patience=0.1)  # patience runs out while the page runs
    waiter.join(timeout=10)
    assert waited == [True]
