"""The translate stage: translate a stored version with CTranslate2 (here or on Ray shards), with a
cache so a killed run resumes; or attach existing translations from a file."""

from workbench.translate.attach import attach, attach_signature
from workbench.translate.cache import CACHE_TABLE, TranslationCache
from workbench.translate.engine import Engine
from workbench.translate.options import Progress, TranslateOptions
from workbench.translate.stage import translate

__all__ = ["CACHE_TABLE", "Engine", "Progress", "TranslateOptions", "TranslationCache", "attach",
           "attach_signature", "translate"]
