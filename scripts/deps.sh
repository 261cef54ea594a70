#!/usr/bin/env bash
# deps.sh — installs the Debian (bookworm) packages offshoot needs to build, test and run its
# demo; does nothing when they are all present. Needs root (or sudo) only when something is
# missing.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config
  libsdbus-c++-dev libsdbus-c++-bin   # sdbus-c++ 1.2 and sdbus-c++-xml2cpp (client proxies)
  libsystemd-dev                      # sd-bus, sd-event, sd-daemon
  libfmt-dev libinih-dev libcap-ng-dev libseccomp-dev libcli11-dev nlohmann-json3-dev
  libexpat1-dev                       # the adaptor generator reads the XML with expat
  libgtest-dev libgmock-dev libbenchmark-dev
  # run and test: a private bus and the standard D-Bus clients tests talk to instances with
  dbus-daemon                         # dbus-daemon
  dbus-system-bus-common              # system.conf and the messagebus user (systemd namespace test)
  dbus-bin                            # dbus-send
  libglib2.0-bin                      # gdbus
  systemd                             # busctl, systemd-notify, the real systemd for unit tests
  util-linux                          # unshare, nsenter, taskset (PID-namespace systemd tests, benchmarks)
  iproute2                            # ip: the loopback of the ssh tests' network namespace
  openssh-client                      # ssh: offshootd on another host (tests/remote)
  openssh-server                      # sshd: the "other host" of tests/remote, run by the test itself
                                      # in namespaces of its own (the package's ssh.service is not used)
  procps                              # ps, pgrep for debugging test failures
  passwd                              # the nobody/nogroup accounts the tests spawn as
  python3                             # the benchmark's Python peer
  python3-jeepney                     # the Python client's D-Bus library (python/, docs/python.md)
  python3-pytest                      # the Python client's tests (ctest label python)
  # the sanitize and fuzz stages of scripts/test.sh (GCC's ASan/UBSan runtimes come with g++)
  clang libclang-rt-14-dev          # libFuzzer and the sanitizer runtimes (only recommended by clang)
)

missing=()
for p in "${packages[@]}"; do
  # "install ok installed" only: a package that is merely known (removed, config-files) is missing.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
