#!/usr/bin/env bash
# The Hail peer of `make bench PEERS=hail`: Hail from PyPI in a virtual environment of its own
# (never the project's .venv: Hail brings pyspark 3.5 and its own numpy/pandas ranges) and a
# Java runtime Hail supports (Debian's openjdk-17-jre-headless, or 11 where that is what apt
# offers), installed only when `java` is missing. Idempotent: a second run installs nothing.
#
#   bash scripts/install-hail.sh [VENV]     (default: bench-results/hail-venv, gitignored)
#
# HAIL_VERSION (default below) picks the release; HAIL_PYTHON the interpreter the venv is made
# from (default: python3; hail 0.2.139 needs Python >= 3.10).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-bench-results/hail-venv}
HAIL_VERSION=${HAIL_VERSION:-0.2.139}
PYTHON=${HAIL_PYTHON:-python3}

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[.".].*/\1/p' | head -1
}

if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-hail: no java; run 'sudo apt-get install -y openjdk-17-jre-headless'" >&2
    exit 1
  fi
  apt-get update -qq
  jre=""
  for candidate in openjdk-17-jre-headless openjdk-11-jre-headless; do
    if apt-cache policy "$candidate" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      jre=$candidate
      break
    fi
  done
  if [ -z "$jre" ]; then
    echo "install-hail: apt offers neither openjdk-17-jre-headless nor openjdk-11-jre-headless" >&2
    exit 1
  fi
  echo "install-hail: installing $jre from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$jre" >/dev/null
fi
major=$(java_major)
case "$major" in
  1 | 8 | 11 | 17) ;; # "1.8.0_..." is Java 8
  *)
    echo "install-hail: java $major found; Hail 0.2 runs on Java 8, 11 or 17" >&2
    exit 1
    ;;
esac

installed() {
  "$VENV/bin/python" -c "import sys; from importlib.metadata import version
sys.exit(version('hail') != '$HAIL_VERSION')" 2>/dev/null
}

if ! installed; then
  "$PYTHON" -c 'import sys; v = sys.version_info[:2]
assert v >= (3, 10), f"hail 0.2.139 needs Python >= 3.10, found {sys.version.split()[0]}"'
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  echo "install-hail: installing hail==$HAIL_VERSION into $VENV (about 1.3 GB with pyspark)"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "hail==$HAIL_VERSION"
fi

"$VENV/bin/python" - <<'EOF'
import sys
from importlib.metadata import version

print(f"hail {version('hail')}, pyspark {version('pyspark')}, python {sys.version.split()[0]}")
print(f"venv python: {sys.executable}")
EOF
java -version 2>&1 | head -1 | sed 's/^/java: /'
