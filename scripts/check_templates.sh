#!/usr/bin/env bash
# Validate the shipped CI templates against the schemas GitHub and Azure Pipelines publish,
# as bundled in the check-jsonschema wheel (no download at run time).
#
#   scripts/check_templates.sh [DIR]     DIR defaults to templates/ (github/, azure-devops/)
#
# The Azure Pipelines schema's patterns need the non-unicode regex dialect.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-templates}"
if [ -x .venv/bin/check-jsonschema ]; then CHECK=.venv/bin/check-jsonschema; else CHECK=check-jsonschema; fi

shopt -s nullglob
github=("$DIR"/github/*.yml "$DIR"/github/*.yaml)
azure=("$DIR"/azure-devops/*.yml "$DIR"/azure-devops/*.yaml)
if [ ${#github[@]} -eq 0 ] || [ ${#azure[@]} -eq 0 ]; then
  echo "error: expected workflows in $DIR/github/ and pipelines in $DIR/azure-devops/" >&2
  exit 1
fi
status=0
"$CHECK" --builtin-schema vendor.github-workflows "${github[@]}" || status=1
"$CHECK" --builtin-schema vendor.azure-pipelines --regex-variant nonunicode "${azure[@]}" || status=1
exit "$status"
