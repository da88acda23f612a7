#!/usr/bin/env bash
# Regenerate the recorded rpm and dnf outputs the agent's RPM parser tests read.
#
# Run by hand, as root, on Debian 12 after
# `apt-get install rpm dnf dnf-plugins-core createrepo-c`; the test suite never runs it:
#   bash agent/tests/data/capture_rpm.sh [OUTPUT_DIR]
# OUTPUT_DIR defaults to this script's directory (agent/tests/data).
#
# Everything happens in a private scratch directory: small test RPMs built with rpmbuild, an
# RPM database under a private root (installed with --justdb: no file lands anywhere), two
# local repositories made with createrepo_c, one carrying an updateinfo.xml (security
# advisories with severities and CVE references) added with modifyrepo_c. rpm and dnf are
# aimed at that root and those repositories only (rpm --root/--dbpath; dnf --installroot,
# --config, --setopt=reposdir); the host's RPM database, dnf.conf and repositories are never
# read or written (dnf still reads the defaults its Debian package ships in /etc/dnf, the
# protected.d and aliases.d lists, which change none of these outputs). The commands are the ones backends/rpm.py runs plus the options
# that aim them at the private root; each output file's command is in data/README.md.
#
# The parser's hard cases, made real:
#   tandem-hello 1.0-1 x86_64 (and its subpackage tandem-hello-doc, source rpm tandem-hello);
#     update 1.1-1 named by a Moderate advisory
#   tandem-tzdata 2026a-1 noarch; update 2026b-1 named by no advisory (not a security update)
#   tandem-epochal 2:3.0-1 (epoch 2); update 2:3.0-2 named by an Important advisory
#   tandem-kernel-core 6.1.0-1 and 6.1.0-2 installed side by side (install-only, like
#     kernels); update 6.1.0-3 named by a Critical and a Low advisory (the worst one counts)
#   tandem-libfoo 1.0-1 for x86_64 and i686 side by side (multilib); update 1.0-2 for both,
#     named by a Moderate advisory
#   tandem-python3-cryptography-with-a-name-long-enough-to-wrap-dnfs-column 36.0-1; update
#     36.0-2 in the second repository (a name.arch that dnf, on a terminal, wraps onto a line
#     of its own)
#   tandem-oldtool 1.0-1, replaced by tandem-newtool 2.0-1 (Obsoletes:): check-update's
#     "Obsoleting Packages" part
#   tandem-hello-legacy 0.9-1, replaced by tandem-hello 1.1-1 (Obsoletes:): an obsoleting
#     package that is also an update of its own name
#   a gpg-pubkey imported into the database (a row with no arch and no source rpm)
set -euo pipefail

# Debian's rpm warns on every install that alien is the usual way; that is expected here.
quiet_rpm() {
  rpm "$@" 2> >(grep -v -e 'use Alien instead' -e 'know what you are doing' >&2)
}

OUT=$(cd "${1:-$(dirname "$0")}" && pwd)
WORK=$(mktemp -d /tmp/tandem-rpm-capture.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
# rpm and librpm (under dnf) read ~/.rpmmacros: one private build tree, and one database path
# for both tools (Debian's rpm would otherwise use ~/.rpmdb).
export HOME=$WORK
cat >"$HOME/.rpmmacros" <<MACROS
%_topdir $WORK/rpmbuild
%_dbpath /var/lib/rpm
MACROS
mkdir -p "$WORK"/rpmbuild/{SPECS,SOURCES,BUILD,RPMS,SRPMS} "$ROOT/var/lib/rpm" \
  "$WORK/repos.d" "$WORK/cache" "$WORK/base" "$WORK/extra"

# build NAME EPOCH VERSION RELEASE ARCH [SUBPACKAGE] [PREAMBLE]: one binary rpm (two with a
# subpackage), holding one small file under /usr/share.
build() {
  local name=$1 epoch=$2 version=$3 release=$4 arch=$5 sub=${6:-} preamble=${7:-}
  local file=$WORK/rpmbuild/SPECS/$name-$version-$release.$arch.spec
  {
    echo "Name: $name"
    if [ -n "$epoch" ]; then echo "Epoch: $epoch"; fi
    echo "Version: $version"
    echo "Release: $release"
    echo "Summary: Tandem agent test package $name"
    echo "License: MIT"
    if [ "$arch" = noarch ]; then echo "BuildArch: noarch"; fi
    if [ -n "$preamble" ]; then echo "$preamble"; fi
    echo "%description"
    echo "Built only to record rpm and dnf output for Tandem's parser tests."
    if [ -n "$sub" ]; then
      echo "%package $sub"
      echo "Summary: Tandem agent test subpackage $name-$sub"
      echo "%description $sub"
      echo "A subpackage: its source rpm is $name's."
      echo "%files $sub"
      echo "/usr/share/$name-$sub"
    fi
    echo "%install"
    echo "mkdir -p %{buildroot}/usr/share/$name"
    echo "echo $version-$release > %{buildroot}/usr/share/$name/$version-$release.$arch"
    if [ -n "$sub" ]; then
      echo "mkdir -p %{buildroot}/usr/share/$name-$sub"
      echo "echo $version-$release > %{buildroot}/usr/share/$name-$sub/$version-$release.$arch"
    fi
    echo "%files"
    echo "/usr/share/$name"
  } >"$file"
  local target=()
  if [ "$arch" != noarch ]; then target=(--target "$arch"); fi
  # --nodeps: there are no build dependencies, and checking them would read the host's own
  # RPM database (rpmbuild has no --root).
  rpmbuild -bb --quiet --nodeps "${target[@]}" "$file" >/dev/null
}

rpm_file() { # NAME-VERSION-RELEASE.ARCH -> the built rpm's path
  echo "$WORK/rpmbuild/RPMS/${1##*.}/$1.rpm"
}

LONG=tandem-python3-cryptography-with-a-name-long-enough-to-wrap-dnfs-column
# Installed versions.
build tandem-hello "" 1.0 1 x86_64 doc
build tandem-tzdata "" 2026a 1 noarch
build tandem-epochal 2 3.0 1 x86_64
build tandem-kernel-core "" 6.1.0 1 x86_64
build tandem-kernel-core "" 6.1.0 2 x86_64
build tandem-libfoo "" 1.0 1 x86_64
build tandem-libfoo "" 1.0 1 i686
build "$LONG" "" 36.0 1 x86_64
build tandem-oldtool "" 1.0 1 noarch
build tandem-hello-legacy "" 0.9 1 noarch
# Updates.
build tandem-hello "" 1.1 1 x86_64 doc "Obsoletes: tandem-hello-legacy < 1.0"
build tandem-tzdata "" 2026b 1 noarch
build tandem-epochal 2 3.0 2 x86_64
build tandem-kernel-core "" 6.1.0 3 x86_64
build tandem-libfoo "" 1.0 2 x86_64
build tandem-libfoo "" 1.0 2 i686
build "$LONG" "" 36.0 2 x86_64
build tandem-newtool "" 2.0 1 noarch "" \
  "Obsoletes: tandem-oldtool < 2.0
Provides: tandem-oldtool = 2.0"

# The private database: --justdb records the packages without writing their files.
rpm --root "$ROOT" --dbpath /var/lib/rpm --initdb
INSTALLED=(
  tandem-hello-1.0-1.x86_64 tandem-hello-doc-1.0-1.x86_64 tandem-tzdata-2026a-1.noarch
  tandem-epochal-3.0-1.x86_64 tandem-libfoo-1.0-1.x86_64 tandem-libfoo-1.0-1.i686
  "$LONG-36.0-1.x86_64" tandem-oldtool-1.0-1.noarch tandem-hello-legacy-0.9-1.noarch
  tandem-kernel-core-6.1.0-1.x86_64
)
for nevra in "${INSTALLED[@]}"; do
  quiet_rpm --root "$ROOT" --dbpath /var/lib/rpm -i --justdb --nodeps --ignorearch \
    "$(rpm_file "$nevra")"
  sleep 1 # distinct install times, so the listing's order and times are plain to read
done
# rpm -i (not -U) installs a second kernel next to the first, as dnf does for install-only
# packages.
quiet_rpm --root "$ROOT" --dbpath /var/lib/rpm -i --justdb --nodeps \
  "$(rpm_file tandem-kernel-core-6.1.0-2.x86_64)"

# A signing key imported into the database shows as a gpg-pubkey package.
export GNUPGHOME=$WORK/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Tandem test key <test@tandem.invalid>' \
  rsa2048 sign 1d 2>/dev/null
gpg --batch --armor --export test@tandem.invalid >"$WORK/key.asc"
rpm --root "$ROOT" --dbpath /var/lib/rpm --import "$WORK/key.asc"

# The installed packages, with the backend's query (RPM_QUERY in backends/rpm.py).
rpm --root "$ROOT" --dbpath /var/lib/rpm -qa \
  --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{INSTALLTIME}\n' \
  >"$OUT/rpm-qa-recorded.txt"

# Two repositories holding the updates, like a distribution's baseos and appstream.
for nevra in tandem-hello-1.1-1.x86_64 tandem-hello-doc-1.1-1.x86_64 \
  tandem-tzdata-2026b-1.noarch tandem-epochal-3.0-2.x86_64 tandem-kernel-core-6.1.0-3.x86_64 \
  tandem-libfoo-1.0-2.x86_64 tandem-libfoo-1.0-2.i686 tandem-newtool-2.0-1.noarch; do
  cp "$(rpm_file "$nevra")" "$WORK/base/"
done
cp "$(rpm_file "$LONG-36.0-2.x86_64")" "$WORK/extra/"
createrepo_c --quiet "$WORK/base"
createrepo_c --quiet "$WORK/extra"

# advisory ID TYPE SEVERITY CVE PACKAGE... (PACKAGE as name:epoch:version:release:arch)
advisory() {
  local id=$1 type=$2 severity=$3 cve=$4
  shift 4
  echo "  <update from=\"security@tandem.invalid\" status=\"final\" type=\"$type\" version=\"2.0\">"
  echo "    <id>$id</id>"
  echo "    <title>$id: test advisory</title>"
  echo "    <issued date=\"2026-01-15 00:00:00\"/>"
  echo "    <updated date=\"2026-01-15 00:00:00\"/>"
  echo "    <severity>$severity</severity>"
  echo "    <description>A made-up advisory for Tandem's parser tests.</description>"
  echo "    <references>"
  echo "      <reference href=\"https://www.cve.org/CVERecord?id=$cve\" id=\"$cve\" type=\"cve\" title=\"$cve\"/>"
  echo "    </references>"
  echo "    <pkglist><collection short=\"tandem\"><name>Tandem test</name>"
  local package name epoch version release arch
  for package in "$@"; do
    IFS=: read -r name epoch version release arch <<<"$package"
    echo "      <package name=\"$name\" epoch=\"$epoch\" version=\"$version\" release=\"$release\" arch=\"$arch\" src=\"$name-$version-$release.src.rpm\">"
    echo "        <filename>$name-$version-$release.$arch.rpm</filename>"
    echo "      </package>"
  done
  echo "    </collection></pkglist>"
  echo "  </update>"
}
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo '<updates>'
  advisory TANDEM-2026:0101 security Moderate CVE-2026-90101 \
    tandem-hello:0:1.1:1:x86_64 tandem-hello-doc:0:1.1:1:x86_64
  advisory TANDEM-2026:0102 security Important CVE-2026-90102 tandem-epochal:2:3.0:2:x86_64
  advisory TANDEM-2026:0103 security Critical CVE-2026-90103 \
    tandem-kernel-core:0:6.1.0:3:x86_64
  advisory TANDEM-2026:0104 security Low CVE-2026-90104 tandem-kernel-core:0:6.1.0:3:x86_64
  advisory TANDEM-2026:0105 security Moderate CVE-2026-90105 \
    tandem-libfoo:0:1.0:2:x86_64 tandem-libfoo:0:1.0:2:i686
  advisory TANDEM-2026:0106 bugfix None CVE-2026-90106 tandem-tzdata:0:2026b:1:noarch
  echo '</updates>'
} >"$WORK/updateinfo.xml"
modifyrepo_c "$WORK/updateinfo.xml" "$WORK/base/repodata" >/dev/null

cat >"$WORK/dnf.conf" <<CONF
[main]
gpgcheck=0
installonlypkgs=tandem-kernel-core
CONF
for repo in base extra; do
  cat >"$WORK/repos.d/$repo.repo" <<REPO
[tandem-$repo]
name=Tandem test repository $repo
baseurl=file://$WORK/$repo
gpgcheck=0
REPO
done
DNF=(dnf --installroot="$ROOT" --config="$WORK/dnf.conf" --setopt=reposdir="$WORK/repos.d"
  --setopt=cachedir="$WORK/cache" --releasever=12 --noplugins)

# dnf check-update exits 100 when it lists updates (0 when none, 1 on error).
expect_100() {
  if [ "$1" != 100 ]; then
    echo "dnf check-update exited $1, not 100" >&2
    exit 1
  fi
}
set +e
"${DNF[@]}" -q check-update >"$OUT/dnf-check-update-recorded.txt"
expect_100 $?
# On a terminal dnf wraps a name.arch too long for its column onto a line of its own. The agent
# never runs dnf on a terminal (its output goes to a pipe, where dnf widens the column
# instead), but the parser reads both: recorded through a pseudo-terminal 80 columns wide,
# without colour, carriage returns dropped.
script -qec "stty cols 80; $(printf '%q ' "${DNF[@]}") --color=never -q check-update" /dev/null \
  | tr -d '\r' >"$OUT/dnf-check-update-terminal-recorded.txt"
expect_100 "${PIPESTATUS[0]}"
set -e
"${DNF[@]}" -q updateinfo list --security >"$OUT/dnf4-updateinfo-list-security-recorded.txt"

# dnf needs-restarting -r (dnf-plugins-core) exits 1 when a package on its list (kernel,
# glibc, systemd, ...) was installed after the machine booted. The private root has none of
# those, so first it finds nothing (exit 0); then the root's own needs-restarting.d names
# tandem-kernel-core, installed minutes ago, as a reboot package (exit 1). Only that plugin
# is loaded, with no host plugin configuration.
NEEDS=("${DNF[@]/--noplugins/--setopt=pluginconfpath=$WORK/plugins.d}" --disableplugin='*'
  --enableplugin=needs_restarting needs-restarting -r)
mkdir -p "$WORK/plugins.d" "$ROOT/etc/dnf/plugins/needs-restarting.d"
set +e
# Without the plugin (dnf-plugins-core not installed) dnf exits 1 as well: "No such command".
"${DNF[@]}" needs-restarting -r \
  >/dev/null 2>"$OUT/dnf-needs-restarting-r-no-plugin-recorded.stderr.txt"
missing=$?
"${NEEDS[@]}" >"$OUT/dnf-needs-restarting-r-none-recorded.txt"
none=$?
echo tandem-kernel-core >"$ROOT/etc/dnf/plugins/needs-restarting.d/tandem.conf"
"${NEEDS[@]}" >"$OUT/dnf-needs-restarting-r-reboot-recorded.txt"
reboot=$?
set -e
if [ "$none" != 0 ] || [ "$reboot" != 1 ] || [ "$missing" != 1 ]; then
  echo "dnf needs-restarting -r exited $none, $reboot and $missing, not 0, 1 and 1" >&2
  exit 1
fi

# The versions to name in data/README.md.
dpkg-query -W -f '${Package} ${Version}\n' rpm dnf python3-libdnf dnf-plugins-core createrepo-c >&2
