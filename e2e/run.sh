#!/usr/bin/env bash
# End-to-end tests in headless Chromium: build ecmo, make a small demo registry with
# three accounts, start the server on a free port, run the tests, stop the server.
# Needs: node + npm (npm ci here), Debian's chromium at /usr/bin/chromium (or $CHROMIUM).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "e2e: no chromium at $chromium (apt-get install -y chromium, or set CHROMIUM)" >&2; exit 1; }
[ -d "$here/node_modules/playwright-core" ] || { echo "e2e: run 'npm ci' in e2e/ first" >&2; exit 1; }

cargo build --quiet --bin ecmo
ecmo="$root/target/debug/ecmo"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export ECMO_E2E_PASSWORD="e2e-password-$RANDOM-$RANDOM"
"$ecmo" demo --db "$work/e2e.db" --patients 40 >/dev/null
for spec in admin:boss clinician:anna researcher:rob; do
  ECMO_PASSWORD="$ECMO_E2E_PASSWORD" "$ecmo" user add --db "$work/e2e.db" --role "${spec%%:*}" "${spec#*:}" >/dev/null
done

# A prediction model fitted on the same registry, so the patient page shows a prediction.
mkdir -p "$work/models"
if "$ecmo" model fit weaning --db "$work/e2e.db" --out "$work/models/weaning.json" >"$work/fit.log" 2>&1; then
  export ECMO_E2E_MODEL=1
else
  echo "e2e: ecmo model fit failed; running without a model:" >&2
  cat "$work/fit.log" >&2
fi

"$ecmo" serve --db "$work/e2e.db" --addr 127.0.0.1:0 --models "$work/models" >"$work/serve.log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's#.*listening on \(http://[^/]*\)/.*#\1#p' "$work/serve.log")"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "e2e: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

cd "$here"
# Screenshots go to a scratch dir; ECMO_SCREENSHOTS=docs/img refreshes the README's pictures.
shots="${ECMO_SCREENSHOTS:-$work/screens}"
case "$shots" in /*) ;; *) shots="$root/$shots" ;; esac
mkdir -p "$shots"
ECMO_URL="$url" CHROMIUM="$chromium" ECMO_SCREENSHOTS="$shots" node --test --test-concurrency=1 app.test.mjs
"$ecmo" audit verify --db "$work/e2e.db"
