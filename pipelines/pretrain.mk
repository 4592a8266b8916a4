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
SAVE ?= 250
LR ?= 1e-3
SEED ?= 1
VOCAB_SIZE ?= 8000
DEV ?= 402
# whole-word masking and next-sentence pairs, as BERT's later releases
PTFLAGS ?= --wwm --nsp

.DEFAULT_GOAL := pretrain
pretrain: $(OUT)/done $(OUT)/accuracy.tsv

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

# masked-token loss and accuracy of every checkpoint on the held-out text
$(OUT)/accuracy.tsv: $(OUT)/done $(OUT)/dev.tok
	for d in $$(ls -d $(OUT)/ckpt-* | sort -t- -k2 -n); do \
	    pretrain --eval --resume $$d -o $(OUT) $(OUT)/dev.tok; \
	done >$@

.PHONY: pretrain
