#!/usr/bin/env bash
# Rebuild the translation catalogs from the code (`make messages`), then say what is left to translate.
#
# Scans the project's own apps, templates and scripts (never .venv, tests, bench or collected static
# files) into one catalog per language and domain under locale/:
#   locale/<zh_Hant|zh_Hans>/LC_MESSAGES/django.po    templates (.html, .txt, .svg) and Python
#   locale/<zh_Hant|zh_Hans>/LC_MESSAGES/djangojs.po  static/js (served at /jsi18n/<language>.js)
# Existing translations are kept (msgmerge); a changed source string comes back "fuzzy" and a new one
# empty: translate those in the .po files, then run this again until it reports 0 untranslated and
# 0 fuzzy (tests/test_i18n.py fails otherwise). English is the source language: it has no catalog.
# Compiled .mo files are built by scripts/bootstrap.sh (compilemessages) and never committed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
LOCALES=(-l zh_Hant -l zh_Hans)
IGNORE=(--ignore=.venv --ignore=staticfiles --ignore=var --ignore=artifacts --ignore=tests --ignore=bench
        --ignore=devstack --ignore=docs --ignore=scripts --ignore=node_modules --ignore=locale)
# The settings need a SECRET_KEY to import; this one is used for nothing else.
export SECRET_KEY="${SECRET_KEY:-makemessages-only-not-a-secret}"

mkdir -p locale
"$PYTHON" manage.py makemessages "${LOCALES[@]}" -d django -e html,txt,py,svg --add-location=file \
  --no-obsolete "${IGNORE[@]}" -v 0
"$PYTHON" manage.py makemessages "${LOCALES[@]}" -d djangojs -e js --add-location=file \
  --no-obsolete "${IGNORE[@]}" -v 0

status=0
for po in locale/*/LC_MESSAGES/*.po; do
  # msgfmt prints e.g. "215 translated messages, 2 fuzzy translations, 1 untranslated message."
  stats="$(msgfmt --check --statistics -o /dev/null "$po" 2>&1 | tail -n 1)"
  printf '%-42s %s\n' "$po" "$stats"
  case "$stats" in *fuzzy*|*untranslated*) status=1 ;; esac
done
[ "$status" -eq 0 ] || echo "==> translate the fuzzy and untranslated entries above, then run make messages again" >&2
exit "$status"
