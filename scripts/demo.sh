#!/usr/bin/env bash
# The story a new user sees first; runs entirely against the embedded sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/reconcile validate specs/
