"""Token batches for CTranslate2, ordered so that parallel workers finish together.

CTranslate2 cuts a list of inputs into batches itself (longest first, at most
``max_batch_size`` source tokens each) and hands them to its workers in that order. With several
workers (``inter_threads`` on a CPU, several GPUs) the run ends when the last batch ends, and
while it runs the other workers idle (``bench/translate.py`` prints the core use of the stage
and of CTranslate2's own order).

:func:`plan_batches` makes the same batches as CTranslate2 (same sort, same token budget), then

* orders them by estimated cost, most expensive first (the "longest processing time first"
  rule: big batches overlap with others, small ones fill the gaps at the end), and
* on the final chunk of a run, splits the ``workers`` cheapest batches into ``workers`` pieces
  each (at least 2, at most :data:`MAX_TAIL_PIECES`), so the batches still running when the
  queue drains are short. Small batches compute less efficiently, so only the tail is split.

The cost estimate counts source tokens (encoder) plus hypotheses x expected target length
(decoder, weighted :data:`DECODER_WEIGHT`): with a fixed output length a batch of many short
sentences costs more than one of few long ones, although both hold the same number of tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DECODER_WEIGHT", "MAX_TAIL_PIECES", "batch_cost", "plan_batches", "tail_pieces"]

#: cost of one decoder step of one hypothesis relative to one encoder token (a decoder layer has
#: self- and cross-attention, and every step projects onto the whole target vocabulary)
DECODER_WEIGHT = 2.0
#: most pieces one of the final batches of a run is cut into
MAX_TAIL_PIECES = 8


def tail_pieces(workers: int) -> int:
    """Pieces each of the final ``workers`` batches is cut into: as many as there are workers
    (2 on a 2-core CPU), so that the last pieces spread over all of them."""
    return min(max(workers, 2), MAX_TAIL_PIECES)


def batch_cost(lengths: Sequence[int], *, beam_size: int, min_out: int, max_out: int) -> float:
    """Estimated compute of one batch of source lengths ``lengths`` (arbitrary units): source
    tokens plus ``beam_size`` hypotheses per input decoding about as many tokens as the input
    has (clamped to ``[min_out, max_out]``)."""
    dec = sum(min(max(n, min_out), max_out) for n in lengths)
    return float(sum(lengths)) + DECODER_WEIGHT * max(beam_size, 1) * dec


def plan_batches(lengths: Sequence[int], *, max_tokens: int, beam_size: int = 1, min_out: int = 1,
                 max_out: int = 256, workers: int = 1, final: bool = True) -> list[list[int]]:
    """Batches of input indices, in the order to submit them.

    Args:
        lengths: source length (tokens) of each input.
        max_tokens: most source tokens per batch (a longer input gets a batch of its own), as
            CTranslate2 counts them with ``batch_type="tokens"``; 0: one batch.
        beam_size, min_out, max_out: decoding settings, for the cost estimate.
        workers: batches computed at the same time (``inter_threads`` x devices). With one
            worker the order does not change the run time and CTranslate2's order is kept.
        final: this is the last submission of the run (nothing is queued behind it): split the
            ``workers`` cheapest batches into :func:`tail_pieces` pieces each.

    Every index appears in exactly one batch; within a batch inputs are longest first.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable: ties by index
    batches: list[list[int]] = []
    cur: list[int] = []
    size = 0
    for i in order:
        if cur and max_tokens > 0 and size + lengths[i] > max_tokens:
            batches.append(cur)
            cur, size = [], 0
        cur.append(i)
        size += lengths[i]
    if cur:
        batches.append(cur)
    if workers <= 1:
        return batches

    def cost(b: list[int]) -> float:
        return batch_cost([lengths[i] for i in b], beam_size=beam_size, min_out=min_out, max_out=max_out)

    batches.sort(key=cost, reverse=True)
    if final:
        head, tail = batches[:-workers], batches[-workers:]
        pieces: list[list[int]] = []
        for b in tail:
            step = -(-len(b) // tail_pieces(workers))
            pieces.extend(b[lo:lo + step] for lo in range(0, len(b), step))
        batches = head + sorted(pieces, key=cost, reverse=True)
    return batches
