#!/usr/bin/env bash
# Installs a WebGPU-capable software driver when this machine has no usable adapter.
#
# Why: Dawn (npm `webgpu`) needs a Vulkan driver. On a machine without a GPU that is
# Mesa's lavapipe; bookworm's Mesa 22.3 is refused by Dawn ("shaderUniform*ArrayDynamicIndexing
# required"), Mesa 25 from bookworm-backports works (see shared/WEBGPU.md).
# On a machine with a real GPU and driver this script does nothing.
# The mirror is taken from apt's own configuration; no host name is written here.
set -euo pipefail

have_adapter() {
  [ -f node_modules/webgpu/package.json ] || return 1
  node --input-type=module -e '
    import { create, globals } from "webgpu";
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const a = await gpu.requestAdapter();
    globalThis.__keep = gpu;           // keep the instance alive (WEBGPU.md)
    process.exit(a ? 0 : 1);' >/dev/null 2>&1
}

if have_adapter; then
  echo "setup-webgpu: a WebGPU adapter is already available"
  exit 0
fi

if [ -r /etc/os-release ]; then . /etc/os-release; fi
case "${ID:-}:${VERSION_CODENAME:-}" in
  debian:bookworm)
    if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
      uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
      if [ -z "$uri" ]; then echo "setup-webgpu: cannot find apt's Debian mirror" >&2; exit 1; fi
      echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/backports.list
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1
    fi ;;
  debian:*|ubuntu:*)
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 ;;
  *)
    echo "setup-webgpu: no recipe for ${PRETTY_NAME:-this OS}; install a Vulkan driver by hand," \
         "or the engine will use its CPU backend" >&2
    exit 0 ;;
esac
echo "setup-webgpu: installed $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers)"
