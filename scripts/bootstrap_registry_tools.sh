#!/usr/bin/env bash
# Installs the tools of the registry integration tests (tests/harness/oci_registry.py) when they are missing:
# docker-registry (the distribution registry, 2.8 on Debian 12), skopeo (pushes OCI layouts) and htpasswd
# (apache2-utils: bcrypt entries for the registry's Basic auth). As root with apt-get it installs them; otherwise
# it prints exactly what to install and exits 0 (the tests then fail under CI=true, and skip locally).
set -euo pipefail

declare -A package_of=([docker-registry]=docker-registry [skopeo]=skopeo [htpasswd]=apache2-utils)
missing=()
for tool in docker-registry skopeo htpasswd; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "registry tools: docker-registry, skopeo, htpasswd present"
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "registry tools: apt-get install ${missing[*]}"
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  # A fresh machine may have no (or stale) package lists: refresh them once when the first try fails.
  install || { apt-get update -qq && install; }
  exit 0
fi
echo "registry tools missing; install them (Debian/Ubuntu): sudo apt-get install -y ${missing[*]}" >&2
echo "(the registry integration tests fail under CI=true without them)" >&2
