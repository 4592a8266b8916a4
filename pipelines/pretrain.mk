# pretrain.mk -- pre-train a small BERT from scratch on the King James
# Bible (Debian's bible-kjv-text, public domain; printed by bible-kjv's
# `bible` command), keeping a checkpoint every SAVE steps:
#
#	make -f pipelines/pretrain.mk [OUT=out/pretrain] [STEPS=2000] ...
#
# The last DEV verses (the end of Revelation) are held out: dev.tok, on
# which `pretrain --eval` reports each checkpoint's masked-token accuracy.
SHELL = /bin/bash
.SHELLFLAGS = -eo pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
BIN ?= $(TOP)/cmd
export PATH := $(BIN):$(PATH)

OUT ?= out/pretrain
# the model: layers, hidden, heads, FFN, tokens a sequence
LAYERS ?= 4
HIDDEN ?= 128
HEADS ?= 4
FFN ?= 512
MAXLEN ?= 64
BATCH ?= 32
STEPS ?= 2000
# then go on from ckpt-STEPS to this step (--resume --steps): a second
# schedule, warm from step STEPS's moments, the rate back at
# (MORE - STEPS) / (MORE - warm-up) of its peak, decaying to 0 at MORE;
# MORE = STEPS for one schedule alone
MORE ?= 4000
SAVE ?= 250
LR ?= 1e-3
SEED ?= 1
VOCAB_SIZE ?= 8000
DEV ?= 402
# whole-word masking and next-sentence pairs, as BERT's later releases
PTFLAGS ?= --wwm --nsp

.DEFAULT_GOAL := pretrain
pretrain: $(OUT)/more $(OUT)/accuracy.tsv

# Every verse, one a line, without its reference ("Ge1:1 ").
$(OUT)/kjv.txt:
	@mkdir -p $(OUT)
	bible -f "Gen1:1-Rev22:21" | sed 's/^[^ ]* //' >$@

$(OUT)/train.txt: $(OUT)/kjv.txt
	head -n -$(DEV) $< >$@
$(OUT)/dev.txt: $(OUT)/kjv.txt
	tail -n $(DEV) $< >$@

$(OUT)/vocab.txt: $(OUT)/train.txt
	$(TOP)/pipelines/wpvocab.py $(VOCAB_SIZE) $< >$@

$(OUT)/%.tok: $(OUT)/%.txt $(OUT)/vocab.txt
	tokenize -v $(OUT)/vocab.txt $< >$@

$(OUT)/done: $(OUT)/train.tok $(OUT)/vocab.txt
	pretrain -o $(OUT) -v $(OUT)/vocab.txt -L $(LAYERS) -C $(HIDDEN) \
	    -H $(HEADS) -F $(FFN) -T $(MAXLEN) -B $(BATCH) --steps $(STEPS) \
	    --save-every $(SAVE) --lr $(LR) --seed $(SEED) $(PTFLAGS) \
	    --verbose $< 2>$(OUT)/train.log
	touch $@

$(OUT)/more: $(OUT)/done
	if [ $(MORE) -gt $(STEPS) ]; then \
	    pretrain -o $(OUT) --resume $(OUT)/ckpt-$(STEPS) --steps $(MORE) \
	        --save-every $(SAVE) --verbose $(OUT)/train.tok \
	        2>>$(OUT)/train.log; \
	fi
	touch $@

# masked-token loss and accuracy of every checkpoint on the held-out text
$(OUT)/accuracy.tsv: $(OUT)/more $(OUT)/dev.tok
	for s in $$(ls -d $(OUT)/ckpt-* | sed 's,.*/ckpt-,,' | sort -n); do \
	    pretrain --eval --resume $(OUT)/ckpt-$$s $(OUT)/dev.tok; \
	done >$@

.PHONY: pretrain

# Checkpoints in half precision for samples/ (hcmodel convert -t f16:
# the weights, config.json and vocab.txt, not the trainer's state).
SAMPLE_STEPS ?= 500 1000 4000
SAMPLES ?= $(TOP)/samples
samples: $(foreach s,$(SAMPLE_STEPS),$(SAMPLES)/pretrain-kjv-$(s)/model.safetensors)
$(SAMPLES)/pretrain-kjv-%/model.safetensors: $(OUT)/ckpt-%/model.safetensors
	rm -rf $(SAMPLES)/pretrain-kjv-$*
	hcmodel convert -t f16 $(OUT)/ckpt-$* $(SAMPLES)/pretrain-kjv-$*

.PHONY: samples
