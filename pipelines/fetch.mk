# fetch.mk -- download what a real study needs, where a network exists:
# bert-base-uncased, its GLUE fine-tunes, and the GLUE data.
#
#	make -f pipelines/fetch.mk [FETCH_DIR=.] [TASKS="MRPC RTE ..."]
#
# Files land under FETCH_DIR as models/NAME/ and glue/TASK/.  Each file is
# checked against pipelines/SHA256SUMS where that lists it (a mismatch
# fails the recipe and removes the file); the sums of everything fetched
# are written to FETCH_DIR/SHA256SUMS.fetched, to pin them for later runs.
SHELL = /bin/bash
.SHELLFLAGS = -eo pipefail -c
.DELETE_ON_ERROR:

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
FETCH_DIR ?= .
TASKS ?= MRPC STS-B SST-2 QQP RTE QNLI MNLI
HUB ?= https://huggingface.co
GLUE_URL ?= https://dl.fbaipublicfiles.com/glue/data
SENTEVAL_URL ?= https://dl.fbaipublicfiles.com/senteval/senteval_data
# Fine-tuned bert-base-uncased checkpoints on the hub, by task.
FT_MRPC = textattack/bert-base-uncased-MRPC
FT_STS-B = textattack/bert-base-uncased-STS-B
FT_SST-2 = textattack/bert-base-uncased-SST-2
FT_QQP = textattack/bert-base-uncased-QQP
FT_RTE = textattack/bert-base-uncased-RTE
FT_QNLI = textattack/bert-base-uncased-QNLI
FT_MNLI = textattack/bert-base-uncased-MNLI
CURL = curl -fL --retry 3 -o

D = $(FETCH_DIR)
BASE_FILES = $(addprefix $(D)/models/bert-base-uncased/,config.json \
	model.safetensors vocab.txt)
FT_FILES = $(foreach t,$(TASKS),$(addprefix $(D)/models/bert-$(t)/, \
	config.json pytorch_model.bin vocab.txt))
GLUE_FILES = $(foreach t,$(TASKS),$(D)/glue/$(t)/dev.tsv)

fetch: $(BASE_FILES) $(FT_FILES) $(GLUE_FILES)
	cd $(D) && sha256sum $(patsubst $(D)/%,%,$^) >SHA256SUMS.fetched
	@echo "fetch: done; sums in $(D)/SHA256SUMS.fetched"

# check FILE: against pipelines/SHA256SUMS when it lists the file.
check = sum=$$(awk -v f="$(patsubst $(D)/%,%,$(1))" '$$2 == f { print $$1 }' \
	$(TOP)/pipelines/SHA256SUMS); \
	if [ -n "$$sum" ]; then echo "$$sum  $(1)" | sha256sum -c --quiet - || \
	{ rm -f $(1); exit 1; }; fi

$(D)/models/bert-base-uncased/%:
	mkdir -p $(@D)
	$(CURL) $@ $(HUB)/bert-base-uncased/resolve/main/$*
	$(call check,$@)

# One rule per file name: a pattern rule with several targets would be one
# recipe making them all.
define ftrule
$$(D)/models/bert-%/$(1):
	mkdir -p $$(@D)
	$$(CURL) $$@ $$(HUB)/$$(FT_$$*)/resolve/main/$(1)
	$$(call check,$$@)
endef
$(foreach f,config.json pytorch_model.bin vocab.txt,$(eval $(call ftrule,$(f))))

# MRPC is not in the GLUE archives: its dev set is built, as GLUE's own
# download script builds it, from the MSR paraphrase corpus and the dev ids.
$(D)/glue/MRPC/dev.tsv:
	mkdir -p $(@D)
	$(CURL) $(@D)/msr_train.txt $(SENTEVAL_URL)/msr_paraphrase_train.txt
	$(CURL) $(@D)/dev_ids.tsv $(GLUE_URL)/mrpc_dev_ids.tsv
	printf '\357\273\277Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n' >$@
	awk -F '\t' 'NR == FNR { dev[$$1 "\t" $$2] = 1; next } \
	    FNR > 1 && (($$2 "\t" $$3) in dev)' \
	    $(@D)/dev_ids.tsv $(@D)/msr_train.txt | tr -d '\r' >>$@
	$(call check,$@)

$(D)/glue/%/dev.tsv:
	mkdir -p $(D)/glue
	$(CURL) $(D)/glue/$*.zip $(GLUE_URL)/$*.zip
	cd $(D)/glue && unzip -o -q $*.zip && rm -f $*.zip
	[ -f $@ ] || cp $(D)/glue/$*/dev_matched.tsv $@
	$(call check,$@)

.PHONY: fetch
