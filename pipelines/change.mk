# change.mk -- how fine-tuning changed each head (Kovaleva et al., Figure
# 5): per head, the cosine of BASE_MODEL's and MODEL's maps on the same
# examples, averaged over them; with the Jensen-Shannon distance beside it.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f change.mk` is this one.
.DEFAULT_GOAL := change

change: $(OUT)/change.tsv

$(OUT)/change.tsv: $(OUT)/attn-base.mp $(OUT)/attn.mp
	rm -rf $(OUT)/change
	attend-compare -j -o $(OUT)/change $^ >$@.part
	mv $@.part $@

.PHONY: change
