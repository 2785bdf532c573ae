#!/bin/bash
# Submits the sweep's job array (slurm-sweep.sbatch), then the merge
# (slurm-merge.sbatch), which Slurm starts only after every task of the
# array has succeeded (--dependency=afterok). Run from the repository's
# root (the sweep file's path is relative to it); extra arguments go to
# both sbatch calls (--export=ALL,RESULTS=/shared/borgsim, a partition…).
#
#   scenarios/sweeps/cluster/slurm-submit.sh
set -euo pipefail

here=$(dirname "$0")
# --parsable prints "jobid" or "jobid;cluster".
array=$(sbatch --parsable "$@" "$here/slurm-sweep.sbatch")
array=${array%%;*}
sbatch "$@" --dependency=afterok:"$array" "$here/slurm-merge.sbatch"
