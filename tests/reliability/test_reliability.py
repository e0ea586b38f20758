"""End-to-end reliability: SIGKILL during each stage then re-run (no lost, duplicated or
half-written rows; same content as an uninterrupted run), a reader in another process during a
long stage, corrupt or truncated inputs, a full disk and an unwritable output directory."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from workbench.core.errors import StoreError
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
N = 1500  # sentences: long enough to kill each stage in flight, short enough to stay fast


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "COLUMNS": "200",
            "WORKBENCH_LOCK_TIMEOUT": "60"}


def _cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          env=_env(), cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict[str, Path]:
    """A CoNLL corpus of N sentences over three splits, German and Spanish 'translations', a pipeline."""
    d = tmp_path_factory.mktemp("big")
    names = ["Anna Berg", "Kofi Mensah", "Lena Novak", "Chen Wei"]
    places = ["Oslo", "Lisbon", "Nagoya", "Seville"]
    with open(d / "src.conll", "w") as f, open(d / "de.txt", "w") as de, open(d / "es.txt", "w") as es:
        for i in range(N):
            first, last = names[i % 4].split()
            f.write(f"# sent_id = s{i:05d}\n{first}\tB-PER\n{last}\tI-PER\nvisited\tO\n{places[i % 4]}\tB-LOC\n"
                    f"in\tO\n{1900 + i % 120}\tO\nwith\tO\nitem{i}\tO\n.\tO\n\n")
            de.write(f"{first} {last} besuchte {places[i % 4]} im Jahr {1900 + i % 120} mit item{i} .\n")
            es.write(f"{first} {last} visitó {places[i % 4]} en {1900 + i % 120} con item{i} .\n")
    (d / "p.toml").write_text(f"""
[pipeline]
out_dir = "out"
db = "out/workbench.duckdb"
[source]
path = "{d / 'src.conll'}"
lang = "en"
name = "big"
[translations]
de = "{d / 'de.txt'}"
es = "{d / 'es.txt'}"
[[export]]
format = "hf"
path = "hf"
""")
    return {"dir": d, "conll": d / "src.conll", "de": d / "de.txt", "es": d / "es.txt"}


def _pipeline(big: dict[str, Path], work: Path) -> Path:
    p = work / "p.toml"
    p.write_text((big["dir"] / "p.toml").read_text())
    return p


def check_store(db: Path) -> list[tuple[str, int]]:
    """Every version complete (rows == n_examples, unique ids, idx 0..n-1), no orphan rows."""
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "versions" not in tables:
            return []
        rows = con.execute("""
            SELECT v.corpus || '@' || v.number, v.n_examples, count(e.idx), count(DISTINCT e.id),
                   coalesce(min(e.idx), 0), coalesce(max(e.idx), -1)
            FROM versions v LEFT JOIN examples e ON e.version_id = v.id GROUP BY ALL ORDER BY 1""").fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM examples WHERE version_id NOT IN (SELECT id FROM versions)").fetchone()[0]
    finally:
        con.close()
    assert orphans == 0, f"{orphans} half-written rows"
    for ref, n, rows_, ids, lo, hi in rows:
        assert (rows_, ids, lo, hi) == (n, n, 0, n - 1), f"{ref} is incomplete or duplicated"
    return [(r[0], r[1]) for r in rows]


TEMP_PREFIXES = (".wb-stage-", ".wb-filter-", ".hf.tmp-", ".hf.old-")


def leftovers(out: Path) -> list[str]:
    """Temporary directories left in ``out`` (by killed runs that the next run did not clean)."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith(TEMP_PREFIXES))


def _content(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("""SELECT v.corpus, v.number, v.signature, count(*), sum(hash(e.id, e.text,
            e.split, e.spans::VARCHAR, e.offsets::VARCHAR, e.meta::VARCHAR))
            FROM versions v JOIN examples e ON e.version_id = v.id GROUP BY ALL ORDER BY 1, 2""").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(big, tmp_path_factory) -> list[tuple]:
    work = tmp_path_factory.mktemp("ref")
    r = _cli("run", str(_pipeline(big, work)), cwd=work)
    assert r.returncode == 0, r.stderr
    return _content(work / "out" / "workbench.duckdb")


def _kill_during(cmd: list[str], cwd: Path, out: Path, target: str | Callable[[], bool],
                 rng: random.Random, delay: tuple[float, float] = (0.0, 0.25)) -> bool:
    """Start ``cmd``; SIGKILL it a random moment (``delay`` seconds) after ``target`` starts:
    ``stageK`` the k-th staging directory of the store, ``export`` the export's temporary
    directory, ``filter`` the filter stage's temporary directory, or a callable that turns
    true. True if it was killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            names = [p.name for p in out.glob(".*")] if out.exists() else []
            for n in names:
                if n.startswith(".wb-stage-") and n not in seen:
                    seen.append(n)
            if callable(target):
                hit = bool(target())
            elif target in ("export", "filter"):
                prefix = ".hf.tmp-" if target == "export" else ".wb-filter-"
                hit = any(n.startswith(prefix) for n in names)
            else:
                hit = len(seen) >= int(target[5:])
            if hit:
                time.sleep(rng.uniform(*delay))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(10)
                    return True
                return False
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.parametrize("target", ["stage1", "stage3", "export"], ids=["ingest", "attach", "export-hf"])
def test_sigkill_during_a_stage_then_rerun(big, reference, tmp_path: Path, target: str) -> None:
    import pyarrow.parquet as pq

    rng = random.Random(target)
    pipeline = _pipeline(big, tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "workbench", "run", str(pipeline)]
    kills = 0
    for _ in range(2):  # kill it twice at different moments of the same stage
        if not _kill_during(cmd, tmp_path, out, target, rng):
            break
        kills += 1
        check_store(out / "workbench.duckdb")  # whatever is stored is whole
        if (out / "hf").exists():  # an export in place is a finished one
            assert (out / "hf" / ".workbench-export.json").is_file()
    assert kills > 0, "the stage finished before it could be killed"
    r = _cli("run", str(pipeline), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [ref for ref, _ in check_store(out / "workbench.duckdb")] == ["big.de@1", "big.es@1", "big@1"]
    assert _content(out / "workbench.duckdb") == reference  # nothing lost, nothing duplicated
    for cfg in ("de", "es"):
        rows = sum(pq.read_metadata(p).num_rows for p in (out / "hf" / "data" / cfg).glob("*.parquet"))
        assert rows == N
    assert leftovers(out) == []  # temp dirs of the killed runs were cleaned up
    again = _cli("run", str(pipeline), cwd=tmp_path)
    assert "ran 0 step(s), skipped 4" in again.stdout


def test_reader_in_another_process_during_a_long_stage(big, tmp_path: Path) -> None:
    """A writer ingests N sentences four times while this process keeps reading: every read
    succeeds and sees only whole versions."""
    db = tmp_path / "wb.duckdb"
    script = (f"from workbench import Store\nfrom workbench.load import ingest\ns = Store({str(db)!r})\n"
              f"for i in range(4):\n    ingest({str(big['conll'])!r}, name=f'c{{i}}', lang='en', store=s)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env=_env(), stderr=subprocess.PIPE)
    store = Store(db, lock_timeout=60)
    reads, states = 0, set()
    snapshot = """SELECT (SELECT count(*) FROM versions) AS versions,
        (SELECT count(*) FROM examples WHERE version_id NOT IN (SELECT id FROM versions)) AS orphans,
        (SELECT count(*) FROM versions v
         WHERE n_examples <> (SELECT count(*) FROM examples e WHERE e.version_id = v.id)) AS incomplete"""
    try:
        while proc.poll() is None:
            try:
                row = store.sql(snapshot).to_pylist()[0]  # one connection: one consistent snapshot
            except StoreError:
                if reads:  # only the very first moments (no file or no tables yet) may fail
                    raise
                time.sleep(0.01)
                continue
            assert row["orphans"] == 0 and row["incomplete"] == 0, row  # only whole versions
            states.add(row["versions"])
            reads += 1
            time.sleep(0.01)
        err = proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == 0, err
    assert reads >= 5 and len(states) >= 2, (reads, states)  # reads happened while it wrote
    assert [v.n_examples for v in store.versions()] == [N] * 4
    check_store(db)


# -- corrupt and truncated inputs ----------------------------------------------------------------
def _cases(tmp: Path, sample: Path) -> dict[str, list[str]]:
    good = sample.read_bytes()
    (tmp / "bad-utf8.conll").write_bytes(good[: good.index(b"\n\n") + 2] + b"caf\xe9\tO\n\n")
    first = good[: good.index(b"\n\n") + 2]
    (tmp / "one-col.conll").write_bytes(first + b"lonely\n\n")
    (tmp / "trunc.jsonl").write_text('{"text": "Anna lives in Oslo", "spans": [{"start": 14, "end": 18, "la')
    (tmp / "offsets.jsonl").write_text('{"text": "Oslo", "spans": [{"start": 2, "end": 99, "label": "LOC"}]}\n')
    (tmp / "garbage.parquet").write_bytes(os.urandom(2048))
    subprocess.run([sys.executable, "-m", "workbench", "export", "s", "-f", "parquet", "-o",
                    str(tmp / "ok.parquet"), "--db", str(tmp / "src.duckdb")], env=_env(), check=True,
                   capture_output=True)
    data = (tmp / "ok.parquet").read_bytes()
    (tmp / "trunc.parquet").write_bytes(data[: len(data) // 2])
    (tmp / "tr.txt").write_text("only one line .\n")
    return {
        "bad-utf8": ["ingest", str(tmp / "bad-utf8.conll"), "--name", "x"],
        "one-column": ["ingest", str(tmp / "one-col.conll"), "--name", "x"],
        "truncated-jsonl": ["ingest", str(tmp / "trunc.jsonl"), "--name", "x"],
        "offsets-outside-text": ["ingest", str(tmp / "offsets.jsonl"), "--name", "x"],
        "garbage-parquet": ["ingest", str(tmp / "garbage.parquet"), "--name", "x"],
        "truncated-parquet": ["ingest", str(tmp / "trunc.parquet"), "--name", "x"],
        "missing-file": ["ingest", str(tmp / "nope.conll"), "--name", "x"],
    }


def test_corrupt_or_truncated_inputs_give_a_clean_error(tmp_path: Path, sample_conll: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.core.errors import InputError
    from workbench.load.ingest import ingest
    from workbench.translate.attach import attach

    src = Store(tmp_path / "src.duckdb")
    v = ingest(sample_conll, name="s", lang="en", store=src)
    db = tmp_path / "wb.duckdb"
    for name, args in _cases(tmp_path, sample_conll).items():
        r = CliRunner().invoke(app, [*args, "--db", str(db)])
        assert r.exit_code == 1, (name, r.output)
        assert isinstance(r.exception, SystemExit), (name, r.exception)  # no traceback
        assert "error:" in r.output and ("fix:" in r.output or ":" in r.output), name
        assert Store(db).versions() == [], name  # nothing stored
    with pytest.raises(InputError, match="has 1 sentences"):
        attach(v, tmp_path / "tr.txt", tgt_lang="de", store=src)
    assert [x.ref for x in src.versions()] == ["s@1"]
    # a truncated store file
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes((tmp_path / "src.duckdb").read_bytes()[:5000])
    r = CliRunner().invoke(app, ["versions", "--db", str(broken)])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit) and "error:" in r.output


# -- full disk, unwritable directory -------------------------------------------------------------
@contextlib.contextmanager
def _tmpfs(path: Path, options: str):
    path.mkdir(parents=True, exist_ok=True)
    if os.environ.get("WB_TEST_NO_MOUNT"):  # exercise the fallbacks used where mount is not allowed
        yield False
        return
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _limited(limit_bytes: int):
    """preexec_fn: files may not grow past ``limit_bytes`` (EFBIG instead of SIGXFSZ)."""
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def _run_limited(args: list[str], cwd: Path, limit: int | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          env=_env(), cwd=cwd, timeout=120, preexec_fn=_limited(limit) if limit else None)


def test_disk_full_gives_a_clear_error_and_leaves_nothing_half_written(big, tmp_path: Path) -> None:
    src_db = tmp_path / "src.duckdb"
    r = _cli("ingest", str(big["conll"]), "--name", "big", "--db", str(src_db), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    full = tmp_path / "full"
    with _tmpfs(full, "size=12k") as mounted:
        limit = None if mounted else 12_000  # no mount permission: a file size limit instead
        full.mkdir(exist_ok=True)
        exp = _run_limited(["export", "big", "-f", "hf", "-o", str(full / "hf"), "--db", str(src_db)],
                           tmp_path, limit)
        assert exp.returncode == 1, exp.stdout
        assert "Traceback" not in exp.stderr and "cannot write" in exp.stderr
        assert "disk has space" in exp.stderr
        assert sorted(p.name for p in full.iterdir()) == []  # no partial export, no temp dir
        ing = _run_limited(["ingest", str(big["conll"]), "--name", "big", "--db", str(full / "wb.duckdb")],
                           tmp_path, limit)
        assert ing.returncode == 1
        assert "Traceback" not in ing.stderr and "cannot write the store" in ing.stderr
        leftovers = [p.name for p in full.iterdir() if p.name.startswith(".wb-stage-")]
        assert leftovers == []
        if (full / "wb.duckdb").exists():
            with contextlib.suppress(duckdb.Error):
                assert check_store(full / "wb.duckdb") == []


def test_unwritable_output_directory_gives_a_clear_error(big, tmp_path: Path, sample_conll: Path) -> None:
    src_db = tmp_path / "src.duckdb"
    assert _cli("ingest", str(sample_conll), "--name", "s", "--db", str(src_db), cwd=tmp_path).returncode == 0
    ro = tmp_path / "ro"
    with _tmpfs(ro, "ro,size=64k") as mounted:
        if not mounted:
            ro.mkdir(exist_ok=True)
            ro.chmod(0o555)
            if os.access(ro, os.W_OK):
                pytest.skip("cannot make an unwritable directory here (root without mount permission)")
        for fmt, out in (("hf", ro / "hf"), ("conll", ro / "x.conll")):
            r = _cli("export", "s", "-f", fmt, "-o", str(out), "--db", str(src_db), cwd=tmp_path)
            assert r.returncode == 1 and "Traceback" not in r.stderr
            assert "cannot write" in r.stderr and "writable" in r.stderr, r.stderr
        r = _cli("ingest", str(sample_conll), "--name", "s", "--db", str(ro / "wb.duckdb"), cwd=tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr and "writable" in r.stderr, r.stderr
        r = _cli("run", str(_pipeline(big, tmp_path)), "--out-dir", str(ro / "out"), cwd=tmp_path)
        assert r.returncode == 1 and "Traceback" not in r.stderr and "error:" in r.stderr, r.stderr
        if not mounted:
            ro.chmod(0o755)
