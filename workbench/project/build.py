"""Building projectors: the one :func:`make_projector`, and the translation model the MT-guided
projectors use (by default the model that made the translation being projected)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError, ModelError
from workbench.mt.device import resolve_device
from workbench.store.lineage import nearest
from workbench.store.store import Store, Version
from workbench.translate.options import TranslateOptions

__all__ = ["DEFAULT_PROJECTOR", "MT_MODEL_OPTIONS", "MT_PROJECTORS", "make_projector", "mt_defaults"]

#: the offline default: statistical alignment, no pretrained model needed
DEFAULT_PROJECTOR = "align.eflomal.v2"
#: projector name prefixes that need a translation model (``model=`` or a translator/scorer object)
MT_PROJECTORS = ("markers.", "constrained.")
#: options of the MT model (not of the projector): read by :func:`make_projector`
MT_MODEL_OPTIONS = ("model", "family", "pair", "src_lang", "tgt_lang", "device", "compute_type", "beam_size",
                    "max_decoding_length", "inter_threads", "intra_threads", "max_batch_size")


def _model_role(name: str) -> str:
    """The option that takes the model: markers translate, constrained decoding scores."""
    return "translator" if name.startswith("markers.") else "scorer"


def make_projector(name: str | None = None, options: dict[str, Any] | None = None,
                   extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (), *,
                   model: Any = None) -> Any:
    """A registered projector by name (default :data:`DEFAULT_PROJECTOR`) with options.

    The MT-guided projectors (``markers.*``, ``constrained.*``) get their translation model as
    ``model`` (a :class:`~workbench.mt.ct2.CT2Model`, or a CTranslate2 directory with its
    SentencePiece files, as translate-test passes it), or build it from the options ``model``,
    ``src_lang``, ``tgt_lang``, ... (:data:`MT_MODEL_OPTIONS`, with the family's language tokens).
    ``extra``: unlabelled parallel text for the statistical aligners.
    """
    import projectors

    name = name or DEFAULT_PROJECTOR
    opts = dict(options or {})
    if name.startswith(MT_PROJECTORS):
        if model is not None:
            if isinstance(model, (str, Path)):
                from workbench.mt.ct2 import CT2Model

                model = CT2Model(model)
            opts.setdefault(_model_role(name), model)
        opts = _with_mt_model(name, opts)
    if extra:
        if not name.startswith("align.eflomal"):
            raise ConfigError(f"extra parallel text is used only by statistical aligners, not {name}",
                              fix="drop --align-corpus or use --projector align.eflomal.v2")
        opts["extra"] = list(extra)
    try:
        return projectors.get(name, **opts)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), fix="pick a registered projector") from None
    except TypeError as exc:
        raise ConfigError(f"bad option for projector {name}: {exc}",
                          fix="check the --option names (see the projector's documentation)") from None
    except ValueError as exc:
        from projectors.mtbase import VocabularyError

        if isinstance(exc, VocabularyError):  # markers the model cannot write
            raise ModelError(str(exc), fix="use markers the model knows, or another projector") from None
        raise ConfigError(f"bad option for projector {name}: {exc}",
                          fix="check the --option values (see the projector's documentation)") from None


def _with_mt_model(name: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Projector options with ``translator``/``scorer`` built from the MT model options."""
    key = _model_role(name)
    if opts.get(key) is not None:
        return opts
    mopts = {k: opts.pop(k) for k in MT_MODEL_OPTIONS if k in opts}
    model = mopts.pop("model", None)
    if not model:
        raise ConfigError(f"projector {name} needs a translation model",
                          fix="project a version made by workbench translate (its model is used), or "
                              "pass --option model=DIR --option src_lang=en --option tgt_lang=de "
                              "(project-back: --model DIR, English -> original language)")
    missing = [k for k in ("src_lang", "tgt_lang") if not mopts.get(k)]
    if missing:
        raise ConfigError(f"projector {name}: no {' / '.join(missing)} for model {model}",
                          fix="pass --option src_lang=en --option tgt_lang=de")
    from workbench.mt.ct2 import load_mt

    src, tgt, family = mopts.pop("src_lang"), mopts.pop("tgt_lang"), mopts.pop("family", None)
    pair = mopts.pop("pair", None)
    if mopts.get("device", "auto") == "auto" or mopts.get("compute_type", "auto") == "auto":
        dev, ct, _, _ = resolve_device(TranslateOptions(device=mopts.get("device", "auto"),
                                                        compute_type=mopts.get("compute_type", "auto")))
        mopts["device"], mopts["compute_type"] = dev, ct
    opts[key] = load_mt(str(model), src_lang=str(src), tgt_lang=str(tgt), family=family, pair=pair, **mopts)
    return opts


def mt_defaults(name: str, opts: dict[str, Any], store: Store, v: Version, src_v: Version) -> dict[str, Any]:
    """MT model options of ``name`` completed from the translate version ``v`` descends from."""
    if opts.get("translator") is not None or opts.get("scorer") is not None:
        return opts
    out = dict(opts)
    tv = nearest(store, v, "translate")
    tp = tv.params if tv is not None else {}
    if not out.get("model"):
        if not tp.get("model_path"):
            raise ConfigError(
                f"projector {name} needs the translation model, and {v.ref} was not made by "
                "workbench translate (no model recorded)",
                fix="pass --option model=DIR (a CTranslate2 model, source -> target language; "
                    "src_lang / tgt_lang default to the versions' languages)", where=v.ref)
        out["model"] = tp["model_path"]
        if tp.get("family"):
            out.setdefault("family", tp["family"])
        if tp.get("pair"):
            out.setdefault("pair", tp["pair"])
        for k in ("beam_size", "max_decoding_length"):
            if k in tp:
                out.setdefault(k, tp[k])
        if tp.get("compute_type") and "compute_type" not in out:
            # the translate stage's compute type when this runs on the same kind of device
            dev = resolve_device(TranslateOptions(device=out.get("device", "auto")))[0]
            if dev == tp.get("device"):
                out["device"], out["compute_type"] = dev, tp["compute_type"]
    out.setdefault("src_lang", tp.get("src_lang") or src_v.lang)
    out.setdefault("tgt_lang", tp.get("tgt_lang") or v.lang)
    return out
