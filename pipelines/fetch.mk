# fetch.mk -- download what a real study needs, where a network exists:
# bert-base-uncased, its GLUE fine-tunes, and the GLUE data.
#
#	make -f pipelines/fetch.mk [FETCH_DIR=.] [TASKS="MRPC RTE ..."]
#
# Files land under FETCH_DIR as models/NAME/ and glue/TASK/.  Each file is
# checked against pipelines/SHA256SUMS where that lists it (a mismatch
# fails the recipe and removes the file); the sums of everything fetched
# are written to FETCH_DIR/SHA256SUMS.fetched, to pin them for later runs.
# The weights are taken in whatever form the hub serves: model.safetensors,
# else pytorch_model.bin (any torch.save format), else the shards that
# model.safetensors.index.json or pytorch_model.bin.index.json names; each
# models/NAME/weights.fetched lists the files.  `make -f pipelines/fetch.mk
# convert` then writes a model.safetensors into every model directory that
# lacks one (hcmodel convert), to pin one format for a study.
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
MODELS = bert-base-uncased $(foreach t,$(TASKS),bert-$(t))
# The hub repository of models/NAME.
repo = $(if $(filter bert-base-uncased,$(1)),bert-base-uncased,$(FT_$(1:bert-%=%)))
META_FILES = $(foreach m,$(MODELS),$(addprefix $(D)/models/$(m)/, \
	config.json vocab.txt))
WEIGHT_LISTS = $(foreach m,$(MODELS),$(D)/models/$(m)/weights.fetched)
GLUE_FILES = $(foreach t,$(TASKS),$(D)/glue/$(t)/dev.tsv)
HCMODEL ?= $(TOP)/cmd/hcmodel

fetch: $(META_FILES) $(WEIGHT_LISTS) $(GLUE_FILES)
	cd $(D) && sha256sum $(patsubst $(D)/%,%,$(META_FILES) $(GLUE_FILES)) \
	    $$(for w in $(patsubst $(D)/%,%,$(WEIGHT_LISTS)); do \
	    sed "s|^|$${w%/*}/|" $$w; done) >SHA256SUMS.fetched
	@echo "fetch: done; sums in $(D)/SHA256SUMS.fetched"

convert: $(WEIGHT_LISTS)
	for m in $(MODELS); do \
		[ -f $(D)/models/$$m/model.safetensors ] || \
		    $(HCMODEL) convert $(D)/models/$$m || exit 1; \
	done

# check FILE: against pipelines/SHA256SUMS when it lists the file.
check = sum=$$(awk -v f="$(patsubst $(D)/%,%,$(1))" '$$2 == f { print $$1 }' \
	$(TOP)/pipelines/SHA256SUMS); \
	if [ -n "$$sum" ]; then echo "$$sum  $(1)" | sha256sum -c --quiet - || \
	{ rm -f $(1); exit 1; }; fi

# checksh FILE: check, as a shell command on a name known at run time.
checksh = sum=$$(awk -v f="$${1\#$(D)/}" '$$2 == f { print $$1 }' \
	$(TOP)/pipelines/SHA256SUMS); \
	if [ -n "$$sum" ]; then echo "$$sum  $$1" | sha256sum -c --quiet - || \
	{ rm -f $$1; exit 1; }; fi

# One rule per file name: a pattern rule with several targets would be one
# recipe making them all.
define metarule
$$(D)/models/%/$(1): | $$(D)/models/%/.dir
	$$(CURL) $$@ $$(HUB)/$$(call repo,$$*)/resolve/main/$(1)
	$$(call check,$$@)
endef
$(foreach f,config.json vocab.txt,$(eval $(call metarule,$(f))))

$(D)/models/%/.dir:
	mkdir -p $(@D)
	touch $@

# The weights: the first of one file or an index that the hub has, then
# the shards the index names (its weight_map's values).  A 404 is "try the
# next"; the list is written last, so an interrupted fetch starts again.
$(D)/models/%/weights.fetched: | $(D)/models/%/.dir
	got=; \
	for u in $(foreach f,model.safetensors pytorch_model.bin \
	    model.safetensors.index.json pytorch_model.bin.index.json, \
	    $(HUB)/$(call repo,$*)/resolve/main/$(f)); do \
		f=$(@D)/$${u##*/}; \
		if $(CURL) $$f.part $$u 2>/dev/null; then \
			mv $$f.part $$f; got=$${u##*/}; break; \
		fi; \
		rm -f $$f.part; \
	done; \
	[ -n "$$got" ] || { echo "fetch: $(call repo,$*): no" \
	    "model.safetensors, pytorch_model.bin or index on the hub" >&2; \
	    exit 1; }; \
	set -- $(@D)/$$got; $(checksh); list=$$got; \
	case $$got in *.index.json) \
		for s in $$(grep -o '"[^"/]*-of-[0-9]*\.[a-z]*"' \
		    $(@D)/$$got | tr -d '"' | sort -u); do \
			$(CURL) $(@D)/$$s $(HUB)/$(call repo,$*)/resolve/main/$$s; \
			set -- $(@D)/$$s; $(checksh); list="$$list $$s"; \
		done;; \
	esac; \
	printf '%s\n' $$list >$@

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

.PHONY: fetch convert
