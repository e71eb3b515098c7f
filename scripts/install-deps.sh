#!/usr/bin/env bash
# Installs the Debian 12 packages Dash builds and tests with, only those that
# are missing. Safe to run repeatedly.
set -euo pipefail

packages=(cmake ninja-build g++ ccache libgtest-dev python3-numpy
          libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "dash: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -q "${missing[@]}"; then
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi
