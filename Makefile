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

# Reproduce the published numbers (scripts/repro_*.py: 8 seeds, each also one level finer; the runs are kept in
# results/repro/runs and shared, so a re-run only adds what is missing) and rebuild docs/published_vs_model.md
# (with the experiments' results when `make experiments` has run). Hours on 2 cores.
repro: install
	cd scripts && for s in polyclonal organs clusters_vs_singles aceto therapy prediction; do \
		../$(PY) repro_$$s.py || exit 1; done && ../$(PY) experiment_lesion_sizes.py
	$(PY) scripts/published_table.py

# The experiments of Cheung et al. 2016 as simulations on the adaptive sites (docs/experiments.md).
experiments: install
	cd scripts && ../$(PY) experiment_tail_vein.py --finer && ../$(PY) experiment_two_color.py && \
		../$(PY) experiment_controls.py && ../$(PY) experiment_ex_vivo.py

bench: install
	$(PY) -m pip install -q -e '.[fem,test,bench]'
	$(VENV)/bin/pdemet bench --out bench

clean:
	rm -rf $(VENV) results bench .pytest_cache
