#!/usr/bin/env bash
# Re-compile the hash-locked requirement files from their .in files.
# The locks are universal (every platform and Python >= 3.11), so the same file
# installs on ubuntu-latest, macOS laptops and arm64 runners.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
for name in runtime dev; do
  "$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --no-header --index-url https://pypi.org/simple \
    --output-file "requirements/$name.txt" "requirements/$name.in"
done
