# make run   : set up .venv (once) and start the app on 127.0.0.1:8501
# make test  : set up .venv (once), install the Debian packages the tests use if missing, lint, run pytest
# make bench : run the benchmarks (prints tables, writes bench/results/*.json)
# make train-<name> : retrain one of the committed checkpoints (see training/)

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# make run ADDRESS=0.0.0.0 serves phones on the LAN too (the Share control's QR code then carries the LAN address)
ADDRESS ?= 127.0.0.1
# The general English->Spanish model (issue 25) reads the Spanish gettext catalogs of the packages listed in
# training/catalog_packages.txt (most are already on any Debian; the desktop ones are installed here).
DEBIAN_TRAINING_DATA := miscfiles sword-text-web sword-text-sparv sword-text-kjv \
	$(shell cat training/catalog_packages.txt)
# Programs and data the app uses when present (the page says how to add one that is missing) and the tests
# need: Apertium (translation), miscfiles' name and place lists (the text-basics gazetteer).
DEBIAN_APP := apertium-eng-spa miscfiles
DEBIAN_TEST := chromium nginx postgresql $(DEBIAN_APP)
APT_GET := $(if $(filter 0,$(shell id -u)),apt-get,sudo apt-get)

.PHONY: setup run serve-cluster test lint bench debian-app debian-test training-data speech-voices gpu-data-enes gpu-data-enes-general gpu-check-prepare gpu-check

setup: $(STAMP)

# torch first and pinned: this machine has a local CPU build of 2.13.0; any looser spec
# would pull gigabytes of CUDA packages.
$(STAMP): requirements.txt requirements-nodeps.txt tools/fetch_extras.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(PY) tools/fetch_extras.py
	touch $@

# Beyond loopback, nginx answers on ADDRESS before the app, adding security headers (tools/serve.py).
# Tracebacks stay in the server's log; a developer sees them in the page with STREAMLIT_CLIENT_SHOW_ERROR_DETAILS=full.
run: setup debian-app
	@case "$(ADDRESS)" in 127.*|localhost|::1) ;; *) dpkg -s nginx >/dev/null 2>&1 || \
		($(APT_GET) update -qq && $(APT_GET) install -y -qq nginx) ;; esac
	STUDIO_WARMUP=$${STUDIO_WARMUP:-1} $(PY) tools/serve.py \
		--server.address $(ADDRESS) --server.port $(PORT) --server.headless true

# A Ray head, every served model as a Ray Serve application, two Streamlit replicas and nginx before them
# on 127.0.0.1:8500 (tools/serve_cluster.py has the options); Ctrl-C stops them all.
serve-cluster: setup debian-app
	@dpkg -s nginx postgresql >/dev/null 2>&1 || ($(APT_GET) update -qq && $(APT_GET) install -y -qq nginx postgresql)
	$(PY) tools/serve_cluster.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup debian-test lint
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

# Installs what is missing; `make run` goes on without them where apt cannot be used.
debian-app:
	@dpkg -s $(DEBIAN_APP) >/dev/null 2>&1 || ($(APT_GET) update -qq && $(APT_GET) install -y -qq $(DEBIAN_APP)) || \
		echo "Could not install $(DEBIAN_APP); the app runs without it."

debian-test:
	@dpkg -s $(DEBIAN_TEST) >/dev/null 2>&1 || ($(APT_GET) update -qq && $(APT_GET) install -y -qq $(DEBIAN_TEST))

# The speech synthesisers that made the speech page's sample clips (make train-speech_clips remakes them).
speech-voices:
	@dpkg -s flite espeak-ng >/dev/null 2>&1 || ($(APT_GET) update -qq && $(APT_GET) install -y -qq flite espeak-ng)

training-data:
	@dpkg -s $(DEBIAN_TRAINING_DATA) >/dev/null 2>&1 || \
		($(APT_GET) update -qq && $(APT_GET) install -y -qq $(DEBIAN_TRAINING_DATA))

# The English->Spanish GPU recipe's data for the GPU machine (which has no Bibles): gpu-carry/enes travels
# with `bash tools/gpu_session.sh`, which trains there (see training/translation_enes.py's docstring).
gpu-data-enes: setup training-data
	$(PY) -m training.translation_enes --prepare-only --carry --work gpu-carry/enes

# The general English->Spanish model's data (issue 25): gpu-carry/enes_general (about 4 MB) travels with
# `bash tools/gpu_session_enes.sh`, which trains it there.
gpu-data-enes-general: setup training-data
	rm -rf gpu-carry/enes_general
	$(PY) -m training.translation_enes --corpus general --prepare-only --carry --work gpu-carry/enes_general

# The GPU path in one command (tools/gpu_check.py). Here, with the package index: `make gpu-check-prepare`
# puts what the GPU machine lacks into gpu-carry/check (it prints how to carry it). There (python3, no .venv):
# `make gpu-check` writes its log and figures to $(GPU_CHECK_RESULTS); without CUDA it runs the install step
# and collects the tests, then stops with a message.
GPU_CHECK_RESULTS ?= test-artifacts/gpu-check
gpu-check-prepare: setup
	$(PY) tools/gpu_check.py prepare

gpu-check:
	$(if $(wildcard $(PY)),$(PY),python3) tools/gpu_check.py run $(GPU_CHECK_RESULTS)

# make train-generation_charlm runs `python -m training.generation_charlm`, and so on for every module in training/.
train-%: setup training-data
	$(PY) -m training.$*
