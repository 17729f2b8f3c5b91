# The two commands: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install fonts lint format bench clean
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 / Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

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

test: lint fonts
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

# Every bench/*.py, then one table of figures beside their same-run baselines (bench/all.py).
# The soak runs 10 minutes: make bench BENCH_ARGS='--soak-seconds 60' for a shorter one.
bench: install
	$(BIN)/python bench/all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
