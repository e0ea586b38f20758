"""workbench push against a local fake of the Hub API (HF_ENDPOINT on 127.0.0.1): everything up to
the network is the real code path; the token never appears in output, errors or logs. A silent
Hub (:class:`SilentServer`, or the fake stalling at one step) ends a push with a timeout error;
SIGTERM and Ctrl-C leave no temporary directory; no object reachable from an error holds the token."""

from __future__ import annotations

import inspect
import io
import logging
import math
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.export import FakeHub, SilentServer
from workbench.core.errors import ConfigError, HubError
from workbench.export.push import DEFAULT_TIMEOUT, push, scrub
from workbench.load.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hf_FakeTokenForTests0123456789abcd"


@pytest.fixture
def hub(monkeypatch):
    with FakeHub(max_seconds=60) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield h


@pytest.fixture
def sample_store(store, sample_conll):
    ingest(sample_conll, name="sample-en", lang="en", store=store)
    return store


def test_push_uploads_the_export(hub, sample_store, tmp_path: Path, caplog) -> None:
    import pyarrow.parquet as pq

    caplog.set_level(logging.DEBUG)
    res = push("sample-en", "me/sample-ner", store=sample_store, token=TOKEN, private=True,
               license="cc-by-4.0")
    assert res.configs == ["en"]
    assert res.files == ["README.md", "data/en/train-00000-of-00001.parquet"]
    files = hub.repos["me/sample-ner"]
    assert sorted(files) == res.files
    assert hub.private["me/sample-ner"] is True
    assert b"license: cc-by-4.0" in files["README.md"]
    tbl = pq.read_table(io.BytesIO(files["data/en/train-00000-of-00001.parquet"]))
    assert tbl.num_rows == 36 and b"huggingface" in tbl.schema.metadata  # features travel with it
    auth = [h.get("authorization") for _, p, h, _ in hub.requests if "/commit/" in p]
    assert auth == [f"Bearer {TOKEN}"]  # the token was sent, to the fake only
    assert TOKEN not in repr(res) and TOKEN not in caplog.text


def test_repush_replaces_that_config_only(hub, sample_store, tmp_path: Path) -> None:
    push("sample-en", "me/multi", store=sample_store, token=TOKEN, config_names=["en"])
    hub.repos["me/multi"]["data/fr/train-00000-of-00001.parquet"] = b"other config"
    hub.repos["me/multi"]["data/en/train-00001-of-00002.parquet"] = b"stale shard"
    push("sample-en", "me/multi", store=sample_store, token=TOKEN, config_names=["en"])
    files = hub.repos["me/multi"]
    assert "data/en/train-00001-of-00002.parquet" not in files  # stale shard of the pushed config
    assert files["data/fr/train-00000-of-00001.parquet"] == b"other config"  # other config kept


def test_hub_error_is_scrubbed(hub, sample_store) -> None:
    hub.fail_with = (401, '{"error": "Invalid credentials in Authorization header: {auth}"}')
    with pytest.raises(HubError) as info:
        push("sample-en", "me/x", store=sample_store, token=TOKEN)
    text = str(info.value)
    assert "401" in text and TOKEN not in text and "***" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_no_token_is_a_clear_error(hub, sample_store, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(c, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        push("sample-en", "me/x", store=sample_store)
    assert not hub.requests
    with pytest.raises(ConfigError, match="OWNER/NAME"):
        push("sample-en", "not a repo id", store=sample_store, token=TOKEN)


def test_scrub() -> None:
    msg = f"401 for headers {{'authorization': 'Bearer {TOKEN}', 'user-agent': 'x'}} token={TOKEN[:-2]}xy"
    out = scrub(msg, TOKEN)
    assert out == "401 for headers {'authorization': '***', 'user-agent': 'x'} token=***"
    assert scrub("Authorization: Bearer abc.def-ghi, next", None) == "Authorization: ***, next"
    assert scrub("sent bearer abc123", None) == "sent Bearer ***"


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_cli_push_never_prints_the_token(hub, sample_store, tmp_path: Path) -> None:
    env = {**os.environ, "HF_TOKEN": TOKEN, "HF_ENDPOINT": hub.url, "PYTHONPATH": str(ROOT),
           "HF_DEBUG": "1", "WORKBENCH_DB": str(sample_store.path), "COLUMNS": "200"}
    ok = _cli(["push", "sample-en", "--repo-id", "me/cli", "--private"], env, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "pushed 2 files" in ok.stdout and "configs: en" in ok.stdout
    assert TOKEN not in ok.stdout + ok.stderr
    assert sorted(hub.repos["me/cli"]) == ["README.md", "data/en/train-00000-of-00001.parquet"]
    hub.fail_with = (403, '{"error": "forbidden for Authorization: {auth}"}')
    bad = _cli(["push", "sample-en", "--repo-id", "me/cli"], env, tmp_path)
    assert bad.returncode == 1
    assert "error:" in bad.stderr and "Traceback" not in bad.stderr
    assert TOKEN not in bad.stdout + bad.stderr


def test_pushing_languages_one_at_a_time_keeps_every_config_loadable(hub, store, sample_conll,
                                                                     tmp_path: Path) -> None:
    import datasets

    from workbench.translate.attach import attach

    src = ingest(sample_conll, name="sample-en", lang="en", store=store)
    for lang in ("de", "es"):
        attach(src, ROOT / "data" / f"sample-{lang}.txt", tgt_lang=lang, store=store)
    push("sample-en.es", "me/langs", store=store, token=TOKEN, config_names=["es"])
    push("sample-en.de", "me/langs", store=store, token=TOKEN, config_names=["de"])
    push("sample-en.es", "me/langs", store=store, token=TOKEN, config_names=["es"])  # re-push one
    local = tmp_path / "clone"
    for name, data in hub.repos["me/langs"].items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(data)
    card = (local / "README.md").read_text()
    assert card.count("default: true") == 1 and "- de" in card and "- es" in card
    cache = str(tmp_path / "c")
    de = datasets.load_dataset(str(local), "de", cache_dir=cache)["train"]
    es = datasets.load_dataset(str(local), "es", cache_dir=cache)["train"]
    default = datasets.load_dataset(str(local), cache_dir=cache)["train"]
    assert de["tokens"][0][:3] == ["Maria", "Schmidt", "zog"] and es["tokens"][0][2] == "se"
    assert default["tokens"] == es["tokens"]  # the first pushed config stays the default
    assert de.features == es.features


# -- a Hub that does not answer -------------------------------------------------------------------
def _factory() -> Any:
    from huggingface_hub.utils import _http

    return _http._GLOBAL_CLIENT_FACTORY


def test_the_default_timeout_is_finite() -> None:
    import typer

    from workbench.cli import app

    default = inspect.signature(push).parameters["timeout"].default
    assert default == DEFAULT_TIMEOUT and math.isfinite(default) and 0 < default <= 120
    (option,) = [p for p in typer.main.get_command(app).commands["push"].params if p.name == "timeout"]
    assert option.show_default == f"{DEFAULT_TIMEOUT:g}"  # what --help says is the library's default


def test_a_silent_hub_is_a_timeout_error(sample_store, monkeypatch) -> None:
    before = _factory()
    with SilentServer() as silent:
        monkeypatch.setenv("HF_ENDPOINT", silent.url)
        t0 = time.monotonic()
        with pytest.raises(HubError) as info:
            push("sample-en", "me/x", store=sample_store, token=TOKEN, timeout=2)
        took = time.monotonic() - t0
        assert silent.connections >= 1
    assert 1.9 <= took < 30, took
    assert f"{silent.url} did not answer within 2 s (POST /api/repos/create)" in info.value.message
    assert "HF_ENDPOINT" in info.value.fix and "timeout" in info.value.fix
    assert _factory() is before  # huggingface_hub's client factory is back
    with pytest.raises(ConfigError, match="bad timeout"):
        push("sample-en", "me/x", store=sample_store, token=TOKEN, timeout=float("inf"))


# every step of a push, each left unanswered in turn (a README already there, so it is read)
STEPS = ["POST /api/repos/create", "/tree/", "HEAD /datasets/", "GET /datasets/", "/validate-yaml",
         "/preupload/", "/commit/"]


@pytest.mark.parametrize("step", STEPS)
def test_a_hub_that_stalls_at_any_step_is_a_timeout_error(hub, sample_store, step: str) -> None:
    push("sample-en", "me/s", store=sample_store, token=TOKEN)
    before, files = _factory(), dict(hub.repos["me/s"])
    hub.hang_on = step
    t0 = time.monotonic()
    with pytest.raises(HubError, match="did not answer within 2 s") as info:
        push("sample-en", "me/s", store=sample_store, token=TOKEN, timeout=2)
    # one timeout, not six: huggingface_hub retries timed-out preupload calls with back-off
    assert time.monotonic() - t0 < 15
    method, path = hub.requests[-1][:2]
    assert step in f"{method} {path}" and f"({method} {path.split('?')[0]})" in info.value.message
    assert hub.repos["me/s"] == files and _factory() is before


# -- interrupted: no temporary directory stays behind ----------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_push_removes_its_temporary_directory(sample_store, tmp_path: Path, sig) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    with SilentServer() as silent:
        env = {**os.environ, "HF_TOKEN": TOKEN, "HF_ENDPOINT": silent.url, "PYTHONPATH": str(ROOT),
               "TMPDIR": str(tmpdir), "WORKBENCH_DB": str(sample_store.path),
               "WORKBENCH_PUSH_TIMEOUT": "100"}  # the signal comes long before the timeout
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "push", "sample-en", "--repo-id",
                                 "me/x"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            # the export is written and the push waits on the Hub: the worst moment to stop
            while not (list(tmpdir.glob("wb-push-*")) and silent.connections):
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
            proc.send_signal(sig)
            t0 = time.monotonic()
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 128 + sig, err  # 143 for SIGTERM, 130 for Ctrl-C (as typer exits)
    assert not list(tmpdir.glob("wb-push-*"))
    assert "Traceback" not in err and TOKEN not in out + err


# -- no object reachable from an error holds the token --------------------------------------------
def _holders(exc: BaseException, secret: str) -> list[str]:
    """Where ``secret`` shows in what ``exc`` reaches: its text and attributes, ``__cause__``,
    ``__context__``, and the locals of every frame of its traceback (values' reprs, then what they
    hold a few levels down: containers, attributes, closures; nested exceptions followed in full)."""
    found: list[str] = []
    seen: set[int] = set()
    errors: list[tuple[str, BaseException]] = [("error", exc)]

    def look(where: str, value: Any, depth: int) -> None:
        if id(value) in seen or isinstance(value, (types.ModuleType, type)):
            return
        seen.add(id(value))
        if isinstance(value, BaseException):
            seen.discard(id(value))
            errors.append((where, value))
            return
        if isinstance(value, (str, bytes)):
            if (secret if isinstance(value, str) else secret.encode()) in value:
                found.append(where)
            return
        try:
            if secret in repr(value):
                found.append(where)
        except Exception:
            pass
        if depth == 0:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                look(f"{where}[{k!r}]", k, depth - 1)
                look(f"{where}[{k!r}]", v, depth - 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for i, v in enumerate(value):
                look(f"{where}[{i}]", v, depth - 1)
        elif isinstance(value, types.FunctionType):
            for cell in value.__closure__ or ():
                look(f"{where} closure", cell.cell_contents, depth - 1)
        else:
            look(f"{where}.__dict__", getattr(value, "__dict__", None), depth - 1)

    done: set[int] = set()
    while errors:
        where, e = errors.pop()
        if id(e) in done:
            continue
        done.add(id(e))
        look(f"{where} text", f"{e!s} {e!r}", 0)
        look(f"{where} attributes", vars(e), 4)
        for attr in ("__cause__", "__context__"):
            if getattr(e, attr) is not None:
                errors.append((f"{where}.{attr}", getattr(e, attr)))
        tb = e.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            for name, value in frame.f_locals.items():
                look(f"{where}: {frame.f_code.co_name}() local {name}", value, 4)
            tb = tb.tb_next
    return found


def _push_error(**kwargs: Any) -> HubError:
    # caught here, not in the test: the test's frame holds the fake Hub, which recorded the token
    try:
        push("sample-en", "me/x", token=TOKEN, **kwargs)
    except HubError as exc:
        return exc
    raise AssertionError("push succeeded")


def _raw_error(call: Any, *args: Any, **kwargs: Any) -> BaseException:
    try:
        call(*args, **kwargs)
    except Exception as exc:
        return exc
    raise AssertionError(f"{call} raised nothing")


def test_the_walk_finds_a_token_where_one_is(hub) -> None:
    import httpx2
    from huggingface_hub import HfApi

    def beyond_the_caller(exc: BaseException) -> list[str]:  # not in _raw_error's own arguments
        return [h for h in _holders(exc, TOKEN) if "_raw_error()" not in h]

    hub.fail_with = (401, '{"error": "bad header Authorization: {auth}"}')
    api = HfApi(endpoint=hub.url, token=TOKEN)
    assert beyond_the_caller(_raw_error(api.create_repo, "me/x", repo_type="dataset"))
    with SilentServer() as silent:  # the request in a timeout holds the header
        headers = {"authorization": f"Bearer {TOKEN}"}
        assert beyond_the_caller(_raw_error(httpx2.post, silent.url, headers=headers, timeout=0.3))


@pytest.mark.parametrize("status", [401, 500])
def test_an_error_from_a_hub_that_echoes_the_token_does_not_hold_it(hub, sample_store, status) -> None:
    hub.fail_with = (status, '{"error": "bad header Authorization: {auth}"}')
    exc = _push_error(store=sample_store)
    assert str(status) in exc.message and "***" in exc.message
    assert exc.__cause__ is None and exc.__context__ is None
    assert _holders(exc, TOKEN) == []


def test_a_timeout_error_does_not_hold_the_token(sample_store, monkeypatch) -> None:
    with SilentServer() as silent:
        monkeypatch.setenv("HF_ENDPOINT", silent.url)
        exc = _push_error(store=sample_store, timeout=1)
    assert "did not answer" in exc.message
    assert exc.__cause__ is None and exc.__context__ is None
    assert _holders(exc, TOKEN) == []


def test_cli_push_to_a_silent_hub(sample_store, tmp_path: Path) -> None:
    with SilentServer() as silent:
        env = {**os.environ, "HF_TOKEN": TOKEN, "HF_ENDPOINT": silent.url, "PYTHONPATH": str(ROOT),
               "WORKBENCH_DB": str(sample_store.path), "COLUMNS": "200"}
        r = _cli(["push", "sample-en", "--repo-id", "me/cli", "--timeout", "2"], env, tmp_path)
    assert r.returncode == 1
    # the request named is push's own, not huggingface_hub's best-effort lookups that also stalled
    assert "did not answer within 2 s (POST /api/repos/create)" in r.stderr and "--timeout" in r.stderr
    assert "Traceback" not in r.stderr and TOKEN not in r.stdout + r.stderr
