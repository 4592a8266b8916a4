# relations.mk -- relation-specific heads (Kovaleva et al., section 4.2,
# Figure 3): for records with annotated token-index pairs (SPANS, a record
# stream or JSON lines with tokens, ids, seg and spans), the largest
# attention over each pair's tokens, averaged per head, in BASE_MODEL.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f relations.mk` is this one.
.DEFAULT_GOAL := relations

SPANS ?= $(TOP)/samples/demo/relations.jsonl

relations: $(OUT)/relations.tsv

$(OUT)/spans.mp: $(SPANS) | $(OUT)
	case $< in *.jsonl|*.json) recs -r $< ;; *) cat $< ;; esac >$@

$(OUT)/attn-spans.mp: $(OUT)/spans.mp
	encode -m $(BASE_MODEL) -a $< >$@

$(OUT)/relations.tsv: $(OUT)/attn-spans.mp
	rm -rf $(OUT)/relations
	attend-stats -o $(OUT)/relations $< | \
	    awk -F '\t' 'NR == 1 || $$1 == "span"' >$@.part
	mv $@.part $@

.PHONY: relations
