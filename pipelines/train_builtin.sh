#!/usr/bin/env bash
# Train vidstyle's six built-in styles with `vidstyle train`, as they were trained for the release.
#
#   ASSETS=../shared/assets OUT=vidstyle/builtin_styles pipelines/train_builtin.sh
#
# Photos: BSDS500 train_* and val_* (test_* stays out, for `vidstyle evaluate-style`). The scale is the
# one styles are judged at: photos with their shorter side at 171 px (256 px on the longer side) and the
# painting at 256 px. The defaults are the reduced CPU recipe the shipped styles got (2 cores, no GPU):
#   1. base: a La Muse network from random weights with a high style weight (BASE_WEIGHT), which learns
#      to lay down strokes at all;
#   2. all six fine-tuned from it (--init) with style weight WEIGHT, LANES runs at a time; the lower weight
#      brings the photo's shapes back.
# ARCH=lite trains the lite networks instead (half the channels), as NAME-lite from base-lite, with the same
# recipe; `render --arch auto` uses them on CPU.
# A run that finds a checkpoint (OUT/NAME.vstyle.ckpt) resumes it. A GPU run should replace them, e.g.
#   BASE_STEPS=4000 STEPS_MUSE=16000 STEPS=16000 BATCH=8 LANES=6 THREADS=2 pipelines/train_builtin.sh
# Each .vstyle records the exact command that made it (`vidstyle styles show NAME`).
set -euo pipefail
ASSETS=${ASSETS:-../shared/assets}
PHOTOS=${PHOTOS:-$ASSETS/photos/bsds500}
PAINTINGS=${PAINTINGS:-$ASSETS/styles}
VGG=${VGG:-$ASSETS/weights/vgg16-imagenet-features-to-relu4_3.pth}
OUT=${OUT:-vidstyle/builtin_styles}
BASE_STEPS=${BASE_STEPS:-600}
BASE_WEIGHT=${BASE_WEIGHT:-20}
STEPS_MUSE=${STEPS_MUSE:-400}
STEPS=${STEPS:-300}                # each other style
BATCH=${BATCH:-2}
CROP=${CROP:-128}
PHOTO_SIZE=${PHOTO_SIZE:-171}
STYLE_SIZE=${STYLE_SIZE:-256}
LR=${LR:-2e-3}
WEIGHT=${WEIGHT:-8}
LANES=${LANES:-2}                  # runs at a time in step 2
THREADS=${THREADS:-1}              # torch threads per run in the lanes
STYLES=${STYLES:-"muse udnie wave rain-princess scream wreck"}
ARCH=${ARCH:-full}
SUFFIX=""; [[ $ARCH == lite ]] && SUFFIX="-lite"
VIDSTYLE=${VIDSTYLE:-vidstyle}
mkdir -p "$OUT"

# name | painting file | title | artist
catalogue() {
cat <<'ROWS'
muse|la_muse.jpg|La Muse (1935)|Pablo Picasso
udnie|udnie.jpg|Udnie (1913)|Francis Picabia
wave|wave.jpg|The Great Wave off Kanagawa (c. 1831)|Katsushika Hokusai
rain-princess|rain_princess.jpg|Rain Princess|Leonid Afremov
scream|the_scream.jpg|The Scream (1893)|Edvard Munch
wreck|the_shipwreck_of_the_minotaur.jpg|The Shipwreck of the Minotaur (c. 1810)|J. M. W. Turner
ROWS
}

train_one() {  # name file title artist steps weight [extra args...]
  local name=$1$SUFFIX file=$2 title=$3 artist=$4 steps=$5 weight=$6 out=${OUTNAME:-$1}$SUFFIX
  local resume=(); [[ -f $OUT/$out.vstyle.ckpt ]] && resume=(--resume)
  $VIDSTYLE train --style-image "$PAINTINGS/$file" --photos "$PHOTOS" --exclude 'test_*' --name "$name" \
    --painting "$title" --artist "$artist" \
    --licence "MIT (weights); trained on BSDS500 photos (non-commercial research licence)" \
    --steps "$steps" --batch-size "$BATCH" --crop "$CROP" --photo-size "$PHOTO_SIZE" --style-size "$STYLE_SIZE" \
    --lr "$LR" --style-weight "$weight" --arch "$ARCH" --checkpoint-every 50 --vgg-weights "$VGG" \
    -o "$OUT/$out.vstyle" --overwrite "${resume[@]}" "${@:7}" >> "$OUT/$out.log" 2>&1
  echo "$out: $(tail -n 1 "$OUT/$out.log")"
}

declare -A ROW
while IFS='|' read -r name rest; do ROW[$name]=$rest; done < <(catalogue)
run() {  # name steps [extra args...]
  local name=$1; IFS='|' read -r file title artist <<< "${ROW[$name]}"
  train_one "$name" "$file" "$title" "$artist" "${@:2}"
}

[[ -f $OUT/base$SUFFIX.vstyle ]] || OUTNAME=base run muse "$BASE_STEPS" "$BASE_WEIGHT"
for name in $STYLES; do
  while (( $(jobs -rp | wc -l) >= LANES )); do wait -n; done
  steps=$STEPS; [[ $name == muse ]] && steps=$STEPS_MUSE
  OMP_NUM_THREADS=$THREADS run "$name" "$steps" "$WEIGHT" --init "$OUT/base$SUFFIX.vstyle" "$@" &
done
wait
