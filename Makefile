# The two commands: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install assets fonts browser lint format bench clean audit lock
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 / Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

# The pages' JavaScript, pinned by package-lock.json, fetched from the npm registry (no Node.js
# needed; see scripts/vendor_assets.py) into cardsvc/pages/static/vendor/.
assets: $(BIN)/python
	$(BIN)/python scripts/vendor_assets.py

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

demo: install fonts
	$(BIN)/unioncard database upgrade --no-prompt
	$(BIN)/unioncard demo seed
	$(BIN)/unioncard demo banner
	$(BIN)/unioncard run --host 127.0.0.1 --port 8000

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
