#!/usr/bin/env bash
# Builds PhotonCloud's tiny test image from Debian packages and prints where it is (JSON on stdout).
#
#   scripts/build-test-image.sh            # build (or reuse) and print {"kernel": ..., "initrd": ...}
#   scripts/build-test-image.sh --path     # print only the image directory
#
# The image is Debian's own kernel, uncompressed to a `vmlinux` that QEMU boots through the PVH
# entry (fast, and it works with `-machine microvm`), and a busybox initramfs whose init:
#   - loads the virtio/ACPI modules the Debian kernel builds as modules (virtio_mmio, virtio_pci,
#     virtio_net, virtio_blk, button, evdev),
#   - asks for an address with udhcpc on eth0 (if a NIC exists), honouring the MTU option,
#   - fetches metadata from http://169.254.169.254 (OpenStack paths, then EC2-style; absence is fine;
#     `timeout` rather than wget -T, which segfaults in busybox 1.35),
#     sets the hostname from it and runs user-data when it is a `#!` script,
#   - answers ICMP (kernel) and TCP on port 80 (busybox httpd, serving the hostname) for probes,
#   - powers off on an ACPI power button press (acpid), so QMP system_powerdown works,
#   - prints `PHOTON-TEST-IMAGE READY ip=... hostname=... metadata=...` on the serial console,
#     then keeps a root shell on ttyS0 for interactive consoles.
# Kernel parameter `photon.probe=1` makes it print `PHOTON-TEST-IMAGE PROBE-OK` and power off at once
# (used to check that an accelerator can boot a guest).
#
# Output is cached under ${PHOTON_CACHE_DIR:-~/.cache/photoncloud}/test-image/<key>/, where the key
# hashes this script and the exact package versions: it is rebuilt only when one of them changes.
# Needs: apt-get/apt-cache (Debian), dpkg-deb, xz, cpio, gzip, modinfo. Runs as any user that can
# `apt-get download` (no root needed). Override the kernel with PHOTON_TEST_KERNEL_PACKAGE.
set -euo pipefail

want_path_only=0
[ "${1:-}" = "--path" ] && want_path_only=1

die() { echo "build-test-image: $*" >&2; exit 1; }
for tool in apt-cache apt-get dpkg-deb xz cpio gzip modinfo sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is required (Debian: apt-get install apt dpkg xz-utils cpio gzip kmod)"
done

# --- inputs: the exact packages (resolved from the local apt lists, no network) ---
kernel_pkg="${PHOTON_TEST_KERNEL_PACKAGE:-}"
if [ -z "$kernel_pkg" ]; then
  kernel_pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)"
  [ -n "$kernel_pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (run apt-get update, or set PHOTON_TEST_KERNEL_PACKAGE)"
fi
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -1; }
kernel_ver="$(candidate "$kernel_pkg")"
busybox_ver="$(candidate busybox-static)"
[ -n "$kernel_ver" ] && [ "$kernel_ver" != "(none)" ] || die "package $kernel_pkg is unknown to apt (run apt-get update)"
[ -n "$busybox_ver" ] && [ "$busybox_ver" != "(none)" ] || die "package busybox-static is unknown to apt (run apt-get update)"

script_sum="$(sha256sum "$0" | cut -c1-64)"
key="$(printf '%s\n' "$script_sum" "$kernel_pkg=$kernel_ver" "busybox-static=$busybox_ver" | sha256sum | cut -c1-16)"
cache_root="${PHOTON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/photoncloud}/test-image"
out="$cache_root/$key"

print_result() {
  if [ "$want_path_only" = 1 ]; then echo "$out"; else cat "$out/image.json"; fi
}

mkdir -p "$cache_root"
if [ -f "$out/image.json" ]; then print_result; exit 0; fi

# One builder at a time per cache (parallel test files may all ask at once).
exec 9>"$cache_root/.lock"
flock 9
if [ -f "$out/image.json" ]; then print_result; exit 0; fi

work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "build-test-image: building $key ($kernel_pkg $kernel_ver, busybox-static $busybox_ver)" >&2

# --- fetch (apt-get download writes into the current directory) ---
(cd "$work" && apt-get download -q "$kernel_pkg=$kernel_ver" "busybox-static=$busybox_ver" >&2) ||
  die "apt-get download failed (network or apt lists out of date?)"
kernel_deb="$(ls "$work"/linux-image-*.deb)"
busybox_deb="$(ls "$work"/busybox-static_*.deb)"

# --- kernel: vmlinuz -> vmlinux (the xz payload after the setup code), plus the modules we load ---
mkdir -p "$work/k"
dpkg-deb --fsys-tarfile "$kernel_deb" | tar -x -C "$work/k" --wildcards './boot/vmlinuz-*' './lib/modules/*/kernel/drivers/*' './lib/modules/*/kernel/net/core/failover.ko*' './lib/modules/*/modules.builtin'
vmlinuz="$(ls "$work"/k/boot/vmlinuz-*)"
kver="${vmlinuz##*/vmlinuz-}"
offset="$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)"
[ -n "$offset" ] || die "no xz payload in $vmlinuz (a kernel compressed otherwise is not supported yet)"
xz -dc --single-stream < <(tail -c +$((offset + 1)) "$vmlinuz") >"$work/vmlinux" || die "could not decompress $vmlinuz"
head -c 4 "$work/vmlinux" | grep -q 'ELF' || die "decompressed kernel is not an ELF file"

# Modules in load order: dependencies first (from each module's own `depends` field).
modroot="$work/k/lib/modules/$kver"
declare -A modpath=()
while IFS= read -r f; do
  n="${f##*/}"; n="${n%%.ko*}"; modpath["${n//-/_}"]="$f"
done < <(find "$modroot" -name '*.ko*')
declare -A loaded=()
order=()
add_module() {
  local name="${1//-/_}" dep
  [ -n "${loaded[$name]:-}" ] && return 0
  local f="${modpath[$name]:-}"
  if [ -z "$f" ]; then
    grep -qE "/$1\.ko" "$modroot/modules.builtin" 2>/dev/null && return 0
    echo "build-test-image: module $name not found (built in?)" >&2; loaded[$name]=1; return 0
  fi
  loaded[$name]=1
  for dep in $(modinfo -F depends "$f" | tr ',' ' '); do add_module "$dep"; done
  order+=("$name")
}
for m in virtio virtio_ring virtio_mmio virtio_pci virtio_net virtio_blk button evdev; do add_module "$m"; done

# --- initramfs ---
root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/acpi/PWRF,lib/modules,proc,sys,dev,run,tmp,var/www,root}
dpkg-deb --fsys-tarfile "$busybox_deb" | tar -x -O ./bin/busybox >"$root/bin/busybox"
chmod 755 "$root/bin/busybox"
ln -s bin/busybox "$root/init"
ln -s busybox "$root/bin/sh"
for m in "${order[@]}"; do
  f="${modpath[$m]}"
  case "$f" in
    *.ko.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -dcq "$f" >"$root/lib/modules/$m.ko" ;;
    *.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done
printf '%s\n' "${order[@]}" >"$root/etc/modules"

cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/bin/reboot
::shutdown:/etc/rc.shutdown
EOF

cat >"$root/etc/rc" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs run /run
echo "PHOTON-TEST-IMAGE BOOT"
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
if grep -q 'photon.probe=1' /proc/cmdline; then
  echo "PHOTON-TEST-IMAGE PROBE-OK"
  poweroff -f
fi
ip link set lo up
hostname photon-test
acpid -c /etc/acpi -a /etc/acpid.conf -l /run/acpid.log
ip=none
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  udhcpc -i eth0 -n -q -f -t 5 -T 1 -O mtu -s /etc/udhcpc.script >/run/udhcpc.log 2>&1
  ip="$(ip -4 -o addr show dev eth0 | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' | head -1)"
  [ -n "$ip" ] || ip=none
fi
metadata=none
if [ "$ip" != none ]; then
  md=http://169.254.169.254
  if timeout 3 wget -q -O /run/meta_data.json $md/openstack/latest/meta_data.json 2>/dev/null; then
    metadata=openstack
    h="$(sed -n 's/.*"hostname": *"\([^"]*\)".*/\1/p' /run/meta_data.json | head -1)"
    [ -n "$h" ] && hostname "${h%%.*}"
    timeout 3 wget -q -O /run/user-data $md/openstack/latest/user_data 2>/dev/null || rm -f /run/user-data
  elif timeout 3 wget -q -O /run/instance-id $md/latest/meta-data/instance-id 2>/dev/null; then
    metadata=ec2
    h="$(timeout 3 wget -q -O- $md/latest/meta-data/local-hostname 2>/dev/null)"
    [ -n "$h" ] && hostname "${h%%.*}"
    timeout 3 wget -q -O /run/user-data $md/latest/user-data 2>/dev/null || rm -f /run/user-data
  fi
  if [ -s /run/user-data ] && head -c 2 /run/user-data | grep -q '#!'; then
    chmod 755 /run/user-data
    echo "PHOTON-TEST-IMAGE USER-DATA running"
    /run/user-data >/run/user-data.log 2>&1
    echo "PHOTON-TEST-IMAGE USER-DATA exit=$?"
  fi
fi
hostname >/var/www/index.html
httpd -p 80 -h /var/www
echo "PHOTON-TEST-IMAGE READY ip=$ip hostname=$(hostname) metadata=$metadata"
EOF

cat >"$root/etc/rc.shutdown" <<'EOF'
#!/bin/sh
echo "PHOTON-TEST-IMAGE SHUTDOWN"
EOF

cat >"$root/etc/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    : >/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    ;;
esac
exit 0
EOF

# busybox acpid: the power button maps to PWRF; the action file runs /etc/acpi/PWRF/00000080.
echo "PWRF PWRF/00000080" >"$root/etc/acpid.conf"
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "PHOTON-TEST-IMAGE POWER-BUTTON" >/dev/console
poweroff
EOF
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
chmod 755 "$root/etc/rc" "$root/etc/rc.shutdown" "$root/etc/udhcpc.script" "$root/etc/acpi/PWRF/00000080"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -9n) >"$work/initramfs.cpio.gz"

# --- publish atomically ---
mkdir -p "$work/out"
mv "$work/vmlinux" "$work/initramfs.cpio.gz" "$work/out/"
cat >"$work/out/image.json" <<EOF
{"key":"$key","kernel":"$out/vmlinux","initrd":"$out/initramfs.cpio.gz","cmdline":"quiet","marker":"PHOTON-TEST-IMAGE READY","probeMarker":"PHOTON-TEST-IMAGE PROBE-OK","kernelPackage":"$kernel_pkg=$kernel_ver","busybox":"busybox-static=$busybox_ver","modules":"$(IFS=,; echo "${order[*]}")"}
EOF
rm -rf "$out"
mv "$work/out" "$out"
# Images of other script or package versions, untouched for a day, are dropped (~70 MB each).
find "$cache_root" -mindepth 1 -maxdepth 1 -type d -not -name "$key" -not -name '.build.*' -mtime +0 -exec rm -rf {} + 2>/dev/null || true
echo "build-test-image: ready in $out" >&2
print_result
