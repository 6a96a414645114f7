# pdemet: `make demo` and `make test` do all setup on a fresh machine.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= results
SCENARIO ?= pdemet/scenarios/default.toml

.PHONY: install demo test test-fast meshes bench clean

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

bench: install
	$(VENV)/bin/pdemet bench --out bench

clean:
	rm -rf $(VENV) results bench .pytest_cache
