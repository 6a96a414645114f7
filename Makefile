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
# docs/published_vs_model.md. The default scenario and the injection arms (tail vein, dish): 8 mice each, the
# first FINER (dish: ARMS_FINER, tail vein: TAIL_VEIN_FINER) of them also one level finer, and for the default scenario the first SITES_FINER with
# only the sites finer (the primary as shipped; results in <name>-finer-sites). The variants (controls, two
# colors): VARIANT_SEEDS mice, the first VARIANT_FINER also finer; therapy: THERAPY_SEEDS mice; prediction:
# PREDICTION_SEEDS mice.
# The defaults are what docs/published_vs_model.md was made with (~2.5 h on 2 cores; CONTROLS empty: every
# control); more is e.g. `make repro FINER=8 ARMS_FINER=8 VARIANT_FINER=2 PREDICTION_GRID=`
# (empty: the full grid). Runs (tables only: simulation.write_fields = false) are kept in results/repro/runs and shared by the scripts, so a re-run adds
# only what is missing (delete that folder after changing the code).
FINER ?= 2
SITES_FINER ?= 2
ARMS_FINER ?= 1
# a tail-vein aggregate mouse with 6 µm sites runs for hours here (not at day 3 of 21 after 27 min): none by default
TAIL_VEIN_FINER ?= 0
VARIANT_SEEDS ?= 8
VARIANT_FINER ?= 0
PREDICTION_SEEDS ?= 8
THERAPY_SEEDS ?= 8
# the prediction maps' grid (empty: the script's full grid, sector repeats 8 4 2 1 × α 4 3 2; α = 2 runs hold ~9 GiB each)
PREDICTION_GRID ?= --repeats 1 --exponents 4 3
CONTROLS ?=
REPRO_DEFAULT := repro_polyclonal experiment_lesion_sizes repro_organs
VARIANT_ARGS = --seeds $(VARIANT_SEEDS) --finer-seeds $(VARIANT_FINER)
# (run from scripts/)
EXPERIMENTS = ../$(PY) experiment_tail_vein.py --finer-seeds $(TAIL_VEIN_FINER) && \
	../$(PY) experiment_ex_vivo.py --finer-seeds $(ARMS_FINER) && \
	../$(PY) experiment_controls.py $(VARIANT_ARGS) $(if $(CONTROLS),--only $(CONTROLS)) && \
	../$(PY) experiment_two_color.py $(VARIANT_ARGS)

repro: install
	cd scripts && for s in $(REPRO_DEFAULT); do ../$(PY) $$s.py --finer-seeds $(FINER) || exit 1; \
		../$(PY) $$s.py --finer-seeds $(SITES_FINER) --finer sites --runs ../results/repro/runs \
			--out ../results/repro/$${s#*_}-finer-sites || exit 1; done && \
		for s in repro_clusters_vs_singles repro_aceto; do ../$(PY) $$s.py || exit 1; done && \
		$(EXPERIMENTS) && \
		../$(PY) repro_therapy.py --seeds $(THERAPY_SEEDS) --finer-seeds 0 && \
		../$(PY) repro_prediction.py --seeds $(PREDICTION_SEEDS) --finer-seeds 0 $(PREDICTION_GRID)
	$(PY) scripts/published_table.py

# The experiments of Cheung et al. 2016 alone (docs/experiments.md; their runs are shared with `make repro`).
experiments: install
	cd scripts && $(EXPERIMENTS)

bench: install
	$(PY) -m pip install -q -e '.[fem,test,bench]'
	$(VENV)/bin/pdemet bench --out bench

clean:
	rm -rf $(VENV) results bench .pytest_cache
