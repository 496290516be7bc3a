#!/usr/bin/env bash
# The command of each learner's pod (singleuser.cmd in config.yaml): the course's own copies of labs/ and
# notebooks/ in the learner's home at their first start (their volume keeps their edits after), as `labkit hub`
# does on one machine, then their JupyterLab through jupyterhub-singleuser with the arguments KubeSpawner gives.
set -euo pipefail
/opt/course/.venv/bin/python -c 'from pathlib import Path; from labkit.hub.learner import prepare_home; prepare_home(Path.home())'
exec /opt/course/.venv/bin/jupyterhub-singleuser "$@"
