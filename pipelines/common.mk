# common.mk -- the variables and stages that every experiment shares.
# Included by the other recipes; see README.md for how to run them.
ifndef COMMON_MK
COMMON_MK = 1

SHELL = /bin/bash
.SHELLFLAGS = -eo pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BIN ?= $(TOP)/cmd
export PATH := $(BIN):$(PATH)

# the model studied (fine-tuned), and the pre-trained one for comparisons
MODEL ?= $(TOP)/samples/ka-model
BASE_MODEL ?= $(MODEL)
TASK ?= RTE
GLUE_DIR ?= glue
SPLIT ?= dev
DATA ?= $(GLUE_DIR)/$(TASK)/$(SPLIT).tsv
# examples, as in the paper
N ?= 1000
SEED ?= 1
# tokens per example; empty: 128, or fewer when the model has fewer positions
MAXLEN ?=
OUT ?= out/$(TASK)
# how ablate disables: uniform, zero
MODE ?= uniform
# attention kept on disk at half size
ATTN_DTYPE ?= f16
# > 1: model stages through GNU parallel
JOBS ?= 1
# with JOBS: spread over the machines of this GNU parallel file
SSHLOGINFILE ?=
# with JOBS: the size of the pieces of the stream each job takes
PARBLOCK ?= 1M

# $(call shard,COMMAND): run COMMAND on the token records of stdin, split
# across $(JOBS) GNU parallel jobs when JOBS > 1 (records travel as JSON
# lines, one a line, and come back in order), else as it is.
ifeq ($(strip $(JOBS)),1)
shard = $(1)
else
shard = { recs -t | parallel --pipe --keep-order --block $(PARBLOCK) \
	-j $(strip $(JOBS)) \
	$(if $(strip $(SSHLOGINFILE)),--sshloginfile $(SSHLOGINFILE) --workdir .) \
	'recs -r | $(1)'; }
endif

$(OUT):
	mkdir -p $@

# The examples studied: up to N rows of the task's split, sampled with SEED.
$(OUT)/tokens.mp: $(DATA) | $(OUT)
	tokenize -m $(MODEL) -t $(TASK) $(if $(MAXLEN),--max-len $(MAXLEN)) \
	    --sample $(N) --seed $(SEED) $(DATA) >$@

# Attention of the studied and of the base model on those examples.
$(OUT)/attn.mp: $(OUT)/tokens.mp
	$(call shard,encode -m $(MODEL) -a --attn-dtype $(ATTN_DTYPE)) <$< >$@

$(OUT)/attn-base.mp: $(OUT)/tokens.mp
	$(call shard,encode -m $(BASE_MODEL) -a --attn-dtype $(ATTN_DTYPE)) <$< >$@

endif
