#!/usr/bin/env bash
# Install poetry (in .tools/poetry) and the project environment (in .venv) from poetry.lock.
# Poetry reaches the package index through poetry-plugin-pypi-mirror, pointed at pip's own
# index (pip's configured index-url, else pip's default), so no index host is ever committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .tools/poetry/bin/poetry ]; then
  echo "bootstrap: installing poetry into .tools/poetry" >&2
  "$PY" -m venv .tools/poetry
  if ! .tools/poetry/bin/python -m pip install -q "poetry==2.5.1" "poetry-plugin-pypi-mirror==0.6.5" \
      >.tools/pip-install.log 2>&1; then
    cat .tools/pip-install.log >&2
    exit 1
  fi
fi
if [ -z "${POETRY_PYPI_MIRROR_URL:-}" ]; then
  idx=$("$PY" -m pip config list 2>/dev/null | grep -E "(^|\.)index-url=" | grep -v extra-index-url \
        | head -n 1 | cut -d= -f2- | tr -d "'\"" || true)
  if [ -z "$idx" ]; then
    idx=$("$PY" -c "from pip._internal.models.index import PyPI; print(PyPI.simple_url)")
  fi
  export POETRY_PYPI_MIRROR_URL="$idx"
fi
export POETRY_VIRTUALENVS_IN_PROJECT=true
.tools/poetry/bin/poetry install --no-interaction --quiet
