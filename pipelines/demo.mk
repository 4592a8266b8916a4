# demo.mk -- every experiment on the bundled samples, for real: the
# known-answer model (samples/ka-model) is the base model, fine-tuned here on
# the demo task (samples/demo, RTE format, in its vocabulary); then the
# report of pipelines/report.mk compares the two.  make demo runs this.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
# common.mk defines rules too: the goal of `make -f demo.mk` is this one.
.DEFAULT_GOAL := demo

DEMO_OUT ?= out/demo
KA = $(TOP)/samples/ka-model
DEMO = $(TOP)/samples/demo

demo: $(DEMO_OUT)/known-answer.tsv $(DEMO_OUT)/ka-ft/model.safetensors \
    $(DEMO_OUT)/view.html
	$(MAKE) -f $(TOP)/pipelines/report.mk report OUT=$(DEMO_OUT) \
	    MODEL=$(DEMO_OUT)/ka-ft BASE_MODEL=$(KA) TASK=RTE \
	    DATA=$(DEMO)/dev.tsv N=200 SEED=1 MAXLEN=32 RESAMPLES=200
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
$(DEMO_OUT)/view.html: $(DEMO_OUT)/dev.mp $(DEMO_OUT)/ka-ft/model.safetensors
	encode -m $(DEMO_OUT)/ka-ft -a $(DEMO_OUT)/dev.mp >$(DEMO_OUT)/view.attn
	attend-dump $(DEMO_OUT)/view.attn | classify-pattern >$(DEMO_OUT)/view.pat
	attend-view -p $(DEMO_OUT)/view.pat --max-records 20 -o $@ \
	    $(DEMO_OUT)/view.attn

$(DEMO_OUT)/train.mp: $(DEMO)/train.tsv | $(DEMO_OUT)
	tokenize -m $(KA) -t RTE --max-len 32 $< >$@

$(DEMO_OUT)/dev.mp: $(DEMO)/dev.tsv | $(DEMO_OUT)
	tokenize -m $(KA) -t RTE --max-len 32 $< >$@

$(DEMO_OUT)/ka-ft/model.safetensors: $(DEMO_OUT)/train.mp $(DEMO_OUT)/dev.mp
	finetune -m $(KA) -o $(DEMO_OUT)/ka-ft --epochs 8 --batch 16 \
	    --lr 2e-3 --seed 1 --dev $(DEMO_OUT)/dev.mp $(DEMO_OUT)/train.mp

.PHONY: demo
