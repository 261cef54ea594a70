#!/usr/bin/env bash
# deb-test.sh — the Debian package: CPack builds offshoot_<version>_<arch>.deb from this
# build; its control data declares the dependencies; unpacked (dpkg -x) into a scratch root it
# holds exactly what `cmake --install --prefix /usr` installs, with the unit and activation
# file naming /usr/bin/offshootd; its maintainer scripts are valid sh; the unpacked daemon runs.
#
#   deb-test.sh BUILD_DIR SCRATCH_DIR VERSION
source "$(dirname "$0")/lib.sh"

build=$(realpath "$1")
scratch=$2
version=$3
rm -rf "$scratch"
mkdir -p "$scratch"
scratch=$(realpath "$scratch")
trap 'rm -rf "$scratch"' EXIT
for tool in cpack dpkg-deb; do command -v "$tool" >/dev/null || fail "$tool is missing"; done

(cd "$build" && cpack -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1) ||
  { cat "$scratch/cpack.log" >&2; fail "cpack -G DEB failed"; }
arch=$(dpkg --print-architecture)
deb=$scratch/out/offshoot_${version}_${arch}.deb
[[ -f "$deb" ]] || fail "no $(basename "$deb") in $(ls "$scratch/out")"
ok "cpack built $(basename "$deb") ($(( $(stat -c %s "$deb") / 1024 )) KiB)"

field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == offshoot ]] || fail "Package: $(field Package)"
[[ "$(field Version)" == "$version" ]] || fail "Version: $(field Version), expected $version"
[[ "$(field Architecture)" == "$arch" ]] || fail "Architecture: $(field Architecture)"
depends=$(field Depends)
for dep in libc6 libstdc++6 libsystemd0 libsdbus-c++1 libcap-ng0 libinih1 libfmt9 libexpat1 libseccomp2 dbus; do
  [[ ", $depends," == *", $dep "* || ", $depends," == *", $dep,"* ]] || fail "Depends lacks $dep: $depends"
done
ok "control: offshoot $version $arch; Depends: $depends"

root=$scratch/root
dpkg-deb -x "$deb" "$root" || fail "dpkg -x failed"

# Every library a packaged ELF file needs comes from the package itself or from a declared
# dependency (the package dpkg -S names for it on this build machine).
declared=$(sed 's/ *([^)]*)//g; s/, */\n/g' <<<"$depends")
while read -r lib; do
  [[ -n "$(find "$root" -name "$lib" -print -quit)" ]] && continue
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !found {print $NF; found = 1}')
  [[ -n "$path" ]] || fail "no $lib on this machine"
  # dpkg knows each file under one spelling; /usr is merged here, so try them all.
  real=$(realpath "$path")
  pkg=""
  for p in "$path" "$real" "${path#/usr}" "/usr$path" "${real#/usr}"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | sed -n '1s/:.*//p' || true)
    [[ -n "$pkg" ]] && break
  done
  [[ -n "$pkg" ]] || fail "no package owns $path ($lib)"
  grep -qxF "$pkg" <<<"$declared" || fail "$lib comes from $pkg, which Depends does not name"
done < <(find "$root" -type f -exec sh -c 'head -c4 "$1" | grep -q ELF && readelf -d "$1"' _ {} \; |
         sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
ok "every library the packaged programs and plugins need is the package's own or from Depends"

(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$scratch/deb.files"
DESTDIR=$scratch/ref cmake --install "$build" --prefix /usr >"$scratch/ref.log" 2>&1 ||
  { cat "$scratch/ref.log" >&2; fail "cmake --install (reference) failed"; }
(cd "$scratch/ref" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$scratch/ref.files"
diff -u "$scratch/ref.files" "$scratch/deb.files" >&2 ||
  fail "the package's files differ from cmake --install --prefix /usr (- install, + package)"
for f in usr/bin/offshootd usr/bin/offshootctl usr/libexec/offshoot/offshoot-worker \
         usr/lib/systemd/system/offshootd.service \
         usr/share/dbus-1/system-services/org.offshoot1.service \
         usr/share/dbus-1/system.d/org.offshoot1.conf \
         usr/share/dbus-1/interfaces/org.offshoot1.Supervisor.xml \
         usr/share/doc/offshoot/docs/system-service.md \
         usr/share/doc/offshoot/docs/write-your-own-class.md \
         usr/share/doc/offshoot/examples/out-of-tree/CMakeLists.txt; do
  grep -qxF "$f" "$scratch/deb.files" || fail "the package lacks /$f"
done
grep -qE '^usr/lib/([^/]+/)?offshoot/classes/counter\.so$' "$scratch/deb.files" || fail "the package lacks the Counter plugin"
grep -qE '^usr/lib/offshoot/classes\.d/counter\.conf$' "$scratch/deb.files" || fail "the package lacks counter.conf"
outside=$(grep -v '^usr/' "$scratch/deb.files" || true)
[[ -z "$outside" ]] || fail "files outside /usr: $outside"
ok "dpkg -x: $(wc -l <"$scratch/deb.files") files, the same as cmake --install --prefix /usr, all under /usr"

grep -qxF "ExecStart=/usr/bin/offshootd --system" "$root/usr/lib/systemd/system/offshootd.service" ||
  fail "the packaged unit does not run /usr/bin/offshootd"
grep -qxF "Exec=/usr/bin/offshootd --system" "$root/usr/share/dbus-1/system-services/org.offshoot1.service" ||
  fail "the packaged activation file does not name /usr/bin/offshootd"
leaks=$(grep -rlI -e "$build" -e "$scratch" "$root" || true)
[[ -z "$leaks" ]] || fail "packaged files name the build or staging directory: $leaks"
ok "unit and activation file name /usr/bin/offshootd; no build paths in packaged text files"

dpkg-deb -e "$deb" "$scratch/control"
for s in postinst prerm postrm; do
  [[ -x "$scratch/control/$s" ]] || fail "maintainer script $s missing or not executable"
  sh -n "$scratch/control/$s" || fail "maintainer script $s is not valid sh"
done
grep -q "systemctl daemon-reload" "$scratch/control/postinst" || fail "postinst does not reload systemd"
ok "maintainer scripts: postinst, prerm, postrm (valid sh)"

# The unpacked programs find their libraries in the system or beside themselves.
got=$("$root/usr/bin/offshootd" --version) || fail "the packaged offshootd does not run"
[[ "$got" == "offshootd $version" ]] || fail "offshootd --version says '$got'"
missing=$(for f in "$root"/usr/bin/* "$root"/usr/libexec/offshoot/*; do
  LD_LIBRARY_PATH=$root/usr/lib ldd "$f" 2>/dev/null | grep "not found" || true; done)
[[ -z "$missing" ]] || fail "unresolved libraries: $missing"
ok "the packaged offshootd runs ($got); every packaged program's libraries resolve"
