# The two commands: `make demo` and `make test`. Everything else is a helper for them.

# The first of these whose version is at least 3.11 (or PYTHON=/path/to/python3.x).
PYTHON_CANDIDATES := python3.13 python3.12 python3.11 python3
PY_OK := import sys; sys.exit(sys.version_info < (3, 11))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(PYTHON_CANDIDATES),$(shell command -v $(p) >/dev/null 2>&1 && $(p) -c '$(PY_OK)' 2>/dev/null && echo $(p))))
endif
VENV := .venv
BIN := $(VENV)/bin
# pip runs once per stamp (again when pyproject.toml changes): the runtime for the demo, the
# runtime with the test tools for the tests.
RUNTIME_STAMP := $(VENV)/.runtime
STAMP := $(VENV)/.installed
# Where the demo serves; the banner and the invite links read the same two variables.
UNIONCARD_HOST ?= 127.0.0.1
UNIONCARD_PORT ?= 8000
DEMO_ENV := UNIONCARD_HOST=$(UNIONCARD_HOST) UNIONCARD_PORT=$(UNIONCARD_PORT)

.PHONY: demo test install runtime assets fonts browser lint format bench clean audit lock
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "需要 Python 3.11 或更高版本：$(PYTHON_CANDIDATES) 中没有一个符合。"; \
	  echo "Python 3.11 or newer is required (none of $(PYTHON_CANDIDATES) is one);"; \
	  echo "install one (e.g. sudo apt-get install python3 python3-venv) or run: make PYTHON=/path/to/python3.x"; \
	  exit 1; fi
	@$(PYTHON) -c '$(PY_OK)' 2>/dev/null || { \
	  echo "需要 Python 3.11 或更高版本：$(PYTHON) 不可用或版本过旧。"; \
	  echo "Python 3.11 or newer is required: $(PYTHON) is missing or older."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q -e .
	@touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

# The pages' JavaScript, pinned by package-lock.json, fetched from the npm registry (no Node.js
# needed; see scripts/vendor_assets.py) into cardsvc/pages/static/vendor/.
assets: $(BIN)/python
	$(BIN)/python scripts/vendor_assets.py

# What the demo runs on, and everything (the test tools too).
runtime: $(RUNTIME_STAMP) assets
install: $(STAMP) assets

# The printable card needs a CJK font (else it is refused with cjk_font_missing, never drawn
# with boxes). Installed with apt-get when missing and we are root; otherwise say what to do.
fonts:
	@if [ -f $(CJK_FONT) ] || [ -n "$$UNIONCARD_CJK_FONT" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "安装中文字体 / installing fonts-wqy-microhei (card images)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-microhei >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-microhei >/dev/null; } \
	  || { echo "fonts-wqy-microhei could not be installed"; exit 1; }; \
	else \
	  echo "提示 / note: no CJK font ($(CJK_FONT)); printable cards and their tests need it."; \
	  echo "  run: sudo apt-get install fonts-wqy-microhei   (or set UNIONCARD_CJK_FONT=/path/to/font)"; \
	fi

demo: runtime fonts
	$(BIN)/unioncard database upgrade --no-prompt
	$(DEMO_ENV) $(BIN)/unioncard demo seed
	$(DEMO_ENV) $(BIN)/unioncard demo banner
	$(DEMO_ENV) $(BIN)/unioncard run --host $(UNIONCARD_HOST) --port $(UNIONCARD_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Browser tests drive Debian's Chromium; installed with apt-get when missing and we are root.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (browser tests)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	  || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
	  || { echo "chromium could not be installed"; exit 1; }; \
	else \
	  echo "note: no chromium; browser tests will be skipped. run: sudo apt-get install chromium"; \
	fi

# The suite runs on TEST_WORKERS processes (pytest-xdist), a test file per worker at a time:
# the import-rule probes of one file never meet, and the browser tests, collected last, run
# after every asyncio test of their worker. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 2
test: lint fonts browser
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# Known vulnerabilities in the locked dependency set fail the build (.ci/run runs this).
audit: install
	$(BIN)/python .ci/audit.py requirements.lock

# Re-pin every dependency (and the test tools) to the newest allowed release.
lock: install
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile --quiet --upgrade --extra test --strip-extras --no-emit-index-url \
	  --no-emit-find-links --no-emit-trusted-host -o requirements.lock pyproject.toml

# Every bench/*.py, then one table of figures beside their same-run baselines (bench/all.py).
# The soak runs 10 minutes: make bench BENCH_ARGS='--soak-seconds 60' for a shorter one.
bench: install
	$(BIN)/python bench/all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
