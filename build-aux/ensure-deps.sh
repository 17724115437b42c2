#!/bin/sh
# Installs the Debian packages Cleave needs to build and test, when it can.
# As root: apt-get install -y what is missing. Otherwise: print the exact
# command and stop. Quiet when everything is there.
set -eu

# Build: toolchain, meson, the core's and the GUI's libraries.
# Run and test: Xvfb and Mesa (software GL), fonts and icons for GTK,
# the packaging validators; igraph as the min-cut tests' oracle.
PACKAGES="
  gcc libc6-dev make pkg-config meson ninja-build python3
  libglib2.0-dev libglib2.0-dev-bin libsqlite3-dev libzstd-dev libjson-glib-dev
  libgtk-4-dev libepoxy-dev libcglm-dev libx11-dev libxtst-dev
  xvfb xauth libgl1-mesa-dri libegl-mesa0 libglx-mesa0
  fonts-dejavu-core adwaita-icon-theme librsvg2-common gsettings-desktop-schemas
  desktop-file-utils appstream dbus-daemon
  libigraph-dev
"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ensure-deps: not a Debian system; install the equivalents of: $(echo $PACKAGES)" >&2
  exit 0
fi

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "ensure-deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
else
  echo "ensure-deps: missing Debian packages:$missing" >&2
  echo "ensure-deps: run: sudo apt-get install -y$missing" >&2
  exit 1
fi
