#!/usr/bin/env bash
# Installs exactly what the demo-model training needs (Debian 12 "bookworm" packages).
# These are NOT part of tokenfab's own setup list: only people who want to re-train the
# demo model need them. Everything runs with the system interpreter /usr/bin/python3.
set -euo pipefail
PACKAGES=(
  bible-kjv-text          # the training text: King James Bible (public domain), compressed
  bible-kjv               # its reader, `bible`, which prints the plain text
  python3-torch           # PyTorch 1.13 (CPU)
  libopenblas0-pthread    # fast BLAS for it: Debian torch falls back to reference BLAS (~20x slower)
  python3-sentencepiece   # tokenizer training
  python3-numpy
  python3-matplotlib      # loss-curve plot
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
/usr/bin/python3 -c 'import torch, sentencepiece, numpy, matplotlib; print("torch", torch.__version__, "sentencepiece", sentencepiece.__version__)'
