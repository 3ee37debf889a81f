#!/usr/bin/env bash
# Installs Debian's Fashion-MNIST package (the real data some tests and the study read) when it is missing.
# Called by .ci/run and, before every build of the test project, by its MSBuild file; a no-op when present.
set -u
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-data: apt-get not found; install Fashion-MNIST IDX files into $data to run the data tests." >&2
  exit 0
fi
if [ "$(id -u)" = 0 ]; then sudo_cmd=""; elif command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo -n"; else
  echo "install-test-data: not root and no sudo; run: apt-get install -y dataset-fashion-mnist" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
  || { $sudo_cmd apt-get update -qq >/dev/null 2>&1 && $sudo_cmd apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
  || echo "install-test-data: could not install dataset-fashion-mnist; the tests that need it will say so." >&2
exit 0
