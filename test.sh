#!/usr/bin/env bash
# The one command that installs what the tests need and runs the whole suite (CI runs exactly this via .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Real protocol clients (tests/clients), the upload page bundler (web), emulators (emulators/*) and the AWS CDK app
# (infra/aws) come from npm, pinned by package-lock.json.
for dir in tests/clients web emulators/*/ infra/aws; do
  if [ -f "$dir/package-lock.json" ]; then
    echo "== npm ci ($dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# Debian packages some suites need (browsers, databases) are listed one per line in emulators/apt-packages.txt.
if [ -f emulators/apt-packages.txt ]; then
  missing=$(grep -vE '^\s*(#|$)' emulators/apt-packages.txt | while read -r pkg; do dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"; done)
  if [ -n "$missing" ]; then
    echo "== apt-get install $missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# moto (the DynamoDB emulator, with S3 for its end-to-end test) is a Python package: installed from PyPI when missing.
if ! python3 -c "import moto.server" >/dev/null 2>&1; then
  echo "== pip install moto[server]==5.2.1"
  python3 -m pip install --quiet 'moto[server]==5.2.1'
fi

echo "== dotnet build"
dotnet build StorageBridge.sln -c Release -nologo -v minimal

echo "== dotnet test"
log=$(mktemp)
set +e
dotnet test StorageBridge.sln -c Release --no-build -nologo --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line in the plain "N passed, N failed" form, summed over the test assemblies.
awk '/(Passed|Failed)! +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) {
         if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
