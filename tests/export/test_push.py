"""workbench push against a local fake of the Hub API (HF_ENDPOINT on 127.0.0.1): everything up to
the network is the real code path; the token never appears in output, errors or logs."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.export import FakeHub
from workbench.core.errors import ConfigError, HubError
from workbench.export.push import push, scrub
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
