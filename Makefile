# pdemet: `make demo` and `make test` do all setup on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= results/default
SCENARIO ?= pdemet/scenarios/default.toml

.PHONY: install demo test meshes bench repro experiments clean

install: $(STAMP)

# Python >= 3.12 is required by the DOLFINx wheel; scripts/find_python.sh picks one or explains.
$(STAMP): pyproject.toml
	@test -x $(PY) || $$(sh scripts/find_python.sh) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[fem,test]'
	@touch $(STAMP)

demo: install
	$(VENV)/bin/pdemet run $(SCENARIO) --out $(OUT) --overwrite
	$(VENV)/bin/pdemet render $(OUT)

test: install
	$(PY) -m pytest -q tests

meshes: install
	$(PY) scripts/make_meshes.py --out meshes

# Reproduce the published numbers and the paper's experiments on seed ensembles, then rebuild
# docs/published_vs_model.md. The default scenario: 8 mice, the first FINER of them also one level finer (every
# organ) and the first SITES_FINER with only the sites finer (the primary as shipped; results in
# <name>-finer-sites). The dish: 8 dishes per arm, the first ARMS_FINER finer. The tail vein: 8 mice per arm, the
# first TAIL_VEIN_FINER finer, their aggregate arm at 1/8 of the dose (the same first clusters at both
# resolutions: a whole finer aggregate mouse runs ~1.5 h here; experiment_tail_vein.py --finer-dose). The
# controls and K14 variants and therapy: VARIANT_SEEDS / THERAPY_SEEDS mice, the first VARIANT_FINER /
# THERAPY_FINER of them with the sites finer. Two colors and prediction, which vary the primary's mixing:
# VARIANT_SEEDS / PREDICTION_SEEDS mice, the first VARIANT_FINER / PREDICTION_FINER at both finer levels (every
# organ: the primary's clone borders too; sites only).
# A finer ensemble of one seed keeps one core busy: on 2 cores a second finer seed costs no wall time.
# The defaults are what docs/published_vs_model.md was made with (~6 h on 2 cores, most of it the finer runs;
# CONTROLS empty: every control); more is e.g. `make repro FINER=8 VARIANT_FINER=2 PREDICTION_GRID=` (empty: the
# full grid, with α = 2). Runs (tables only: simulation.write_fields = false) are kept in results/repro/runs and
# shared by the scripts, so a re-run adds only what is missing (delete that folder after changing the code).
FINER ?= 2
SITES_FINER ?= 2
ARMS_FINER ?= 1
TAIL_VEIN_FINER ?= 1
VARIANT_SEEDS ?= 8
VARIANT_FINER ?= 1
PREDICTION_SEEDS ?= 8
PREDICTION_FINER ?= 1
THERAPY_SEEDS ?= 8
THERAPY_FINER ?= 1
# the prediction maps' grid (empty: the script's full grid, sector repeats 8 4 2 1 × α 4 3 2; α = 2 runs hold ~9 GiB each)
PREDICTION_GRID ?= --repeats 8 4 2 1 --exponents 4 3
CONTROLS ?=
REPRO_DEFAULT := repro_polyclonal experiment_lesion_sizes repro_organs
SITES = --finer sites --finer-seeds
# (run from scripts/) each variant script at the shipped resolution (two colors: its first seeds every organ
# finer too), then its first seeds with the sites finer
EXPERIMENTS = ../$(PY) experiment_tail_vein.py --finer-seeds $(TAIL_VEIN_FINER) && \
	../$(PY) experiment_ex_vivo.py --finer-seeds $(ARMS_FINER) && \
	for f in "--finer-seeds 0" "$(SITES) $(VARIANT_FINER)"; do \
		../$(PY) experiment_controls.py --seeds $(VARIANT_SEEDS) $$f $(if $(CONTROLS),--only $(CONTROLS)) || exit 1; done && \
	for f in "--finer-seeds $(VARIANT_FINER)" "$(SITES) $(VARIANT_FINER)"; do \
		../$(PY) experiment_two_color.py --seeds $(VARIANT_SEEDS) $$f || exit 1; done

repro: install
	cd scripts && for s in $(REPRO_DEFAULT); do ../$(PY) $$s.py --finer-seeds $(FINER) || exit 1; \
		../$(PY) $$s.py $(SITES) $(SITES_FINER) || exit 1; done && \
		for s in repro_clusters_vs_singles repro_aceto; do ../$(PY) $$s.py || exit 1; done && \
		$(EXPERIMENTS) && \
		for f in "--finer-seeds 0" "$(SITES) $(THERAPY_FINER)"; do \
			../$(PY) repro_therapy.py --seeds $(THERAPY_SEEDS) $$f || exit 1; done && \
		for f in "--finer-seeds $(PREDICTION_FINER)" "$(SITES) $(PREDICTION_FINER)"; do \
			../$(PY) repro_prediction.py --seeds $(PREDICTION_SEEDS) $$f $(PREDICTION_GRID) || exit 1; done
	$(PY) scripts/published_table.py

# The experiments of Cheung et al. 2016 alone (docs/experiments.md; their runs are shared with `make repro`).
experiments: install
	cd scripts && $(EXPERIMENTS)

bench: install
	$(PY) -m pip install -q -e '.[fem,test,bench]'
	$(VENV)/bin/pdemet bench --out bench

clean:
	rm -rf $(VENV) results bench .pytest_cache
