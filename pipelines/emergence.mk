# emergence.mk -- when do the attention patterns appear during
# pre-training?  The patterns experiment (patterns.mk's chain: encode -a |
# attend-dump | classify-pattern) on every checkpoint that pretrain.mk
# kept, on the same held-out sentence pairs, then the share of each
# pattern against the step (stacked bars, one a checkpoint, with a line
# for the attention mass on [CLS] and [SEP] columns) and the attention
# that [CLS] and [SEP] receive (attend-stats' to_cls, to_sep, averaged
# over the heads):
#
#	make -f pipelines/emergence.mk [CKPT=out/pretrain] [OUT=out/emergence]
#	    [PAIRSFILE=pairs.txt] [PAIRS=100]
#
# writes $(OUT)/emergence.tsv, emergence.png and emergence.svg, and
# special.tsv (step, mean to_cls, mean to_sep, heads most on [SEP]).
SHELL = /bin/bash
.SHELLFLAGS = -eo pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BIN ?= $(TOP)/cmd
export PATH := $(BIN):$(PATH)

CKPT ?= out/pretrain
OUT ?= out/emergence
# held-out verses, paired in order (A TAB B), as many pairs as this
PAIRS ?= 100
STEPS := $(sort $(patsubst $(CKPT)/ckpt-%,%,$(wildcard $(CKPT)/ckpt-*)))
# numerically
STEPS := $(shell printf '%s\n' $(STEPS) | sort -n)

.DEFAULT_GOAL := emergence
emergence: $(OUT)/emergence.tsv $(OUT)/emergence.png \
    $(OUT)/emergence.svg $(OUT)/special.tsv

# or, with PAIRSFILE, pairs of that file (A TAB B a line)
PAIRSFILE ?=
$(OUT)/pairs.txt: $(if $(PAIRSFILE),$(PAIRSFILE),$(CKPT)/dev.txt)
	@mkdir -p $(OUT)
	$(if $(PAIRSFILE),cat,paste - -) <$< | head -n $(PAIRS) >$@

# tokenized once, cut to the checkpoints' positions; each checkpoint's
# copy carries its step, which every record after encode keeps
$(OUT)/pairs.tok: $(OUT)/pairs.txt
	tokenize -m $(CKPT)/ckpt-$(lastword $(STEPS)) $< >$@

$(OUT)/heads-%.mp: $(OUT)/pairs.tok $(CKPT)/ckpt-%/model.safetensors
	recs $< | sed 's/^{/{"step":$*,/' | recs -r | \
	    encode -m $(CKPT)/ckpt-$* -a | attend-dump | classify-pattern >$@

$(OUT)/stats-%.tsv: $(OUT)/pairs.tok $(CKPT)/ckpt-%/model.safetensors
	encode -m $(CKPT)/ckpt-$* -a $< | attend-stats >$@

HEADS = $(foreach s,$(STEPS),$(OUT)/heads-$(s).mp)
STATS = $(foreach s,$(STEPS),$(OUT)/stats-$(s).tsv)

$(OUT)/emergence.tsv: $(HEADS)
	cat $^ | classify-pattern -s --by step >$@

$(OUT)/emergence.png $(OUT)/emergence.svg: $(OUT)/emergence.%: $(HEADS)
	cat $^ | classify-pattern -s --by step -p $@ >/dev/null

$(OUT)/special.tsv: $(STATS)
	printf 'step\tto_cls\tto_sep\tsep_heads\n' >$@
	for s in $(STEPS); do \
	    awk -v s=$$s -F'\t' '$$1 == "to_cls" { c += $$4; n++ } \
	        $$1 == "to_sep" { p += $$4; if ($$4 > 0.5) h++ } \
	        END { printf "%d\t%.4f\t%.4f\t%d\n", s, c / n, p / n, h }' \
	        $(OUT)/stats-$$s.tsv; \
	done >>$@

.PHONY: emergence
