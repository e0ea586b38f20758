"""Push a Hub export to the Hugging Face Hub.

``push(refs, repo_id)`` writes the Hub layout (:mod:`workbench.export.hub`) to a temporary
directory and uploads it in one commit with ``huggingface_hub``: the card, and the shards of the
pushed configs (old shards of those configs are deleted, other configs' files are kept).

The token comes from ``token=``, else ``HF_TOKEN`` or the stored login (``hf auth login``), as
``huggingface_hub.get_token()`` finds it. It is never printed: errors raised here carry a
message from which the token, ``Authorization`` headers and anything that looks like a Hub
token have been removed. They are raised with nothing attached that holds the token: no
``__cause__`` or ``__context__`` (the original exception's request carries the ``Authorization``
header), and no token in the locals of the frames of their traceback.
The endpoint is ``HF_ENDPOINT`` (read at call time) or the public Hub.

Every request waits at most ``timeout`` seconds (:data:`DEFAULT_TIMEOUT`) to connect, send, or
for the next bytes of an answer (huggingface_hub's own shorter limits stay); the first that waits
longer ends the push with a :class:`HubError`, without the retries huggingface_hub makes on
timeouts. Its own client waits forever (``timeout=None``), so the push installs a client factory
for its duration and restores the previous one after (other threads using huggingface_hub
meanwhile get the bounded client too).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, HubError
from workbench.store.store import Store, Version

__all__ = ["push", "PushResult", "scrub", "merge_cards", "DEFAULT_TIMEOUT"]

#: seconds one request to the Hub may wait to connect, send, or for the next bytes of an answer:
#: long enough for a slow link, short enough that a Hub that stopped answering ends the push
DEFAULT_TIMEOUT = 60.0

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


class _NoAnswer(Exception):
    """A request to the Hub timed out. Deliberately not an httpx timeout: huggingface_hub retries
    those (preupload and LFS calls: 5 more tries, with back-off), which would make one silent Hub
    cost six timeouts; the push gives up at the first."""

    def __init__(self, request: str, seconds: float) -> None:
        super().__init__(f"{request}: no answer within {seconds:g} s")
        self.request, self.seconds = request, seconds


def _bounded_client_factory(timeout: float) -> Callable[[], Any]:
    """A client factory for huggingface_hub (``set_client_factory``) whose requests all wait at
    most ``timeout`` s (to connect, send, or for the next bytes of an answer), then raise
    :class:`_NoAnswer`. Like huggingface_hub's ``default_client_factory`` (its request hook,
    redirects followed) otherwise, whose client waits forever."""
    import httpx2  # huggingface_hub 2.x's HTTP client
    from huggingface_hub.utils._http import hf_request_event_hook

    class Bounded(httpx2.HTTPTransport):
        def handle_request(self, request: Any) -> Any:
            # calls that pass a shorter limit of their own keep it (3 s for huggingface_hub's
            # best-effort agent-registry lookup, 10 s to download the card); the others get ours
            own = request.extensions.get("timeout") or {}
            limit = {k: timeout if own.get(k) is None else min(own[k], timeout)
                     for k in ("connect", "read", "write", "pool")}
            request.extensions = {**request.extensions, "timeout": limit}
            try:
                return super().handle_request(request)
            except httpx2.TimeoutException as exc:  # ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
                phase = type(exc).__name__.removesuffix("Timeout").lower()
                seconds = limit.get(phase, timeout)
            # outside the except block: the httpx error (its request holds the token) stays behind
            raise _NoAnswer(f"{request.method} {request.url.path}", seconds)

    return lambda: httpx2.Client(transport=Bounded(), event_hooks={"request": [hf_request_event_hook]},
                                 follow_redirects=True, timeout=timeout)


def _stall(exc: BaseException | None) -> tuple[str, float] | None:
    """The request that got no answer, and the limit it had, if ``exc`` comes from one."""
    while exc is not None and not isinstance(exc, _NoAnswer):
        exc = exc.__cause__ or exc.__context__
    return (exc.request, exc.seconds) if exc is not None else None


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
    timeout: float = DEFAULT_TIMEOUT,
    **export_options: Any,
) -> PushResult:
    """Export ``refs`` in the Hub layout and upload them to the dataset repository ``repo_id``.

    ``config_names`` name the configs (default: each version's language); ``export_options`` are
    those of :class:`~workbench.export.hub.HubExportOptions` (licence fields, ``pretty_name``).
    Creates the repository (``private`` when asked) if it does not exist. ``timeout``: seconds each
    request may wait to connect, send, or for the next bytes of an answer (60 by default).
    The temporary directory (``$TMPDIR/wb-push-*``) is removed on every exit, KeyboardInterrupt
    included (SIGTERM ends Python without cleanup: the CLI turns it into an exception).
    """
    from huggingface_hub.utils import _http, set_client_factory

    from workbench.export.hub import MARKER, export_hf

    if not re.match(r"^[\w.\-]+/[\w.\-]+$", repo_id):
        raise ConfigError(f"bad repository id {repo_id!r}", fix="write OWNER/NAME, e.g. me/conll-de")
    if not (isinstance(timeout, (int, float)) and timeout > 0 and math.isfinite(timeout)):
        raise ConfigError(f"bad timeout {timeout!r}", fix="give a number of seconds > 0, e.g. 60")
    store = store or Store()
    ref_list = [refs] if isinstance(refs, (str, Version)) else list(refs)
    versions = [store.resolve(r) for r in ref_list]
    tok = _token(token)
    endpoint = os.environ.get("HF_ENDPOINT") or None
    with tempfile.TemporaryDirectory(prefix="wb-push-") as tmp:
        out = Path(tmp) / "export"
        export_hf(store, versions, out, config_names=list(config_names) if config_names else None,
                  **export_options)
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MARKER)
        configs = sorted({f.split("/")[1] for f in files if f.startswith("data/")})
        # no public getter: the factory in place (huggingface_hub's, or the caller's) comes back after
        previous = _http._GLOBAL_CLIENT_FACTORY
        set_client_factory(_bounded_client_factory(timeout))
        try:
            return _upload(out, files, configs, repo_id, tok, endpoint, timeout, private=private,
                           revision=revision,
                           message=commit_message or f"workbench: {', '.join(v.ref for v in versions)}")
        except (ConfigError, HubError):
            raise
        except Exception as exc:  # anything from huggingface_hub / httpx
            # plain strings only: the exception and its chain stay in this block
            problem, stall = f"{type(exc).__name__}: {scrub(str(exc), tok)}", _stall(exc)
        finally:
            set_client_factory(previous)
        # the error leaves this frame in its traceback: the token must not be among its locals
        del token, tok
        # raised here, not in the except block: there it would get the original exception (whose
        # request holds the Authorization header) as __context__, `from None` notwithstanding
        if stall:
            raise HubError(f"push to {repo_id} failed: {endpoint or 'the Hub'} did not answer within "
                           f"{stall[1]:g} s ({stall[0]})",
                           fix="check the network and HF_ENDPOINT, or allow more time (timeout=, "
                           "`workbench push --timeout`, WORKBENCH_PUSH_TIMEOUT)") from None
        raise HubError(f"push to {repo_id} failed: {problem}",
                       fix="check the repository id, your token's write access and the network "
                       "(HF_ENDPOINT)") from None


def _upload(folder: Path, files: list[str], configs: list[str], repo_id: str, token: str,
            endpoint: str | None, timeout: float, *, private: bool, revision: str | None,
            message: str) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    existing = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
    if "README.md" in existing:  # keep the other configs of the repository in the card
        old = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=revision,
                                  cache_dir=str(folder.parent / "hub-cache"),
                                  etag_timeout=timeout)  # its own default is 10 s
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
