# The two commands a learner needs: `make lab` and `make test`. Both bootstrap first (quick when done).
SHELL := /bin/bash
VENV := .venv/bin
JUPYTER_PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: bootstrap lab hub test bench cloud-down diagrams

bootstrap:
	@bash .ci/bootstrap.sh

# The server's root is the course folder (notebooks/, labs/, solutions/ all in its file browser);
# without root_dir, jupyter would serve only the folder of the notebook it opens.
lab: bootstrap
	@$(VENV)/labkit up
	$(VENV)/jupyter lab notebooks/00_start_here.ipynb --ServerApp.root_dir=. --ip 127.0.0.1 \
	  --port $(JUPYTER_PORT) --ServerApp.open_browser=$${LABKIT_OPEN_BROWSER:-True} $(ROOT_FLAG)

# JupyterHub for a room on one machine (README "Workshops"): LABKIT_HUB_PASSWORD=... make hub
hub:
	@bash .ci/bootstrap.sh --with-hub
	$(VENV)/labkit hub

# tests/ (unit, data plane, labs, browser) and the solutions under nbval, in TEST_WORKERS processes (0:
# one), each with its own local cloud (tests/conftest.py says what shares one); more workers than cores,
# as the tests mostly wait on the processes they start. Then the lessons, notebooks/ (run twice by
# test_idempotence.py, then by nbval), on their own: their outputs compare latencies, which a busy machine skews;
# and the hub's test, which starts a hub, two learners' servers and clouds and a browser: too much beside three workers.
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
test:
	@bash .ci/bootstrap.sh --with-browser --with-hub
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/python -m pytest -n $${TEST_WORKERS:-3} tests solutions --ignore tests/test_idempotence.py \
	  --ignore tests/test_hub.py $(NBVAL)
	$(VENV)/python -m pytest tests/test_idempotence.py tests/test_hub.py notebooks $(NBVAL)

# Every benchmark in bench/, one after another (each writes its table to bench/results/).
bench: bootstrap
	@set -e; for script in bench/bench_*.py; do echo "== $$script"; $(VENV)/python $$script; done

diagrams: bootstrap
	$(VENV)/python -m labkit.diagrams render-all

cloud-down:
	@$(VENV)/labkit down
