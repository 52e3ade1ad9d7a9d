#!/usr/bin/env bash
# Train vidstyle's six built-in styles with `vidstyle train`, as they were trained for the release.
#
#   ASSETS=../shared/assets OUT=vidstyle/builtin_styles pipelines/train_builtin.sh
#
# Photos: BSDS500 train_* and val_* (test_* stays out, for `vidstyle evaluate-style`). The scale is the
# one styles are judged at: photos with their shorter side at 171 px (256 px on the longer side) and the
# painting at 256 px. The defaults are the reduced CPU recipe the shipped styles got (2 cores, no GPU):
# `muse` from random weights, then the other five fine-tuned from it (--init), LANES runs at a time.
# A GPU run should replace them, e.g.
#   STEPS_FIRST=20000 STEPS=20000 INIT= BATCH=8 LANES=6 THREADS=2 pipelines/train_builtin.sh
# Each .vstyle records the exact command that made it (`vidstyle styles` shows it); checkpoints
# (OUT/NAME.vstyle.ckpt) let an interrupted run go on: pass --resume as an extra argument.
set -euo pipefail
ASSETS=${ASSETS:-../shared/assets}
PHOTOS=${PHOTOS:-$ASSETS/photos/bsds500}
PAINTINGS=${PAINTINGS:-$ASSETS/styles}
VGG=${VGG:-$ASSETS/weights/vgg16-imagenet-features-to-relu4_3.pth}
OUT=${OUT:-vidstyle/builtin_styles}
STEPS_FIRST=${STEPS_FIRST:-1000}   # muse, from random weights
STEPS=${STEPS:-450}                # each other style
INIT=${INIT-muse}                  # fine-tune the others from this one ("" = random weights for all)
BATCH=${BATCH:-2}
CROP=${CROP:-128}
PHOTO_SIZE=${PHOTO_SIZE:-171}
STYLE_SIZE=${STYLE_SIZE:-256}
LR=${LR:-2e-3}
WEIGHT=${WEIGHT:-20}
LANES=${LANES:-2}                  # runs at a time after the first
THREADS=${THREADS:-1}              # torch threads per run in the lanes
STYLES=${STYLES:-"muse udnie wave rain-princess scream wreck"}
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

train_one() {  # name file title artist steps [extra args...]
  local name=$1 file=$2 title=$3 artist=$4 steps=$5
  $VIDSTYLE train --style-image "$PAINTINGS/$file" --photos "$PHOTOS" --exclude 'test_*' --name "$name" \
    --painting "$title" --artist "$artist" \
    --licence "MIT (weights); trained on BSDS500 photos (non-commercial research licence)" \
    --steps "$steps" --batch-size "$BATCH" --crop "$CROP" --photo-size "$PHOTO_SIZE" --style-size "$STYLE_SIZE" \
    --lr "$LR" --style-weight "$WEIGHT" --checkpoint-every 50 --vgg-weights "$VGG" \
    -o "$OUT/$name.vstyle" --overwrite "${@:6}" > "$OUT/$name.log" 2>&1
  echo "$name: $(tail -n 1 "$OUT/$name.log")"
}

declare -A ROW
while IFS='|' read -r name rest; do ROW[$name]=$rest; done < <(catalogue)
run() {  # name steps [extra args...]
  local name=$1; IFS='|' read -r file title artist <<< "${ROW[$name]}"
  train_one "$name" "$file" "$title" "$artist" "${@:2}"
}

later=()
for name in $STYLES; do
  if [[ -n $INIT && $name == "$INIT" ]]; then run "$name" "$STEPS_FIRST" "$@"; else later+=("$name"); fi
done
for name in "${later[@]}"; do
  while (( $(jobs -rp | wc -l) >= LANES )); do wait -n; done
  init=(); [[ -n $INIT ]] && init=(--init "$OUT/$INIT.vstyle")
  OMP_NUM_THREADS=$THREADS run "$name" "$STEPS" "${init[@]}" "$@" &
done
wait
