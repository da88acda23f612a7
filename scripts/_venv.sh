# Shared by scripts/run and scripts/test: make sure .venv exists and holds this checkout.
# Re-installs only when pyproject.toml (or the agent's, agent/pyproject.toml) changed since the
# last install. The endpoint agent (agent/, its own package) is installed into the same .venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${TANDEM_PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON_BIN="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON_BIN" ]; then
  echo "tandem: Python 3.11 or newer is needed (apt-get install python3 python3-venv)" >&2
  exit 1
fi

# pip, minus the notes some machines' pip configuration prints about absent local indexes;
# pip's own exit status is kept.
pip_quiet() {
  "$VENV/bin/python" -m pip --quiet "$@" 2>&1 | grep -v "^WARNING: Location 'file:" || true
  return "${PIPESTATUS[0]}"
}

ensure_venv() {
  local extras="$1"   # "" or "[dev]"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtualenv in .venv"
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  local stamp="$VENV/.tandem-installed$extras"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/agent/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing Tandem$extras into .venv (first run takes a minute)"
    pip_quiet install --upgrade pip
    pip_quiet install -e "$ROOT$extras" -e "$ROOT/agent"
    echo "$want" > "$stamp"
  fi
}
