# demo.mk -- every experiment on the bundled samples, for real.  The base
# model is samples/pretrain-kjv-4000, a small BERT that pretrain.mk
# pre-trained on the King James Bible (its heads were learned, not made):
# it is fine-tuned here on the demo task (samples/demo, RTE format), and
# the report of pipelines/report.mk compares the two, with the masked-LM
# accuracy of the three shipped checkpoints and the emergence of their
# patterns (pipelines/emergence.mk).  Beside it, the known-answer check:
# samples/ka-model's constructed heads, each recovered by classify-pattern.
# make demo runs this.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f demo.mk` is this one.
.DEFAULT_GOAL := demo

DEMO_OUT ?= out/demo
KA = $(TOP)/samples/ka-model
KJV = $(TOP)/samples/pretrain-kjv
BASE = $(KJV)-4000
DEMO = $(TOP)/samples/demo
# the shipped checkpoints, by step
KJV_STEPS = 500 1000 4000

demo: $(DEMO_OUT)/known-answer.tsv $(DEMO_OUT)/ft/model.safetensors \
    $(DEMO_OUT)/view.html $(DEMO_OUT)/pretrain.tsv \
    $(DEMO_OUT)/emergence/emergence.png
	$(MAKE) -f $(TOP)/pipelines/report.mk report OUT=$(DEMO_OUT) \
	    MODEL=$(DEMO_OUT)/ft BASE_MODEL=$(BASE) TASK=RTE \
	    DATA=$(DEMO)/dev.tsv N=200 SEED=1 MAXLEN=32 RESAMPLES=200 \
	    SPANS=$(DEMO)/relations-kjv.jsonl
	@echo "demo: the report is $(DEMO_OUT)/report.md"
	@echo "demo: to run the filters by name, put them on PATH:"
	@echo "demo:     export PATH=\"$(BIN):\$$PATH\""
	@echo "demo: or install them: make install PREFIX=\$$HOME/.local" \
	    "(then \$$HOME/.local/bin on PATH)"

$(DEMO_OUT):
	mkdir -p $@

# The known-answer check: each constructed head's pattern, recovered.
$(DEMO_OUT)/known-answer.tsv: | $(DEMO_OUT)
	tokenize -m $(KA) $(TOP)/samples/ka-sentences.txt | encode -m $(KA) -a | \
	    attend-dump | classify-pattern | classify-pattern -s >$@

# Every head of the first dev examples, with its pattern, as one page.
$(DEMO_OUT)/view.html: $(DEMO_OUT)/dev.mp $(DEMO_OUT)/ft/model.safetensors
	encode -m $(DEMO_OUT)/ft -a $(DEMO_OUT)/dev.mp >$(DEMO_OUT)/view.attn
	attend-dump $(DEMO_OUT)/view.attn | classify-pattern >$(DEMO_OUT)/view.pat
	attend-view -p $(DEMO_OUT)/view.pat --max-records 20 -o $@ \
	    $(DEMO_OUT)/view.attn

$(DEMO_OUT)/train.mp: $(DEMO)/train.tsv | $(DEMO_OUT)
	tokenize -m $(BASE) -t RTE --max-len 32 $< >$@

$(DEMO_OUT)/dev.mp: $(DEMO)/dev.tsv | $(DEMO_OUT)
	tokenize -m $(BASE) -t RTE --max-len 32 $< >$@

# A pre-trained model wants a smaller step than the known-answer one did:
# at 3e-4 it reaches about 0.95 on the dev set, at 2e-3 it stays at chance.
$(DEMO_OUT)/ft/model.safetensors: $(DEMO_OUT)/train.mp $(DEMO_OUT)/dev.mp
	finetune -m $(BASE) -o $(DEMO_OUT)/ft --epochs 10 --batch 16 \
	    --lr 3e-4 --seed 1 --dev $(DEMO_OUT)/dev.mp $(DEMO_OUT)/train.mp

# The masked-token accuracy of each shipped checkpoint on held-out verses
# (samples/pretrain-kjv-pairs.txt, which pre-training did not see).
$(DEMO_OUT)/heldout.tok: $(KJV)-pairs.txt | $(DEMO_OUT)
	tr '\t' '\n' <$< | tokenize -m $(BASE) >$@

$(DEMO_OUT)/pretrain.tsv: $(DEMO_OUT)/heldout.tok
	printf 'checkpoint\tstep\tmasked\tloss\taccuracy\n' >$@
	for s in $(KJV_STEPS); do \
	    pretrain --eval --resume $(KJV)-$$s $< | \
	        awk -F'\t' -v s=$$s -v OFS='\t' '{ $$1 = "pretrain-kjv-" s; \
	        $$2 = s; print }'; \
	done >>$@

# The emergence of the patterns over the three checkpoints: emergence.mk
# on a directory of them by step, with the held-out pairs.
$(DEMO_OUT)/emergence/emergence.png: $(KJV)-pairs.txt | $(DEMO_OUT)
	mkdir -p $(DEMO_OUT)/kjv
	for s in $(KJV_STEPS); do \
	    ln -sfn $(KJV)-$$s $(DEMO_OUT)/kjv/ckpt-$$s; \
	done
	$(MAKE) -f $(TOP)/pipelines/emergence.mk CKPT=$(DEMO_OUT)/kjv \
	    OUT=$(DEMO_OUT)/emergence PAIRSFILE=$< PAIRS=100

.PHONY: demo
