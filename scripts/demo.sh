#!/usr/bin/env bash
# The README's main command (`make demo`): set up .venv, generate a synthetic MMS-like archive,
# ingest it into the state table, build the atlas, and serve the dashboard on 127.0.0.1.
# Each stage is skipped when its output already exists, so a second run goes straight to the
# dashboard (delete the folder under data/ to redo a stage).
#
#   scripts/demo.sh [--years 1|10] [--port 5006] [--seed 0] [--data-dir data] [--no-serve]
#                   [--missions mms,cluster,themis]   (a multi-mission archive: docs/missions.md)
set -euo pipefail
cd "$(dirname "$0")/.."

YEARS=1
PORT=5006
SEED=0
SERVE=1
DATA=data
MISSIONS=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --years) YEARS="$2"; shift 2 ;;
        --port) PORT="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        --data-dir) DATA="$2"; shift 2 ;;
        --no-serve) SERVE=0; shift ;;
        --missions) MISSIONS="$2"; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "demo.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
case "$YEARS" in
    1) END=2016-09-01 ;;
    10) END=2025-11-01 ;;  # 2015-09 .. 2025-10, the span of the paper
    *) echo "demo.sh: --years must be 1 or 10, got $YEARS" >&2; exit 2 ;;
esac
START=2015-09-01
SUFFIX=${YEARS}y
MULTI=()
if [[ -n $MISSIONS ]]; then  # missions engineer (issue 13): MMS, Cluster and THEMIS together
    SUFFIX=multi${YEARS}y
    MULTI=(--missions "$MISSIONS")
fi
SYNTH=$DATA/synth${SUFFIX}
STATES=$DATA/states${SUFFIX}
ATLAS=$DATA/atlas${SUFFIX}

t0=$SECONDS
stage() { echo; echo "[demo $(date +%H:%M:%S), +$((SECONDS - t0)) s] $*"; }

stage "1/5 set up .venv (scripts/bootstrap.sh)"
bash scripts/bootstrap.sh
ATLAS_CMD=(.venv/bin/python -m atlas_core)

if [[ -f $SYNTH/archive.json ]]; then
    stage "2/5 synthetic archive: $SYNTH exists, skipped"
else
    stage "2/5 synthetic archive: $YEARS year(s) $START .. $END, seed $SEED -> $SYNTH"
    "${ATLAS_CMD[@]}" synth --out "$SYNTH" --start "$START" --end "$END" --seed "$SEED" \
        "${MULTI[@]}"
fi

if [[ -f $STATES/_provenance.json ]]; then
    stage "3/5 state table: $STATES exists, skipped"
else
    stage "3/5 ingest: $SYNTH -> $STATES (2-min windows, 1-min stride)"
    dst=(); for f in "$SYNTH"/indices/dst_*.wdc; do [[ -e $f ]] && dst+=(--dst "$f"); done
    omni=(); for f in "$SYNTH"/indices/omni2_*.dat; do [[ -e $f ]] && omni+=(--omni "$f"); done
    "${ATLAS_CMD[@]}" ingest --data "$SYNTH" "${dst[@]}" "${omni[@]}" --out "$STATES"
fi

if "${ATLAS_CMD[@]}" serve "$ATLAS" --check >/dev/null 2>&1; then
    stage "4/5 atlas: $ATLAS exists, skipped"
else
    stage "4/5 build: octree, VQ-VAE regimes and atlas -> $ATLAS"
    "${ATLAS_CMD[@]}" build --states "$STATES" --out "$ATLAS" --seed "$SEED"
fi
"${ATLAS_CMD[@]}" serve "$ATLAS" --check

if [[ $SERVE == 1 ]]; then
    stage "5/5 dashboard: http://127.0.0.1:$PORT/  (Ctrl-C stops)"
    exec "${ATLAS_CMD[@]}" serve "$ATLAS" --port "$PORT"
else
    stage "5/5 done (--no-serve); serve it with: .venv/bin/atlas serve $ATLAS"
fi
