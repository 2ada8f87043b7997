#!/usr/bin/env bash
# Today's CPythons for the test matrix: Debian sid's newest 3.14 and 3.15, unpacked (never installed) into one folder
# together with sid's glibc and the few libraries the interpreter and the stdlib's extension modules link to, and
# their headers (libpython3.X-dev: DEST/usr/include/python3.X), which tools/cpython-layouts.ts compiles against.
#
#   bash .ci/sid-pythons.sh [DEST]        DEST defaults to $PYMEM_SID_ROOT, else <repo>/.cache/debian-sid
#
# sid's packages need a newer glibc than the machine may have, so nothing here runs them directly: every process
# that loads them starts under DEST's own loader (see the manifest). apt runs with a private configuration: its own
# sources list (sid, signed-by the machine's debian-archive-keyring), lists, cache and an empty dpkg status, all under
# DEST/.apt, so the system's apt state is not touched. Idempotent: when DEST/pymem-sid.json exists and sid's index
# was fetched less than a day ago, it only checks that the unpacked packages are still the newest ones it knows of.
# Writes DEST/pymem-sid.json, which tests/pythons.ts reads. Exit status 0 when ready; 3 (with the reason on stderr)
# when it cannot be done here (no apt-get/dpkg, no network, an unsigned index), so .ci/run can skip cleanly.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${PYMEM_SID_ROOT:-$repo/.cache/debian-sid}}"
minors=(3.14 3.15)
# The interpreter's own packages per minor, then what they and the stdlib's extension modules link to (found with
# `apt-cache show` Depends of libpython3.1X{,-minimal,-stdlib} and python3.1X-minimal in sid), plus libstdc++ for
# Node (koffi and node itself link it).
libs=(libc6 libgcc-s1 libstdc++6 libssl3t64 libexpat1 zlib1g libbz2-1.0 libffi8 liblzma5 libzstd1 libsqlite3-0
  libuuid1 libncursesw6 libtinfo6 libreadline8t64)

skip() { echo "sid-pythons: skipped: $*" >&2; exit 3; }
command -v apt-get >/dev/null || skip "apt-get not found (Debian sid's packages are fetched with it)"
command -v dpkg >/dev/null || skip "dpkg not found (the packages are unpacked with dpkg -x)"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || skip "$keyring not found (package debian-archive-keyring)"

apt_dir="$dest/.apt"
# The folder is emptied before each unpack: refuse one that this script did not make.
if [ -d "$dest" ] && [ ! -d "$apt_dir" ] && [ -n "$(ls -A "$dest")" ]; then
  echo "sid-pythons: $dest is not empty and was not made by this script; choose another folder" >&2
  exit 2
fi
mkdir -p "$apt_dir"/{etc/sources.list.d,etc/preferences.d,lists/partial,cache/archives/partial,debs}
echo "deb [signed-by=$keyring] http://deb.debian.org/debian sid main" >"$apt_dir/etc/sources.list"
[ -e "$apt_dir/status" ] || : >"$apt_dir/status" # rewritten each time, it would invalidate apt's cache
# The system's apt.conf(.d) still applies (proxies, Check-Valid-Until); every path that holds state is our own.
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64" -o "Debug::NoLocking=true"
  -o "APT::Sandbox::User=root"
)
[ "$(dpkg --print-architecture)" = amd64 ] || skip "only amd64 is prepared (this machine is $(dpkg --print-architecture))"

index_age() { # seconds since sid's index was last fetched, or a large number
  [ -f "$apt_dir/updated" ] && echo $(($(date +%s) - $(stat -c %Y "$apt_dir/updated"))) || echo 999999999
}
if [ "$(index_age)" -gt 86400 ]; then
  if apt-get "${apt_opts[@]}" -qq update >"$apt_dir/update.log" 2>&1; then
    touch "$apt_dir/updated"
  else
    why="apt-get update of sid failed: $(grep -E '^(E|W):' "$apt_dir/update.log" | head -2 | tr '\n' ' ')"
    # Offline with a tree already unpacked: keep testing what is there.
    [ -f "$dest/pymem-sid.json" ] && { echo "sid-pythons: $why; keeping the packages unpacked in $dest" >&2; exit 0; }
    skip "$why"
  fi
fi

# Newest candidate of each package: name=version, so the download and the stamp name exact versions.
pkgs=()
for m in "${minors[@]}"; do
  pkgs+=("libpython$m" "libpython$m-minimal" "libpython$m-stdlib" "python$m" "python$m-minimal" "libpython$m-dev")
done
pkgs+=("${libs[@]}")
declare -A candidate=()
while read -r p v; do candidate[$p]=$v; done < <(apt-cache "${apt_opts[@]}" show --no-all-versions "${pkgs[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Version: /{print p, $2}')
want=()
for p in "${pkgs[@]}"; do
  [ -n "${candidate[$p]:-}" ] || skip "sid has no package $p"
  want+=("$p=${candidate[$p]}")
done
stamp=$(printf '%s\n' "${want[@]}")
if [ -f "$dest/pymem-sid.json" ] && [ "$(cat "$apt_dir/unpacked" 2>/dev/null)" = "$stamp" ]; then
  echo "sid-pythons: up to date in $dest"
  exit 0
fi

# Download what is missing (apt-get download writes to the current directory), then unpack everything afresh.
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "${want[@]}" >"$apt_dir/download.log" 2>&1) ||
  skip "apt-get download failed: $(grep -E '^(E|W):' "$apt_dir/download.log" | head -2 | tr '\n' ' ')"
find "$dest" -mindepth 1 -maxdepth 1 ! -name .apt -exec rm -rf {} +
for w in "${want[@]}"; do
  p=${w%%=*} v=${w#*=}
  deb=$(ls "$apt_dir/debs/${p}_${v/:/%3a}"_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || skip "downloaded package for $w not found in $apt_dir/debs"
  dpkg -x "$deb" "$dest"
done
# Keep only the .debs just used.
for f in "$apt_dir"/debs/*.deb; do
  b=$(basename "$f"); keep=0
  for w in "${want[@]}"; do p=${w%%=*} v=${w#*=}; [[ $b == "${p}_${v/:/%3a}"_* ]] && keep=1; done
  [ $keep = 1 ] || rm -f "$f"
done
# merged-/usr links as on a Debian system, so that the folder also works as the root of a mount namespace (the
# containerised attach test runs /usr/bin/python3.X inside it with its /lib64/ld-linux-x86-64.so.2).
for d in bin sbin lib lib64; do
  [ -e "$dest/usr/$d" ] && [ ! -e "$dest/$d" ] && ln -s "usr/$d" "$dest/$d"
done
mkdir -p "$dest"/{proc,dev,tmp,etc}

loader=usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
[ -x "$dest/$loader" ] || skip "sid's libc6 has no $loader"
entries=()
for m in "${minors[@]}"; do
  v=$(printf '%s\n' "${want[@]}" | sed -n "s/^python$m=//p")
  lib="usr/lib/x86_64-linux-gnu/libpython$m.so.1.0"
  [ -e "$dest/$lib" ] || skip "libpython$m package has no $lib"
  entries+=("{\"minor\": \"$m\", \"package\": \"$v\", \"library\": \"$lib\", \"executable\": \"usr/bin/python$m\", \"home\": \"usr\"}")
done
joined=$(IFS=,; echo "${entries[*]}")
cat >"$dest/pymem-sid.json" <<EOF
{
  "source": "debian sid",
  "loader": "$loader",
  "libraryPath": ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"],
  "pythons": [${joined//,\{/, \{}],
  "packages": [$(printf '"%s",' "${want[@]}" | sed 's/,$//')]
}
EOF
echo "$stamp" >"$apt_dir/unpacked"
echo "sid-pythons: unpacked ${#want[@]} packages into $dest"
