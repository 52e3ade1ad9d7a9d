#!/usr/bin/env bash
# Train vidstyle's six built-in styles, as they were trained for the release.
#
#   ASSETS=../shared/assets OUT=out/builtin pipelines/train_builtin.sh      # then copy OUT/*.vstyle into
#                                                                           # vidstyle/models/builtin_styles/
#   ... HARD_PHOTOS=out/hard_train pipelines/train_builtin.sh               # and stage two for wave and wreck:
#                                                                           # copy OUT/hard/*.vstyle over them
#
# Each built-in is a *style code* for the shipped arbitrary-style network (Ghiasi et al. 2017, Magenta's
# Apache-2.0 weights, `vidstyle/models/arbitrary.py`): `vidstyle train-code` starts from the code the network's
# style predictor reads off the painting and optimises it with perceptual losses, at the scale videos are
# rendered at (photos and the painting's Gram targets at 480 px on the long side, CROP-pixel crops). The
# network's weights are not changed, so built-ins blend with paintings and with each other. Photos: BSDS500
# train_* and val_* (test_* stays out, for bench/style_quality.py). The reference networks in
# ../shared/assets/reference-styles are never used here: they are only a yardstick.
# A run that finds a checkpoint (OUT/NAME.vstyle.ckpt) resumes it. On a GPU, raise STEPS, BATCH and CROP.
# Each .vstyle records the exact command that made it (`vidstyle styles show NAME`).
set -euo pipefail
ASSETS=${ASSETS:-../shared/assets}
PHOTOS=${PHOTOS:-$ASSETS/photos/bsds500}
PAINTINGS=${PAINTINGS:-$ASSETS/styles}
VGG=${VGG:-$ASSETS/weights/vgg16-imagenet-features-to-relu4_3.pth}
OUT=${OUT:-out/builtin}
STEPS=${STEPS:-150}
BATCH=${BATCH:-2}
CROP=${CROP:-320}
PHOTO_SIDE=${PHOTO_SIDE:-480}
LR=${LR:-0.05}
TV_WEIGHT=${TV_WEIGHT:-10}
STYLES=${STYLES:-"muse udnie wave rain-princess scream wreck"}
VIDSTYLE=${VIDSTYLE:-vidstyle}
mkdir -p "$OUT"

# name | painting file | title | artist | content weight | Laplacian weight | style weight (CONTENT_WEIGHT,
# LAPLACIAN_WEIGHT and STYLE_WEIGHT override them for every style)
# Content weight 1 painted texture over the subject for wave, scream and wreck (structure 0.70-0.78x the
# reference's at 480 px, with the 192-px crops of the first recipe); 3 keeps it. Crops: 192 px (100 steps)
# left udnie and scream 1.55x and 1.29x the reference's style distance on video frames at 480 px; 320 px
# (150 steps) brought them to 1.22x and 0.92x, all six within the bar at 480 and 720 px
# (bench/style_quality.py, README "The built-in styles").
# Wreck, far closer to its painting than the reference at 3, takes 8: its structure on the BSDS photos rose
# from 0.74x to 0.93-0.94x the reference's, still 0.58-0.82x its distance. Tried and not kept: rain-princess
# at 3 (photos met at 480 px, but video frames at 720 px went to 1.26x the distance) and scream at 5 (no
# longer closer than the reference on video frames, photos at 480 px still 0.87x).
# The Laplacian loss (train-code --laplacian-weight, Li et al. 2017) keeps the subject's edges at 4-px blocks
# and leaves finer strokes free: the better trade where content weight ran out. On 4 BSDS test photos,
# rain-princess at 0.5 reached 0.92-0.98x the reference's structure (0.68-0.78x before, on 2 photos), closer to the
# painting than the reference on video frames. udnie at 0.5 reached 0.93x on photos but 1.28x the distance
# on video frames at 480 px; style weight 30 brings that to 1.23x, photos 0.87x (480) and 0.91x (720) on those
# 4 photos, 0.93x and 0.95x on the bench's default 8. Resumed to 300 steps it moved the wrong way (0.84x on the
# 4 photos at 480 px, 1.22x the distance): longer runs add texture, not structure.
# scream needs both: content 4 and Laplacian 2 meet the bar on photos (0.93x, 0.99x) and video frames (1.04-1.08x
# the distance); content 1 with Laplacian 0.5 washed its colours out, content 3 with Laplacian 1 kept 0.87x.
catalogue() {
cat <<'ROWS'
muse|la_muse.jpg|La Muse (1935)|Pablo Picasso|1|0|20
udnie|udnie.jpg|Udnie (1913)|Francis Picabia|1|0.5|30
wave|wave.jpg|The Great Wave off Kanagawa (c. 1831)|Katsushika Hokusai|3|0|20
rain-princess|rain_princess.jpg|Rain Princess|Leonid Afremov|1|0.5|20
scream|the_scream.jpg|The Scream (1893)|Edvard Munch|4|2|20
wreck|the_shipwreck_of_the_minotaur.jpg|The Shipwreck of the Minotaur (c. 1810)|J. M. W. Turner|8|0|20
ROWS
}

declare -A ROW
while IFS='|' read -r name rest; do ROW[$name]=$rest; done < <(catalogue)
for name in $STYLES; do
  IFS='|' read -r file title artist weight laplacian style <<< "${ROW[$name]}"
  resume=(); [[ -f $OUT/$name.vstyle.ckpt ]] && resume=(--resume)
  $VIDSTYLE train-code --style-image "$PAINTINGS/$file" --photos "$PHOTOS" --exclude 'test_*' --name "$name" \
    --painting "$title" --artist "$artist" \
    --licence "Apache-2.0 (the network, Magenta); code tuned on BSDS500 photos (non-commercial research licence)" \
    --steps "$STEPS" --batch-size "$BATCH" --crop "$CROP" --photo-side "$PHOTO_SIDE" --lr "$LR" \
    --style-weight "${STYLE_WEIGHT:-$style}" --content-weight "${CONTENT_WEIGHT:-$weight}" --tv-weight "$TV_WEIGHT" \
    --laplacian-weight "${LAPLACIAN_WEIGHT:-$laplacian}" \
    --checkpoint-every 10 --vgg-weights "$VGG" -o "$OUT/$name.vstyle" --overwrite "${resume[@]}" "$@" \
    >> "$OUT/$name.log" 2>&1
  echo "$name: $(tail -n 1 "$OUT/$name.log")"
done

# Stage two (issue 29), for HARD_STYLES: 60 more steps from stage one's code (Adam at 0.03, the same weights) on
# the BSDS train_*/val_* photos plus one dark, flat or cartoon-like transform of each, written by
#   python bench/hard_frames.py --training-dir "$HARD_PHOTOS"
# (600 files; never the hard validation frames). On bench/style_quality.py's hard set at 480 px it took wave
# from 0.99x to 0.91x the reference's style distance and wreck from 0.70x to 0.62x, with the default set
# within the bar (wave 0.83x video, 0.81x photos; wreck 0.61x, 0.52x). The shipped wave and wreck were made
# with --init wave / --init wreck (the stage-one built-ins). Tried and not kept: udnie the same way (hard set
# unchanged at 1.08x, video frames 1.24x -> 1.28x, over the bar) and muse (150 steps from the painting on this
# set: hard 1.32x -> 1.33x; 60 from its code: 1.46x): a code cannot paint strokes inside a flat region (README,
# "The hard set").
HARD_STYLES=${HARD_STYLES:-"wave wreck"}
HARD_PHOTOS=${HARD_PHOTOS:-}
if [[ -n $HARD_PHOTOS ]]; then
  for name in $HARD_STYLES; do
    IFS='|' read -r file title artist weight laplacian style <<< "${ROW[$name]}"
    resume=(); [[ -f $OUT/hard/$name.vstyle.ckpt ]] && resume=(--resume)
    mkdir -p "$OUT/hard"
    $VIDSTYLE train-code --style-image "$PAINTINGS/$file" --photos "$HARD_PHOTOS" --exclude 'test_*' --name "$name" \
      --painting "$title" --artist "$artist" \
      --licence "Apache-2.0 (the network, Magenta); code tuned on BSDS500 photos (non-commercial research licence)" \
      --init "$OUT/$name.vstyle" --steps 60 --batch-size "$BATCH" --crop "$CROP" --photo-side "$PHOTO_SIDE" --lr 0.03 \
      --style-weight "${STYLE_WEIGHT:-$style}" --content-weight "${CONTENT_WEIGHT:-$weight}" --tv-weight "$TV_WEIGHT" \
      --laplacian-weight "${LAPLACIAN_WEIGHT:-$laplacian}" \
      --checkpoint-every 10 --vgg-weights "$VGG" -o "$OUT/hard/$name.vstyle" --overwrite "${resume[@]}" "$@" \
      >> "$OUT/hard/$name.log" 2>&1
    echo "$name (hard stage): $(tail -n 1 "$OUT/hard/$name.log")"
  done
fi
