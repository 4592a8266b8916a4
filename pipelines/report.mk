# report.mk -- every experiment of the paper on one task, gathered in one
# Markdown page, $(OUT)/report.md, with its tables and figures.
include $(dir $(lastword $(MAKEFILE_LIST)))patterns.mk
include $(dir $(lastword $(MAKEFILE_LIST)))change.mk
include $(dir $(lastword $(MAKEFILE_LIST)))tokens.mk
include $(dir $(lastword $(MAKEFILE_LIST)))relations.mk
include $(dir $(lastword $(MAKEFILE_LIST)))disable.mk
include $(dir $(lastword $(MAKEFILE_LIST)))norm.mk
# after the recipes included, each of which names its own goal
.DEFAULT_GOAL := report

report: $(OUT)/report.md

$(OUT)/report.md: $(OUT)/patterns.tsv $(OUT)/patterns.png \
    $(OUT)/patterns.svg $(OUT)/change.tsv $(OUT)/tokens.tsv \
    $(OUT)/tokens-base.tsv $(OUT)/relations.tsv $(OUT)/disable.tsv \
    $(OUT)/disable.png $(OUT)/disable.svg $(OUT)/norm.tsv \
    $(TOP)/pipelines/report.sh
	$(TOP)/pipelines/report.sh $(OUT) "$(TASK)" "$(MODEL)" \
	    "$(BASE_MODEL)" "$(N)" "$(SEED)" "$(MODE)" >$@

.PHONY: report
