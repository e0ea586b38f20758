"""SIGKILL during the translate, project and filter stages of ``workbench run`` then re-run: no
lost, duplicated or half-written rows, every earlier version intact, the same content as an
uninterrupted run (translate and filter are deterministic; eflomal is not, so the projection is
checked for structure), and a reader in another process during a long translate stage.

Each stage is killed from a copy of the store as it was just before that stage, so the stage
under test is the first to open a staging directory (see :func:`tests.reliability.test_reliability._kill_during`).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.reliability.test_reliability import _cli, _content, _env, _kill_during, check_store, leftovers
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
N_MT = 3000  # sentences translated: a few seconds of the tiny model, long enough to kill in flight and to read during


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _refs(db: Path) -> list[str]:
    return [r[0] for r in _query(db, "SELECT corpus || '@' || number FROM versions ORDER BY id")]


def _start_from(pre: Path, work: Path, pipeline: str) -> tuple[Path, Path]:
    """``work/p.toml`` and ``work/out/workbench.duckdb``, a copy of the store ``pre``."""
    out = work / "out"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(pre, out / "workbench.duckdb")
    p = work / "p.toml"
    p.write_text(pipeline)
    return p, out


def _kill_until(cmd: list[str], work: Path, out: Path, target: str, rng: random.Random,
                delay: tuple[float, float], restore: Callable[[], None],
                after_kill: Callable[[], None], want: int = 2, tries: int = 6) -> int:
    """Kill ``cmd`` during ``target`` ``want`` times (``after_kill`` checks the store after each).
    A run that finished before the kill is undone with ``restore`` and tried again."""
    kills = 0
    for _ in range(tries):
        if kills == want:
            break
        if _kill_during(cmd, work, out, target, rng, delay):
            kills += 1
            after_kill()
        else:
            restore()
    return kills


# -- translate -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mt(tmp_path_factory) -> dict[str, object]:
    """A tiny NLLB-architecture CTranslate2 model, a store holding an ingested corpus of N_MT
    sentences (the state before translate), the pipeline translating it, and the store an
    uninterrupted run of that pipeline makes (the reference)."""
    pytest.importorskip("transformers", reason="building the test model needs workbench[convert]")
    pytest.importorskip("torch", reason="building the test model needs workbench[convert]")
    import workbench.translate.cache  # noqa: F401 - its table is created with the store
    from tests.fixtures.translate import build_hf_model
    from workbench.load.ingest import ingest
    from workbench.mt.models import convert

    d = tmp_path_factory.mktemp("mt")
    model = convert(build_hf_model("nllb", d / "hf"), quantization="int8", home=d / "models")
    conll = d / "src.conll"
    with open(conll, "w") as f:
        for i in range(N_MT):
            f.write(f"# sent_id = m{i:05d}\nMaria\tB-PER\nsold\tO\n{i}\tO\nbooks\tO\nin\tO\n"
                    f"{['Paris', 'Lima', 'Accra'][i % 3]}\tB-LOC\n.\tO\n\n")
    pre = d / "pre.duckdb"
    ingest(conll, name="big", lang="en", store=Store(pre))
    pipeline = f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{conll}"
lang = "en"
name = "big"
[translate]
model = "{model}"
targets = ["de"]
device = "cpu"
beam_size = 2
max_decoding_length = 48
read_chunk = 50
flush_every = 50
flush_seconds = 0.1
"""
    work = d / "reference"
    p, out = _start_from(pre, work, pipeline)
    r = _cli("run", str(p), cwd=work)
    assert r.returncode == 0, r.stderr
    assert "skip ingest" in r.stdout and "run translate" in r.stdout  # the copied store is reused
    return {"pre": pre, "pipeline": pipeline, "reference": _content(out / "workbench.duckdb")}


def _cache(db: Path) -> tuple[int, int]:
    return _query(db, "SELECT count(*), count(DISTINCT key) FROM translate_cache")[0]


def _cache_reaches(db: Path, n: int) -> Callable[[], bool]:
    """True once the translation cache in ``db`` holds ``n`` rows (looked at every 50 ms; a
    moment when the translating process holds the lock counts as not yet)."""
    last = [0.0]

    def check() -> bool:
        if time.monotonic() - last[0] < 0.05:
            return False
        last[0] = time.monotonic()
        try:
            return _cache(db)[0] >= n
        except duckdb.Error:
            return False
    return check


def test_sigkill_during_translate_then_rerun_resumes_from_the_cache(mt, tmp_path: Path) -> None:
    p, out = _start_from(mt["pre"], tmp_path, mt["pipeline"])
    db = out / "workbench.duckdb"
    before = _content(db)
    cached: list[int] = []

    def after_kill() -> None:
        check_store(db)  # whatever is stored is whole
        refs = _refs(db)
        assert refs in (["big@1"], ["big@1", "big.de@1"]), refs  # no partial translation
        assert _content(db)[:1] == before  # the source version is untouched
        n, distinct = _cache(db)
        assert n == distinct <= N_MT  # cache rows are whole and unique
        cached.append(n)

    rng = random.Random("translate")
    cmd = [sys.executable, "-m", "workbench", "run", str(p)]
    kills = 0
    for at in (rng.randrange(1, N_MT // 3), rng.randrange(N_MT // 3, 2 * N_MT // 3)):
        # kill once the cache holds ``at`` rows, the second time from the first kill's state
        kills += _kill_until(cmd, tmp_path, out, _cache_reaches(db, at), rng, (0.0, 0.1),
                             lambda: _start_from(mt["pre"], tmp_path, mt["pipeline"]), after_kill, want=1)
    assert kills > 0, "the translation finished before it could be killed"
    assert cached and min(cached) < N_MT  # at least one kill came before the commit
    assert max(cached) > 0, f"no kill left cached translations to resume from ({cached})"
    r = _cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _refs(db) == ["big@1", "big.de@1"]
    check_store(db)
    assert _content(db) == mt["reference"]  # same rows as an uninterrupted run: nothing lost or doubled
    assert _cache(db) == (N_MT, N_MT)
    assert leftovers(out) == []
    from workbench.pipeline import run_pipeline

    assert [s.status for s in run_pipeline(p, dry_run=True)] == ["skip", "skip"]


def test_reader_in_another_process_during_a_long_translate(mt, tmp_path: Path) -> None:
    """While ``workbench run`` translates, this process keeps reading the store: every read
    succeeds, sees only whole versions and sees the translation cache grow (the stage holds
    the write lock only for its short cache writes and the final commit)."""
    p, out = _start_from(mt["pre"], tmp_path, mt["pipeline"])
    db = out / "workbench.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(p)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = Store(db, lock_timeout=30)
    snapshot = """SELECT (SELECT count(*) FROM versions) AS versions,
        (SELECT count(*) FROM translate_cache) AS cached,
        (SELECT count(*) FROM examples e JOIN versions v ON v.id = e.version_id
         WHERE v.corpus = 'big') AS source_rows,
        (SELECT count(*) FROM versions v
         WHERE n_examples <> (SELECT count(*) FROM examples e WHERE e.version_id = v.id)) AS incomplete"""
    during: list[int] = []  # cache sizes read while the translate stage was under way
    try:
        while proc.poll() is None:
            staging = any(out.glob(".wb-stage-*"))  # the stage is streaming its version
            row = store.sql(snapshot).to_pylist()[0]
            assert row["incomplete"] == 0 and row["source_rows"] == N_MT, row
            if staging and row["versions"] == 1:
                during.append(row["cached"])
            assert list(store.examples("big@1", batch_size=500))[-1].id == f"m{N_MT - 1:05d}"
            time.sleep(0.01)
        err = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == 0, err
    # several reads went through while it translated, some of them half-way through
    assert len(during) >= 3 and any(0 < n < N_MT for n in during), during
    assert during == sorted(during)  # the cache only grows
    assert [v.ref for v in store.versions()] == ["big@1", "big.de@1"]
    check_store(db)


# -- project and filter on the bundled sample --------------------------------------------------------
_SAMPLE = f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{DATA / 'sample-en.conll'}"
format = "conll"
lang = "en"
name = "sample-en"
[translations]
de = "{DATA / 'sample-de.txt'}"
"""
_PROJECT = """
[project]
projector = "align.eflomal.v1"
n_runs = 1
"""
_FILTER = """
[filter]
filters = ["length-ratio.v1", "projection-complete.v1"]
"""
_DECISIONS = ("SELECT example_id, idx, filter, kept, reason, detail, value FROM filter_decisions "
              "ORDER BY ALL")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, object]:
    """Stores of the bundled sample pipeline (en -> de by attach, eflomal, filters) just before
    the project stage and just before the filter stage, and the results of uninterrupted runs."""
    from workbench.pipeline import run_pipeline

    d = tmp_path_factory.mktemp("sample")
    p, db = d / "p.toml", d / "out" / "workbench.duckdb"

    def run(body: str) -> list[tuple[str, str]]:
        p.write_text(body)
        return [(s.stage, s.status) for s in run_pipeline(p)]

    assert run(_SAMPLE) == [("ingest", "run"), ("attach", "run")]
    shutil.copy(db, d / "pre-project.duckdb")
    assert run(_SAMPLE + _PROJECT)[-1] == ("project", "run")
    shutil.copy(db, d / "pre-filter.duckdb")
    assert run(_SAMPLE + _PROJECT + _FILTER)[-2:] == [("project", "skip"), ("filter", "run")]
    return {"pre_project": d / "pre-project.duckdb", "pre_filter": d / "pre-filter.duckdb",
            "project_sig": Store(db).resolve("sample-en.de@2").signature,
            "filtered": _content(db), "decisions": _query(db, _DECISIONS)}


def _check_projection(db: Path, signature: str) -> None:
    """One project version, parents [translation, source], the translation's ids, texts and
    order, and one outcome per source span; projected spans carry their source span's label."""
    store = Store(db)
    src, tgt, v = (store.resolve(r) for r in ("sample-en@1", "sample-en.de@1", "sample-en.de@2"))
    assert v.stage == "project" and v.parents == [tgt.id, src.id] and v.signature == signature
    source = {ex.id: ex for ex in store.examples(src)}
    target = list(store.examples(tgt))
    out = list(store.examples(v))
    assert [(e.id, e.text, e.split) for e in out] == [(e.id, e.text, e.split) for e in target]
    kinds: dict[str, int] = {}
    for ex in out:
        spans = source[ex.id].spans
        assert sorted(o.source for o in ex.outcomes) == list(range(len(spans))), ex.id
        for o in ex.outcomes:
            assert o.outcome in ("projected", "fallback", "dropped") and o.label == spans[o.source].label
            kinds[o.outcome] = kinds.get(o.outcome, 0) + 1
        kept = {o.source for o in ex.outcomes if o.outcome != "dropped"}
        for sp in ex.spans:
            assert sp.source in kept and sp.label == spans[sp.source].label, ex.id
    assert kinds.get("projected", 0) > 0 and sum(kinds.values()) == src.n_spans


def test_sigkill_during_project_then_rerun(sample, tmp_path: Path) -> None:
    pipeline = _SAMPLE + _PROJECT + _FILTER
    p, out = _start_from(sample["pre_project"], tmp_path, pipeline)
    db = out / "workbench.duckdb"
    before = _content(db)

    mid_stage: list[bool] = []

    def after_kill() -> None:
        check_store(db)
        assert _content(db)[:2] == before  # the source and the translation are untouched
        mid_stage.append(len(_refs(db)) == 2)
        if not mid_stage[-1]:  # killed after the projection was committed: it is whole
            _check_projection(db, sample["project_sig"])

    kills = _kill_until([sys.executable, "-m", "workbench", "run", str(p)], tmp_path, out, "stage1",
                        random.Random("project"), (0.0, 0.3),
                        lambda: _start_from(sample["pre_project"], tmp_path, pipeline), after_kill)
    assert kills > 0 and any(mid_stage), "the projection was never killed before its commit"
    r = _cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _refs(db) == ["sample-en@1", "sample-en.de@1", "sample-en.de@2", "sample-en.de@3"]
    check_store(db)
    assert _content(db)[:2] == before
    _check_projection(db, sample["project_sig"])  # eflomal is random: the structure, not the links
    assert leftovers(out) == []


def test_sigkill_during_filter_then_rerun(sample, tmp_path: Path) -> None:
    pipeline = _SAMPLE + _PROJECT + _FILTER
    p, out = _start_from(sample["pre_filter"], tmp_path, pipeline)
    db = out / "workbench.duckdb"
    before = _content(db)

    mid_stage: list[bool] = []

    def after_kill() -> None:
        check_store(db)
        refs = _refs(db)
        mid_stage.append(len(refs) == 3)
        assert _content(db)[:3] == before  # source, translation and projection untouched
        has_table = _query(db, "SELECT count(*) FROM information_schema.tables "
                               "WHERE table_name = 'filter_decisions'")[0][0]
        n_dec = _query(db, "SELECT count(*) FROM filter_decisions")[0][0] if has_table else 0
        if len(refs) == 3:
            assert n_dec == 0  # no decisions without their version
        else:  # killed after the commit: the version and all its decisions
            assert _query(db, _DECISIONS) == sample["decisions"]

    kills = _kill_until([sys.executable, "-m", "workbench", "run", str(p)], tmp_path, out, "filter",
                        random.Random("filter"), (0.0, 0.15),
                        lambda: _start_from(sample["pre_filter"], tmp_path, pipeline), after_kill)
    assert kills > 0 and any(mid_stage), "the filter was never killed before its commit"
    r = _cli("run", str(p), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_store(db)
    assert _content(db) == sample["filtered"]  # same kept rows as an uninterrupted run
    decisions = _query(db, _DECISIONS)
    assert decisions == sample["decisions"]
    assert len(decisions) == 2 * 36  # one row per example and filter, none doubled
    orphans = _query(db, "SELECT count(*) FROM filter_decisions WHERE version_id NOT IN "
                         "(SELECT id FROM versions)")[0][0]
    assert orphans == 0
    assert leftovers(out) == []  # the killed runs' .wb-filter-* directories were removed
