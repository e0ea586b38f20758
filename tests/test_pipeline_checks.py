"""A pipeline file's stage options are checked before anything runs: a typo is an error naming
the valid options, not a stage silently skipped or a failure after ingest and attach."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.errors import ConfigError
from workbench.pipeline import load_pipeline, run_pipeline

DATA = Path(__file__).resolve().parents[1] / "data"


def _pipeline(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{DATA / 'sample-en.conll'}"
lang = "en"
name = "sample-en"
[translations]
de = "{DATA / 'sample-de.txt'}"
{extra}
""")
    return p


@pytest.mark.parametrize("extra,match", [
    ('[project]\nprojektor = "align.eflomal.v1"\n', r"\[project\] names no projector"),
    ('[project]\n', r"\[project\] names no projector"),
    ('[project]\nprojector = "align.eflomal.v1"\nn_runs = "abc"\n', "n_runs must be a whole number"),
    ('[project]\nprojector = "align.eflomal.v1"\nnruns = 2\n', "has no option nruns; its options: .*n_runs"),
    ('[project]\nprojector = "align.eflomal.v1"\n[filter]\nfilters = ["length-ratio.v1"]\n'
     '"length-ratio.v1" = { maxx = 2 }\n', "has no option 'maxx'"),
    ('[project]\nprojector = "align.eflomal.v1"\n[filter]\nfilters = ["no-such.v1"]\n', "unknown filter"),
    ('[[export]]\nformat = "xml"\npath = "x"\n', "unknown export format 'xml'"),
    # a key no stage takes, in any section: named, with the section's keys
    ('[report]\nhtmll = "r.html"\n', r"\[report\] has no key 'htmll'(.|\n)*bins, examples, html"),
    ('[[export]]\nformat = "conll"\npath = "x-{lang}.conll"\nlicence = "x"\n',
     r"\[\[export\]\] format = 'conll' has no key 'licence'(.|\n)*scheme"),
    ('[[export]]\nformat = "hf"\npath = "hf"\nlicence = "x"\n', r"has no key 'licence'(.|\n)*license"),
])
def test_a_bad_stage_option_is_an_error_before_anything_runs(tmp_path, extra, match):
    p = _pipeline(tmp_path, extra)
    with pytest.raises(ConfigError, match=match):
        load_pipeline(p)
    with pytest.raises(ConfigError, match=match):
        run_pipeline(p, dry_run=True)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


def test_good_options_pass_the_checks(tmp_path):
    p = _pipeline(tmp_path, '[project]\nprojector = "align.eflomal.v1"\nn_runs = 2\nspan_gap = 1\n'
                            '[filter]\nfilters = ["length-ratio.v1"]\n"length-ratio.v1" = { max = 2.5 }\n')
    pl = load_pipeline(p)
    assert pl.projectors == ["align.eflomal.v1"] and pl.filters == ["length-ratio.v1"]


@pytest.mark.parametrize("change,match", [
    (("sample-en.conll", "nope.conll"), r"\[source\] path .*nope.conll.*: no such file"),
    (("sample-de.txt", "nope.txt"), r"\[translations\] de: no such file"),
])
def test_a_missing_input_file_is_an_error_before_anything_runs(tmp_path, change, match):
    p = _pipeline(tmp_path, '[project]\nprojector = "align.eflomal.v1"\n')
    p.write_text(p.read_text().replace(*change))
    with pytest.raises(ConfigError, match=match):
        run_pipeline(p, dry_run=True)
    assert not (tmp_path / "out").exists()


def test_an_unknown_source_or_translate_key_is_named(tmp_path):
    p = _pipeline(tmp_path, "")
    p.write_text(p.read_text().replace('name = "sample-en"', 'name = "sample-en"\nschem = "iob2"'))
    with pytest.raises(ConfigError, match=r"\[source\] has no key 'schem'(.|\n)*scheme"):
        load_pipeline(p)
    p = _pipeline(tmp_path, '[translate]\nmodel = "m"\ntargets = ["fr"]\nbeem = 3\n')
    with pytest.raises(ConfigError, match=r"\[translate\] has no key 'beem'(.|\n)*beam_size"):
        load_pipeline(p)


def test_the_cli_reports_a_bad_pipeline_before_running(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from workbench.cli import app

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    p = _pipeline(tmp_path, '[report]\nhtmll = "r.html"\n')
    r = CliRunner().invoke(app, ["run", str(p)], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "[report] has no key 'htmll'" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()
    # a model that is not here: the dry run shows its plan, then the error naming the convert command
    p = _pipeline(tmp_path, '[translate]\nmodel = "some/model"\ntargets = ["fr"]\n')
    r = CliRunner().invoke(app, ["run", str(p), "--dry-run"], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "would run ingest" in r.output and "Traceback" not in r.output
    assert "workbench models convert some/model" in r.output
    r = CliRunner().invoke(app, ["run", str(p)], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "run " not in r.output.split("error:")[0]  # nothing ran
    assert not (tmp_path / "out" / "workbench.duckdb").exists()
