# disable.mk -- disabling heads and layers (Kovaleva et al., Figures 8 and
# 9): every single head and every whole layer of MODEL disabled in turn
# (MODE: uniform as in the paper, or zero), scored against the baseline
# with a paired bootstrap.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f disable.mk` is this one.
.DEFAULT_GOAL := disable

RESAMPLES ?= 1000

disable: $(OUT)/disable.tsv $(OUT)/disable.png $(OUT)/disable.svg

$(OUT)/ablate.mp: $(OUT)/tokens.mp
	$(call shard,ablate -m $(MODEL) --heads all --layers all \
	    --mode $(MODE)) <$< >$@

$(OUT)/disable.tsv: $(OUT)/ablate.mp
	score -t $(TASK) --seed $(SEED) --resamples $(RESAMPLES) $< >$@

$(OUT)/disable.%: $(OUT)/ablate.mp
	score -t $(TASK) --seed $(SEED) --resamples $(RESAMPLES) \
	    --heatmap $@ $< >/dev/null

.PHONY: disable
