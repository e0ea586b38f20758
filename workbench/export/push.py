"""Push a Hub export to the Hugging Face Hub.

``push(refs, repo_id)`` writes the Hub layout (:mod:`workbench.export.hub`) to a temporary
directory and uploads it in one commit with ``huggingface_hub``: the card, and the shards of the
pushed configs (old shards of those configs are deleted, other configs' files are kept).

The token comes from ``token=``, else ``HF_TOKEN`` or the stored login (``hf auth login``), as
``huggingface_hub.get_token()`` finds it. It is never printed: errors raised here carry a
message from which the token, ``Authorization`` headers and anything that looks like a Hub
token have been removed, and they are raised without the original exception attached.
The endpoint is ``HF_ENDPOINT`` (read at call time) or the public Hub.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, HubError
from workbench.store.store import Store, Version

__all__ = ["push", "PushResult", "scrub", "merge_cards"]

_TOKEN_RE = re.compile(r"\b(hf|api)_[A-Za-z0-9]{8,}\b")
_AUTH_RE = re.compile(r"(?i)(authorization|x-api-key|cookie)(['\"]?\s*[:=]\s*['\"]?)[^,'\"\n}]*")
_BEARER_RE = re.compile(r"(?i)bearer\s+[^\s,'\"}]+")


def scrub(text: str, token: str | None) -> str:
    """``text`` with the token, bearer credentials and Authorization headers blanked out."""
    if token:
        text = text.replace(token, "***")
    text = _AUTH_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _BEARER_RE.sub("Bearer ***", text)
    return _TOKEN_RE.sub("***", text)


@dataclass(frozen=True)
class PushResult:
    """What was pushed: the repository URL, the commit, the configs and the files."""

    repo_url: str
    commit: str | None
    configs: list[str]
    files: list[str]


def _token(token: str | None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError("no Hugging Face token found",
                          fix="set HF_TOKEN, or log in once with `hf auth login`")
    return found


def push(
    refs: str | Version | Sequence[str | Version],
    repo_id: str,
    *,
    private: bool = False,
    config_names: Sequence[str] | None = None,
    store: Store | None = None,
    token: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    **export_options: Any,
) -> PushResult:
    """Export ``refs`` in the Hub layout and upload them to the dataset repository ``repo_id``.

    ``config_names`` name the configs (default: each version's language); ``export_options`` are
    those of :class:`~workbench.export.hub.HubExportOptions` (licence fields, ``pretty_name``).
    Creates the repository (``private`` when asked) if it does not exist.
    """
    from workbench.export.hub import MARKER, export_hf

    if not re.match(r"^[\w.\-]+/[\w.\-]+$", repo_id):
        raise ConfigError(f"bad repository id {repo_id!r}", fix="write OWNER/NAME, e.g. me/conll-de")
    store = store or Store()
    ref_list = [refs] if isinstance(refs, (str, Version)) else list(refs)
    versions = [store.resolve(r) for r in ref_list]
    tok = _token(token)
    with tempfile.TemporaryDirectory(prefix="wb-push-") as tmp:
        out = Path(tmp) / "export"
        export_hf(store, versions, out, config_names=list(config_names) if config_names else None,
                  **export_options)
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MARKER)
        configs = sorted({f.split("/")[1] for f in files if f.startswith("data/")})
        try:
            return _upload(out, files, configs, repo_id, tok, private=private, revision=revision,
                           message=commit_message or f"workbench: {', '.join(v.ref for v in versions)}")
        except (ConfigError, HubError):
            raise
        except Exception as exc:  # anything from huggingface_hub / requests / httpx
            raise HubError(f"push to {repo_id} failed: {type(exc).__name__}: {scrub(str(exc), tok)}",
                           fix="check the repository id, your token's write access and the network "
                           "(HF_ENDPOINT)") from None


def _upload(folder: Path, files: list[str], configs: list[str], repo_id: str, token: str, *,
            private: bool, revision: str | None, message: str) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    endpoint = os.environ.get("HF_ENDPOINT") or None
    api = HfApi(endpoint=endpoint, token=token)
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    existing = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    if "README.md" in existing:  # keep the other configs of the repository in the card
        old = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=revision,
                                  cache_dir=str(folder.parent / "hub-cache"))
        merge_cards(Path(old), folder / "README.md")
    stale = [f for f in existing if f not in files and any(f.startswith(f"data/{c}/") for c in configs)]
    ops: list[Any] = [CommitOperationDelete(path_in_repo=f) for f in stale]
    ops += [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in files]
    info = api.create_commit(repo_id, ops, repo_type="dataset", revision=revision,
                             commit_message=message)
    return PushResult(str(url), getattr(info, "oid", None), configs, files)


def _entries(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    val = data.get(key) or []
    if isinstance(val, dict):  # a single config is written as a mapping
        val = [{"config_name": "default", **val}]
    return [dict(e) for e in val if isinstance(e, dict)]


def merge_cards(remote: Path, local: Path) -> list[str]:
    """Rewrite the card ``local`` so that its YAML also lists the configs of ``remote`` (the card
    already on the Hub) that this push does not replace; returns the configs kept from there.

    One config stays the default: the remote default (or its only config) if kept, else the first.
    """
    from huggingface_hub import DatasetCard

    old = DatasetCard.load(str(remote)).data.to_dict()
    card = DatasetCard.load(str(local))
    new = card.data.to_dict()
    ours = {e["config_name"] for e in _entries(new, "configs")}
    kept = [e for e in _entries(old, "configs") if e.get("config_name") not in ours]
    if not kept:
        return []
    configs = _entries(new, "configs") + kept
    remote_configs = _entries(old, "configs")
    had_default = [e["config_name"] for e in kept if e.get("default") or len(remote_configs) == 1]
    for e in configs:
        e.pop("default", None)
    first = had_default[0] if had_default else configs[0]["config_name"]
    configs.sort(key=lambda e: (e["config_name"] != first, e["config_name"]))
    configs[0]["default"] = True
    infos = _entries(new, "dataset_info") + [
        e for e in _entries(old, "dataset_info") if e.get("config_name") in {k["config_name"] for k in kept}]
    infos.sort(key=lambda e: e["config_name"])
    langs = sorted(set(new.get("language") or []) | set(old.get("language") or []))
    card.data.configs = configs
    card.data.dataset_info = infos
    if langs:
        card.data.language = langs
        if len(langs) > 1:
            card.data.multilinguality = "multilingual"
    names = ", ".join(f"`{e['config_name']}`" for e in kept)
    card.text = card.text.rstrip() + (
        f"\n\nThe sections above describe the configs of the latest push. This repository also "
        f"holds {names}, pushed separately (the repository history has their cards).\n")
    card.save(str(local))
    return [e["config_name"] for e in kept]
