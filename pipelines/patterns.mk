# patterns.mk -- the share of each attention pattern (Kovaleva et al.,
# Figure 2): every head of every example classified, then counted.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f patterns.mk` is this one.
.DEFAULT_GOAL := patterns

patterns: $(OUT)/patterns.tsv $(OUT)/patterns.png $(OUT)/patterns.svg

# Every head of every example with its pattern and features, without the
# maps (the attention stays in attn.mp).
$(OUT)/heads.mp: $(OUT)/attn.mp
	attend-dump $< | classify-pattern | \
	    recs -t -k id,label,layer,head,pattern,diag_prev,diag_self,diag_next,special,topk,block,entropy | \
	    recs -r >$@

$(OUT)/patterns.tsv: $(OUT)/heads.mp
	classify-pattern -s $< >$@

$(OUT)/patterns.%: $(OUT)/heads.mp
	classify-pattern -s -p $@ $< >/dev/null

.PHONY: patterns
