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

# Reproduce the published numbers and the paper's experiments on seed ensembles (8 mice each; the first 4 of the
# default scenario's and the first 2 of every variant's also one level finer), then rebuild
# docs/published_vs_model.md. Runs are kept in results/repro/runs and shared by the scripts, so a re-run adds only
# what is missing (delete that folder after changing the code). Many hours on 2 cores.
REPRO_DEFAULT := repro_polyclonal experiment_lesion_sizes repro_organs
REPRO_VARIANTS := experiment_controls experiment_two_color repro_therapy repro_prediction
REPRO_ARMS := experiment_tail_vein experiment_ex_vivo

repro: install
	cd scripts && for s in $(REPRO_DEFAULT); do ../$(PY) $$s.py --finer-seeds 4 || exit 1; done && \
		for s in repro_clusters_vs_singles repro_aceto; do ../$(PY) $$s.py || exit 1; done && \
		for s in $(REPRO_VARIANTS); do ../$(PY) $$s.py --finer-seeds 2 || exit 1; done && \
		for s in $(REPRO_ARMS); do ../$(PY) $$s.py --finer-seeds 4 || exit 1; done
	$(PY) scripts/published_table.py

# The experiments of Cheung et al. 2016 alone (docs/experiments.md; their runs are shared with `make repro`).
experiments: install
	cd scripts && for s in experiment_controls experiment_two_color; do ../$(PY) $$s.py --finer-seeds 2 || exit 1; \
		done && for s in $(REPRO_ARMS); do ../$(PY) $$s.py --finer-seeds 4 || exit 1; done

bench: install
	$(PY) -m pip install -q -e '.[fem,test,bench]'
	$(VENV)/bin/pdemet bench --out bench

clean:
	rm -rf $(VENV) results bench .pytest_cache
