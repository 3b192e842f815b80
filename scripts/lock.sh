#!/usr/bin/env bash
# Re-compile the hash-locked requirement files from their .in files:
#
#   bash scripts/lock.sh            # with the hash-locked uv of requirements/uv.txt (scripts/uv.sh), or UV=/path/to/uv
#
#   all.txt                        every runtime package (the union of the profiles), compiled first
#   core|kube|github|validate.txt  one lock per bootstrap profile, constrained to all.txt's pins,
#                                  so a package has the same version in every profile
#   dev.txt                        the test and development tools plus all.in, constrained the same way
#   uv.txt                         the installer bootstrap.sh installs with pip (every platform's wheel)
#
# The locks are universal (every platform and Python >= 3.11), so the same file installs on
# ubuntu-latest, macOS laptops and arm64 runners. requirements/excludes.txt lists packages left
# out of every lock, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-$(bash scripts/uv.sh)}
export UV_SYSTEM_CERTS=${UV_SYSTEM_CERTS:-1} # the platform's trust store, as pip and curl use it

compile() { # compile NAME [extra uv arguments...]
  local name=$1
  shift
  "$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --no-header --index-url https://pypi.org/simple --excludes requirements/excludes.txt \
    "$@" --output-file "requirements/$name.txt" "requirements/$name.in"
}

compile all
for name in core kube github validate dev; do
  compile "$name" --constraints requirements/all.txt
done
compile uv
