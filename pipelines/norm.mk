# norm.mk -- attention to [CLS], [SEP] and punctuation by weight and by
# norm (Kobayashi et al. 2020, "Attention is Not Only a Weight"): the same
# attend-stats statistics on every head's attention weights (attn) and on
# its norm-based map (encode --measures norm: weight times the norm of the
# transformed value), each row read as shares (attend-stats -n); the
# table has, per layer, the mean over heads of each.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f norm.mk` is this one.
.DEFAULT_GOAL := norm

norm: $(OUT)/norm.tsv

$(OUT)/norm.mp: $(OUT)/tokens.mp
	$(call shard,encode -m $(MODEL) -a --measures norm \
	    --attn-dtype $(ATTN_DTYPE)) <$< >$@

$(OUT)/norm-weight.tsv: $(OUT)/norm.mp
	attend-stats -k attn $< >$@

$(OUT)/norm-norm.tsv: $(OUT)/norm.mp
	attend-stats -n -k norm $< >$@

# stat, layer, and the means over heads by weight and by norm
$(OUT)/norm.tsv: $(OUT)/norm-weight.tsv $(OUT)/norm-norm.tsv
	{ printf 'stat\tlayer\tweight\tnorm\n'; \
	  awk -F '\t' 'FNR == 1 { f++; next } \
	    $$1 ~ /^to_(cls|sep|punct)$$/ && $$4 != "nan" { \
		k = $$1 "\t" $$2; s[f, k] += $$4; c[f, k]++; keys[k] = 1 } \
	    END { for (k in keys) printf("%s\t%.4f\t%.4f\n", k, \
		c[1, k] ? s[1, k] / c[1, k] : 0, \
		c[2, k] ? s[2, k] / c[2, k] : 0) }' $^ | \
	  sort -t "$$(printf '\t')" -k1,1 -k2,2n; } >$@.part
	mv $@.part $@

.PHONY: norm
