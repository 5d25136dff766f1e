#!/bin/sh
# Any other CI: plan, save the plan, apply exactly that plan. Exit codes: 0 no changes,
# 2 changes (with --detailed-exitcode), 1 an error. Set COMWIT_TOKEN in the CI's secrets.
set -eu
python3 -m pip install --quiet comwit
comwit validate
status=0
comwit plan --detailed-exitcode --out plan.json || status=$?
case "$status" in
  0) echo "No changes." ;;
  2) comwit apply plan.json ;;
  *) exit "$status" ;;
esac
