#!/bin/bash
# slurm-ablate.sh -- an ablation sweep as a Slurm job array, split by head
# sets: task i of the array disables each head of layer i, then layer i
# whole; a last step merges the shards' streams and scores them.
#
#	sbatch --array=1-12 pipelines/slurm-ablate.sh MODEL TOKENS OUTDIR [MODE]
#	sbatch --dependency=afterok:JOBID pipelines/slurm-ablate.sh merge OUTDIR TASK
#
# Without Slurm, the same runs by hand: SLURM_ARRAY_TASK_ID=i for each layer,
# then merge.  A shard is written to a temporary name and renamed when it
# is complete, so a failed task leaves nothing that merge would take.
# score orders the groups and examples itself and seeds each group's
# bootstrap from its name, so the merged table is, byte for byte, the one
# of the same sweep on one machine.
#SBATCH --job-name=headcount-ablate
#SBATCH --cpus-per-task=2
#SBATCH --output=slurm-ablate-%A_%a.log
set -eo pipefail

if [ "$1" = merge ]; then
	out=$2 task=$3
	# the baseline comes from shard 1 only: every shard computed it
	{ cat "$out"/shard-1.mp
	  for f in "$out"/shard-*.mp; do
		[ "$f" = "$out/shard-1.mp" ] && continue
		recs -t "$f" | grep -v '"ablation":"base"' | recs -r
	  done; } >"$out/ablate.mp.part"
	mv "$out/ablate.mp.part" "$out/ablate.mp"
	score -t "$task" "$out/ablate.mp" >"$out/disable.tsv.part"
	mv "$out/disable.tsv.part" "$out/disable.tsv"
	exit 0
fi

model=$1 tokens=$2 out=$3 mode=${4:-uniform}
i=${SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID, or run under sbatch --array}
mkdir -p "$out"
ablate -m "$model" --heads "$i:*" --layers "$i" --mode "$mode" "$tokens" \
    >"$out/shard-$i.mp.part"
mv "$out/shard-$i.mp.part" "$out/shard-$i.mp"
