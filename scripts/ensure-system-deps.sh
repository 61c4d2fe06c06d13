#!/usr/bin/env bash
# Debian tools the test suite uses as independent oracles, and the headless Chromium the UI test
# screenshots the Dagster UI with (fonts so its pages render text); installed only when missing.
set -euo pipefail
needed=()
for tool in bcftools:bcftools tabix:tabix bgzip:tabix seqkit:seqkit samtools:samtools; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || needed+=("${tool##*:}")
done
for file in /usr/bin/chromium:chromium \
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core; do
  [ -e "${file%%:*}" ] || needed+=("${file##*:}")
done
[ ${#needed[@]} -eq 0 ] && exit 0
mapfile -t packages < <(printf '%s\n' "${needed[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${packages[*]}: run 'sudo apt-get install -y ${packages[*]}' (needs root)" >&2
  exit 1
fi
echo "installing ${packages[*]} from Debian"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
