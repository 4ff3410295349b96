# The two commands: `make run` and `make test`. Both create .venv when absent and install the project.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Restore the bundled sample image with the default strategy: writes the result, its trajectory
# and an HTML report under out/.
run: $(STAMP)
	$(BIN)/mosaicir restore --sample -o out --report --trajectory

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf out build .pytest_cache
