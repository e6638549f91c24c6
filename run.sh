#!/bin/sh
# Installs what is missing, builds uttm and runs its main job on defaults.
# Extra arguments go to the main job.
set -eu
cd "$(dirname "$0")"
scripts/deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
exec build/tools/uttm run "$@"
