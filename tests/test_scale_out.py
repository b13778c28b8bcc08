"""The `ray` backend (issue 18) on a two-node Ray cluster on this machine, all on 127.0.0.1.

One cluster for the module (two nodes of one CPU each, dashboard off, usage statistics off) serves the
date model, the en->es transformer, MiniLM and a tiny random causal LM, each in one replica of 0.3 CPU
(so the four spread over both nodes), plus a character model that scales from zero. The tests compare
each page's main action through Ray Serve with the same call in this process, kill a replica, scale one
up, and drive two browsers through nginx to two Streamlit replicas running with STUDIO_BACKEND=ray.
"""

import asyncio
import contextlib
import importlib
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from models import generation as gen
from models.core.batching import ServerBusyError
from models.core.errors import InputError, ModelLoadError
from models.core.registry import Registry, default_specs, user_spec, wrap_for_task
from models.serving.client import (
    ADDRESS_ENV,
    BACKEND_ENV,
    ModelServerError,
    RayBackend,
    RemoteModel,
    describe,
    outside_event_loop,
    ray_environment,
)
from models.translation.translator import Translator, as_translator
from tests.conftest import ARTIFACTS, free_port, listening_sockets, on_loopback, wait_for_app
from tests.test_generation import tiny_causal_lm_folder  # noqa: F401 (a fixture this module uses)
from tools.serve_cluster import (
    COOKIE,
    app_replicas,
    cluster_environment,
    join_to_deploy,
    nginx,
    nginx_binary,
    nginx_config,
    serve_config,
    served_model_ids,
)

pytestmark = pytest.mark.slow
# Ray reads these when it is first imported, by whichever test comes first: no usage statistics, every
# address stays 127.0.0.1, and the nodes' workers import the project (as `make serve-cluster` starts them).
os.environ.update(cluster_environment("127.0.0.1"))

SERVED = ["translation-dates", "translation-enes", "sentiment-minilm"]  # and the tiny LM, by its user id
FROM_ZERO = "charlm-names-gru"  # no replica until asked: the scale-up test
DATE = "Thursday, 14 March 2041"


@pytest.fixture(scope="module")
def tiny_lm_id(tiny_causal_lm_folder) -> str:  # noqa: F811 (the fixture imported above)
    return user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder)}).id


@pytest.fixture(scope="module")
def local(tiny_causal_lm_folder) -> Registry:  # noqa: F811
    """This process' own registry (the `local` backend), with the tiny LM as a user model."""
    tiny = user_spec({"task": "causal-lm", "path": str(tiny_causal_lm_folder)})
    return Registry.from_specs([*default_specs(), tiny])


@pytest.fixture(scope="module")
def cluster(local, tiny_lm_id) -> str:
    """Two Ray nodes on 127.0.0.1 with the models deployed; yields the cluster's address."""
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from models.serving.deploy import Scaling, deploy, scaling_for

    node = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False}
    nodes = Cluster(initialize_head=True, head_node_args=node)
    try:
        nodes.add_node(**node)
        join_to_deploy(nodes.address)  # as `make serve-cluster` deploys: every replica binds loopback only
        one_small_replica = Scaling(num_cpus=0.3, min_replicas=1, max_replicas=1)
        plans = {
            # a long batch window, so that the batching test's requests certainly share batches
            "sentiment-minilm": replace(one_small_replica, batch_wait_s=0.25),
            FROM_ZERO: replace(
                scaling_for(FROM_ZERO), num_cpus=0.3, min_replicas=0, max_replicas=1, max_queued_requests=2
            ),
        }
        specs = [local.get(model_id) for model_id in [*SERVED, tiny_lm_id, FROM_ZERO]]
        deploy(specs, lambda model_id: plans.get(model_id, one_small_replica))
        yield nodes.address
    finally:
        serve.shutdown()
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="module")
def remote(cluster) -> RayBackend:
    return RayBackend(cluster)


def served(remote: RayBackend, local: Registry, model_id: str) -> tuple[object, object]:
    """The model through Ray Serve and in this process, each as its page sees it."""
    spec = local.get(model_id)
    here = wrap_for_task(spec.task, local.load(model_id), spec.name)
    model = remote.connect(spec, lambda: here)
    assert isinstance(model, RemoteModel)
    return model, here


def replica_names(app: str) -> list[str]:
    import ray

    return [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith(f"SERVE_REPLICA::{app}#")
    ]


# ---------------------------------------------------------------- without a cluster


def test_description_copies_plain_attributes_and_names_the_rest(local):
    translator = as_translator(local.load("translation-dates"), "dates")
    description = describe(translator)
    assert description.cls is type(translator)
    assert description.attributes["examples"] == translator.examples
    assert description.attributes["vocab_size"] == translator.vocab_size  # a property, evaluated once
    assert {"translate", "preprocess"} <= description.methods
    assert "model" in description.local_only  # weights never travel


def test_blocking_calls_leave_a_running_event_loop_for_a_helper_thread():
    def where() -> tuple[threading.Thread, threading.Thread]:
        return outside_event_loop(threading.current_thread), threading.current_thread()

    async def in_a_running_loop() -> tuple[threading.Thread, threading.Thread]:
        return where()

    # Threads of their own: this one may run an event loop already (Playwright's, in a whole test run).
    with ThreadPoolExecutor(1) as pool:
        helper, loop_thread = pool.submit(asyncio.run, in_a_running_loop()).result()
        same, plain_thread = pool.submit(where).result()
    assert helper is not loop_thread
    assert same is plain_thread


def test_nginx_configuration_is_valid(tmp_path):
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config([f"127.0.0.1:{free_port()}", "127.0.0.2:8501"], "127.0.0.1:8080", tmp_path))
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "nginx-temp" / folder).mkdir(parents=True)
    checked = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_serve_config_names_registered_models_and_an_importable_builder(local):
    import yaml

    applications = yaml.safe_load(serve_config(served_model_ids()))["applications"]
    assert {app["args"]["model_id"] for app in applications} >= {*SERVED, FROM_ZERO}
    for app in applications:
        module, _, builder = app["import_path"].partition(":")
        assert callable(getattr(importlib.import_module(module), builder))
        local.get(app["args"]["model_id"])


# ---------------------------------------------------------------- through Ray Serve


def test_models_are_spread_over_both_nodes(remote, local, tiny_lm_id):
    nodes = {served(remote, local, model_id)[0].server_stats()["node"] for model_id in [*SERVED, tiny_lm_id]}
    assert len(nodes) == 2


@pytest.mark.parametrize("model_id", ["translation-dates", "translation-enes"])
def test_translation_through_ray_equals_local(remote, local, model_id):
    far, near = served(remote, local, model_id)
    assert isinstance(far, Translator) and as_translator(far, "x") is far  # what the page's wrapper sees
    assert far.examples == near.examples and far.attention_kind == near.attention_kind
    text = DATE if model_id == "translation-dates" else near.examples[0]
    for method in ("beam", "greedy"):
        # by keyword, as the page passes it (the handle's own parameters must not take it)
        there, here = (model.translate(text, method=method, beam_width=4) for model in (far, near))
        assert [c.text for c in there.candidates] == [c.text for c in here.candidates]
        assert [c.log_prob for c in there.candidates] == pytest.approx([c.log_prob for c in here.candidates], abs=1e-4)
        assert np.allclose(there.best.attention, here.best.attention, atol=1e-4)
        assert len(there.search.tree) == len(here.search.tree)


def test_sentiment_through_ray_equals_local(remote, local):
    far, near = served(remote, local, "sentiment-minilm")
    text = "Not bad at all: the cast is great, even if the plot is a bit of a mess."
    assert np.allclose(far.predict([text]).probs, near.predict([text]).probs, atol=1e-5)
    there, here = far.explain(text), near.explain(text)
    assert there.tokens == here.tokens
    assert np.allclose(there.scores, here.scores, atol=1e-4)


def test_concurrent_requests_share_serve_batches(remote, local):
    far, near = served(remote, local, "sentiment-minilm")
    before = far.server_stats()
    texts = [f"Review number {i}: {'loved' if i % 2 else 'hated'} every minute of it." for i in range(8)]
    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(lambda text: far.predict([text]).probs, texts))
    for text, answer in zip(texts, answers, strict=True):
        assert np.allclose(answer, near.predict([text]).probs, atol=1e-5)
    after = far.server_stats()
    items, batches = after["items"] - before["items"], after["batches"] - before["batches"]
    assert items == len(texts) and batches < items


def test_generation_through_ray_equals_local(remote, local, tiny_lm_id):
    far, near = served(remote, local, tiny_lm_id)
    assert isinstance(far, gen.LanguageModel) and gen.as_language_model(far) is far
    assert (far.unit, far.max_new_tokens, far.supports_chat) == (near.unit, near.max_new_tokens, near.supports_chat)
    for decoding in (gen.Decoding("greedy", max_new_tokens=20), gen.Decoding("sample", 0.9, 20, 0.95, 30, seed=7)):
        there = list(gen.generate(far, "the cat", decoding))
        here = list(gen.generate(near, "the cat", decoding))
        assert [s.token_id for s in there] == [s.token_id for s in here]
        assert [s.prob for s in there] == pytest.approx([s.prob for s in here], abs=1e-4)


def test_bad_input_is_the_models_own_message(remote, local, tiny_lm_id):
    far, _ = served(remote, local, "translation-dates")
    with pytest.raises(InputError, match="Type a sentence"):
        far.translate("   ")
    lm, _ = served(remote, local, tiny_lm_id)
    with pytest.raises(InputError, match=r"chat template|message"):
        list(gen.generate(lm, "   ", gen.Decoding("greedy", max_new_tokens=5), chat=True))


def test_closing_a_stream_stops_the_generation_in_the_replica(remote, local, tiny_lm_id):
    lm, _ = served(remote, local, tiny_lm_id)
    before = lm.server_stats()["steps"]
    steps = gen.generate(lm, "a dog", gen.Decoding("sample", max_new_tokens=gen.MAX_NEW_TOKENS, seed=1))
    next(steps)
    steps.close()  # what the page does when the browser tab closes
    deadline = threading.Event()
    for _ in range(100):
        stats = lm.server_stats()
        if stats["streams_running"] == 0:
            break
        deadline.wait(0.1)
    assert stats["streams_running"] == 0
    assert stats["steps"] - before < gen.MAX_NEW_TOKENS


def test_a_killed_replica_is_replaced_and_the_next_request_succeeds(remote, local, tiny_lm_id):
    import ray

    lm, near = served(remote, local, tiny_lm_id)
    (victim,) = replica_names(tiny_lm_id)
    steps = gen.generate(lm, "the mat", gen.Decoding("greedy", max_new_tokens=gen.MAX_NEW_TOKENS))
    next(steps)
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    with contextlib.suppress(ModelServerError):  # it finished before the kill, or a clear message: no traceback
        list(steps)
    again = gen.Decoding("greedy", max_new_tokens=10)
    assert lm.encode("the mat") == near.encode("the mat")  # a one-shot call: waits for the replacement
    assert [s.token_id for s in gen.generate(lm, "the mat", again)] == [
        s.token_id for s in gen.generate(near, "the mat", again)
    ]
    assert replica_names(tiny_lm_id) and replica_names(tiny_lm_id) != [victim]


def test_requests_while_a_model_scales_up_wait_or_hear_it_is_busy(remote, local):
    from ray import serve

    assert serve.status().applications[FROM_ZERO].deployments["model"].replica_states.get("RUNNING", 0) == 0
    spec = local.get(FROM_ZERO)
    decoding = gen.Decoding("greedy", max_new_tokens=12)
    here = wrap_for_task(spec.task, local.load(FROM_ZERO), spec.name)
    expected = [s.text for s in gen.generate(here, "", decoding)]

    def ask(_: int) -> object:
        try:
            return [s.text for s in gen.generate(remote.connect(spec, lambda: here), "", decoding)]
        except ServerBusyError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(ask, range(6)))
    answered = [o for o in outcomes if isinstance(o, list)]
    assert answered and all(o == expected for o in answered)
    assert all(isinstance(o, ServerBusyError) and "busy" in str(o) for o in outcomes if not isinstance(o, list))


# ---------------------------------------------------------------- the whole topology in Chromium


def wildcard_listeners() -> list[tuple[str, str, int]]:
    """Listening sockets of this process' descendants (the cluster's nodes and workers, and nginx and the app
    replicas when they run) that are not on loopback."""
    return [socket for socket in listening_sockets(os.getpid()) if not on_loopback(socket[1])]


def test_every_process_of_the_cluster_listens_on_loopback_only(remote, local):
    served(remote, local, "translation-dates")[0].translate(DATE)  # replicas up and answering
    assert len(listening_sockets(os.getpid())) > 10  # the GCS, raylets, workers, the replicas' servers
    assert not wildcard_listeners()


def _cookie(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == COOKIE)


@pytest.mark.browser
def test_two_browsers_through_nginx_keep_their_replicas(cluster, browser):
    workdir = ARTIFACTS / "scale-out"
    shutil.rmtree(workdir, ignore_errors=True)  # nginx appends to its log
    workdir.mkdir(parents=True)
    env = {BACKEND_ENV: "ray", ADDRESS_ENV: cluster, **ray_environment(cluster)}
    with app_replicas(workdir, 2, env, warm=False) as ports, nginx(workdir, ports, free_port()) as url:
        # Each page, then two inputs and a word of each result (the sentiment page shows the words it read).
        users = {
            "translation": (
                f"{url}/translation?tr_model=translation-dates",
                [("4 de marzo de 2051", "2051-03-04"), ("25/12/1999", "1999-12-25")],
            ),
            "sentiment": (
                f"{url}/sentiment",
                [("A triumph, start to finish.", "triumph"), ("Two dull hours.", "dull")],
            ),
        }
        tabs = {}
        for name, (address, _) in users.items():  # one after the other: each lands where fewer tabs are
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            tab = context.new_page()
            tab.set_default_timeout(120_000)
            sockets: list[str] = []
            tab.on("websocket", lambda socket, sockets=sockets: sockets.append(socket.url))
            tab.goto(address)
            wait_for_app(tab)
            tabs[name] = (context, tab, sockets)
        assert not wildcard_listeners()  # nginx and the app replicas too
        pinned = {name: _cookie(context) for name, (context, _, _) in tabs.items()}
        assert set(pinned.values()) == {"studio_1", "studio_2"}  # one browser on each replica

        for name, (context, tab, sockets) in tabs.items():
            for typed, shown in users[name][1]:
                area = tab.locator('[data-testid="stTextArea"] textarea').first
                area.fill(typed)
                area.press("Control+Enter")
                tab.locator('[data-testid="stMain"]').get_by_text(shown).first.wait_for()
                wait_for_app(tab)
            assert tab.locator('[data-testid="stException"]').count() == 0
            assert len(sockets) == 1  # the same websocket, so the same session, through every rerun
            assert _cookie(context) == pinned[name]
            tab.screenshot(path=str(workdir / f"{name}.png"), full_page=True)
            context.close()

    # Every request that carried a browser's cookie reached that browser's replica.
    port_of = {f"studio_{n}": port for n, port in enumerate(ports, start=1)}
    for line in (workdir / "nginx-access.log").read_text().splitlines():
        found = re.search(r"upstream=(\S+) cookie=(\S+)", line)
        if found and found[2] in port_of:
            assert found[1].endswith(f":{port_of[found[2]]}"), line


def test_the_backend_is_chosen_by_the_environment(monkeypatch):
    from models.serving.client import backend_from_environment

    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert backend_from_environment() is None
    monkeypatch.setenv(BACKEND_ENV, "ray")
    monkeypatch.setenv(ADDRESS_ENV, "127.0.0.1:6379")
    assert backend_from_environment().address == "127.0.0.1:6379"
    monkeypatch.setenv(BACKEND_ENV, "spark")
    with pytest.raises(ModelLoadError, match="local' or 'ray"):
        backend_from_environment()
