# tokens.mk -- attention to token types (Kovaleva et al., Figures 6 and 7):
# to [CLS], [SEP], punctuation and word classes (CLASSES, name=file pairs),
# and from [CLS] in the last layer, before and after fine-tuning.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f tokens.mk` is this one.
.DEFAULT_GOAL := tokens

CLASSES ?= negation=$(TOP)/samples/negation.txt
CLASS_OPTS = $(foreach c,$(CLASSES),-c $(c))

tokens: $(OUT)/tokens.tsv $(OUT)/tokens-base.tsv

$(OUT)/tokens.tsv: $(OUT)/attn.mp
	rm -rf $(OUT)/tokens
	attend-stats $(CLASS_OPTS) -o $(OUT)/tokens $< >$@.part
	mv $@.part $@

$(OUT)/tokens-base.tsv: $(OUT)/attn-base.mp
	rm -rf $(OUT)/tokens-base
	attend-stats $(CLASS_OPTS) -o $(OUT)/tokens-base $< >$@.part
	mv $@.part $@

.PHONY: tokens
