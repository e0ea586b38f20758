# workbench tasks (just is installed by `pip install -e '.[dev]'`)
set shell := ["bash", "-uc"]

python := if path_exists(".venv/bin/python") == "true" { ".venv/bin/python" } else { "python" }
lint_imports := if path_exists(".venv/bin/lint-imports") == "true" { ".venv/bin/lint-imports" } else { "lint-imports" }

# run the tests, then the linter
default: test lint

# the test suite (what CI runs)
test *ARGS:
    {{python}} -m pytest -q {{ARGS}}

# ruff, then the architecture: import-linter contracts in pyproject.toml (layers, projectors apart)
lint:
    {{python}} -m ruff check workbench projectors tests bench
    {{lint_imports}}

# type check
typecheck:
    {{python}} -m mypy workbench projectors

# benchmarks: print figures and ratios against a baseline measured in the same run
bench:
    {{python}} bench/ingest.py
    {{python}} bench/store_ops.py
    {{python}} bench/translate.py
    {{python}} bench/project_align.py
    {{python}} bench/simalign_speed.py
    {{python}} bench/project_mt.py
    {{python}} bench/scale.py
    {{python}} bench/filter_europarl.py

# on a machine with a CUDA device: the CUDA tests and the GPU figures, one table (under 8 minutes)
gpu *ARGS:
    {{python}} bench/gpu.py {{ARGS}}

# the README's main job on the bundled example (offline): project, filter, export, report
quickstart:
    {{python}} -m workbench run examples/quickstart.toml
