# patterns.mk -- the share of each attention pattern (Kovaleva et al.,
# Figure 2): every head of every example classified, then counted.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

patterns: $(OUT)/patterns.tsv $(OUT)/patterns.png $(OUT)/patterns.svg

$(OUT)/heads.mp: $(OUT)/attn.mp
	attend-dump $< | classify-pattern -k id,layer,head,label >$@

$(OUT)/patterns.tsv: $(OUT)/heads.mp
	classify-pattern -s $< >$@

$(OUT)/patterns.%: $(OUT)/heads.mp
	classify-pattern -s -p $@ $< >/dev/null

.PHONY: patterns
