#!/usr/bin/env bash
# Installs the Debian packages the harness, the integration tests and the benchmarks use.
# Idempotent and quiet when everything is present; needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v dropbear >/dev/null || need+=(dropbear-bin)
[ -f /usr/include/fec.h ] || need+=(libfec-dev)
command -v rg >/dev/null || need+=(ripgrep)
command -v cpio >/dev/null || need+=(cpio)
command -v cc >/dev/null || need+=(gcc)
# node-gyp links the optional native search addon (harness/io/native) with the C++ driver.
command -v g++ >/dev/null || need+=(g++)
command -v depmod >/dev/null || need+=(kmod)
command -v xz >/dev/null || need+=(xz-utils)
# Decompressors for extracting a bzImage's vmlinux (PVH boots), whichever one built the kernel.
command -v zstd >/dev/null || need+=(zstd)
command -v lz4 >/dev/null || need+=(lz4)
command -v lzop >/dev/null || need+=(lzop)
command -v bzip2 >/dev/null || need+=(bzip2)
command -v dpkg-deb >/dev/null || need+=(dpkg)
# Cross-checks in the tests: dtc for our FDT code, makedumpfile for kdump files, rsvg for the SVG map.
command -v dtc >/dev/null || need+=(device-tree-compiler)
command -v makedumpfile >/dev/null || need+=(makedumpfile)
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
# The HTML report test loads the page in a headless browser.
command -v chromium >/dev/null || need+=(chromium)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
# arm64 guests: the harness downloads Debian's arm64 kernel, busybox and dropbear (never
# installs them); apt must know the architecture for that.
if ! dpkg --print-foreign-architectures | grep -qx arm64 && [ "$(dpkg --print-architecture)" != arm64 ]; then
	echo "adding the arm64 architecture to apt (download only)" >&2
	$SUDO dpkg --add-architecture arm64
	$SUDO apt-get update -qq
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
