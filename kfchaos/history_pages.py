"""Paged final reads: the one place where page ops are merged into their final op.

Contract
--------
A final read too large for one op is written in pages (:func:`kfchaos.clients.final_read`
with ``page_records``): before its final op ``final-read`` (or ``output-read``) the
reading process appends page ops ``final-read-page`` (``output-read-page``), type
``info``, value ``{"topic", "page": k, "records": [...]}`` with ``k`` = 0, 1, ...; the
final op holds the remaining records and ``"pages": N``, the number of page ops before
it.  A read that fits one page has no page op and no ``pages`` key.

:class:`PageAssembler` takes the ops of a history in order and gives every final op
*assembled*: its ``records`` are the records of its pages (page order) followed by its
own, and ``pages`` is dropped, so an assembled op is exactly the op an unpaged read
would have written.  Page ops are keyed by (process, kind, topic).  Anything else is a
malformed history, :class:`~kfchaos.history_schema.HistoryError` naming the op's
ordinal: a page out of order, a final op whose ``pages`` differs from the pages seen
(a page missing, or one of another topic), pages but no ``pages`` in the final op.
Pages with no final op by the end of the history are a read its process did not finish
(killed mid-read): :meth:`PageAssembler.close` gives it back as an ``info`` final op.

Every consumer of final reads goes through it: :class:`kfchaos.checkers.HistoryIndex`
(and so every checker and ``kfchaos analyze``) and :mod:`kfchaos.checkers.inject`.  The
compiled core (``native/src/digest.rs``) follows the same rules page by page and hands
the history to this Python path whenever the pages do not add up (or are ``output-read``
pages), so the error raised is always the one here.  The loaders
(:func:`kfchaos.history.load` / ``iter_load``) yield the ops as written; :func:`assemble`
turns such a stream into the assembled one.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from kfchaos.history_schema import HistoryError

__all__ = ["PAGE_OF", "PAGED", "READ_KINDS", "PageAssembler", "assemble", "has_pages", "paginate"]

#: final-op kind -> its page kind
PAGED = {"final-read": "final-read-page", "output-read": "output-read-page"}
#: page kind -> its final-op kind
PAGE_OF = {page: final for final, page in PAGED.items()}
#: every kind the assembler looks at
READ_KINDS = frozenset(PAGED) | frozenset(PAGE_OF)

_ORDER = "pages are numbered 0, 1, ... in the order they are written"
_MATCH = ('expected "pages" to count the page ops of the same process and topic before the '
          "final op")


class _Pages:
    """The pages seen so far of one read: their records and the first page's ordinal."""
    __slots__ = ("ordinal", "records", "last")

    def __init__(self, ordinal: int):
        self.ordinal = ordinal
        self.records: list[list] = []
        self.last: dict = {}


def _label(f: str, process: Any, topic: Any) -> str:
    return f"{f} of topic {topic!r} (process {process!r})"


class PageAssembler:
    """Merge page ops into their final op, one history in order (see the contract).

    :meth:`take` returns the op to hand on (None for a page op, held until its final op);
    ``where`` gives the op's ordinal, asked only when raising."""

    def __init__(self) -> None:
        self.pending: dict[tuple, _Pages] = {}

    def take(self, op: dict, where: Callable[[], int]) -> dict | None:
        f = op["f"]
        if f in PAGE_OF:
            self._page(op, PAGE_OF[f], where)
            return None
        return self._final(op, where) if f in PAGED else op

    def _page(self, op: dict, final_f: str, where: Callable[[], int]) -> None:
        v = op["value"]          # the schema has typed topic, page and records
        key = (op["process"], final_f, v["topic"])
        pages = self.pending.get(key)
        if pages is None:
            pages = self.pending[key] = _Pages(where())
        if v["page"] != len(pages.records):
            raise HistoryError(f"{_label(op['f'], op['process'], v['topic'])}: page {v['page']!r} "
                               f"follows {len(pages.records)} page(s)",
                               f"expected page {len(pages.records)}: {_ORDER}", ordinal=where())
        pages.records.append(v["records"])
        pages.last = {k: op.get(k) for k in ("index", "process", "time", "wall")}

    def _final(self, op: dict, where: Callable[[], int]) -> dict:
        v = op.get("value")
        if v.__class__ is not dict:
            return op
        n = v.get("pages")
        key = (op["process"], op["f"], v.get("topic"))
        pages = self.pending.pop(key, None) if self.pending else None
        if pages is None and n is None:
            return op                                   # an unpaged read: as written
        seen = 0 if pages is None else len(pages.records)
        if n != seen:
            said = 'has no "pages"' if n is None else f"says pages={n!r}"
            other = sorted(repr(k[2]) for k in self.pending if k[:2] == key[:2])
            also = f"; pending pages of topic {', '.join(other)}" if other else ""
            raise HistoryError(f"{_label(op['f'], op['process'], v.get('topic'))} {said} after "
                               f"{seen} page op(s){also}", _MATCH, ordinal=where())
        value = dict(v)
        del value["pages"]
        if seen:
            records = [r for page in pages.records for r in page]    # type: ignore[union-attr]
            records += v.get("records") or []
            value["records"] = records
        return dict(op, value=value)

    def close(self) -> list[dict]:
        """The history ended: each read with pages and no final op was interrupted (its
        process died mid-read). It is given back as the ``info`` final op an unfinished
        read writes (``incomplete``, ``error``; no records), so checkers see a topic with
        no final read -- an unknown outcome, never a failed one."""
        out = []
        for (process, f, topic), pages in sorted(self.pending.items(), key=lambda kv: kv[1].ordinal):
            last = pages.last
            out.append({**{k: last[k] for k in ("process", "time") if k in last},
                        "index": last.get("index"), "wall": last.get("wall"), "type": "info", "f": f,
                        "value": {"topic": topic, "incomplete": True, "interrupted": True,
                                  "error": f"the history ends after {len(pages.records)} page(s) "
                                           f"of this read and no {f} op"}})
        self.pending.clear()
        return out


def assemble(ops: Iterable[dict], n0: int = 0) -> Iterator[dict]:
    """The assembled ops of a whole history (``n0``: the ordinal of its first op)."""
    asm = PageAssembler()
    for k, op in enumerate(ops, n0):
        out = asm.take(op, lambda k=k: k) if op["f"] in READ_KINDS else op
        if out is not None:
            yield out
    yield from asm.close()


def has_pages(ops: Iterable[dict]) -> bool:
    """True if any op is a page op or a final op carrying ``pages``."""
    for op in ops:
        if op["f"] in PAGE_OF:
            return True
        if op["f"] in PAGED and isinstance(op.get("value"), dict) and "pages" in op["value"]:
            return True
    return False


def paginate(ops: Iterable[dict], page_records: int) -> list[dict]:
    """The history ``ops`` as a paged writer would have written it (tests, benchmarks): each
    final op with more than ``page_records`` records becomes its page ops (same process,
    time and wall) and the final op with the rest and ``pages``; indexes are renumbered
    from the first op's, in order.  :func:`assemble` of the result gives ``ops`` back,
    up to the indexes."""
    out: list[dict] = []
    for op in ops:
        v = op.get("value")
        recs = v.get("records") if op["f"] in PAGED and isinstance(v, dict) else None
        if isinstance(recs, list) and len(recs) > page_records:
            n = (len(recs) - 1) // page_records          # full pages; the rest stays in the op
            for k in range(n):
                out.append({**op, "type": "info", "f": PAGED[op["f"]], "value": {
                    "topic": v.get("topic"), "page": k,
                    "records": recs[k * page_records:(k + 1) * page_records]}})
            op = dict(op, value=dict(v, records=recs[n * page_records:], pages=n))
        out.append(op)
    if out:
        first = out[0]["index"]
        out = [dict(op, index=first + k) if op["index"] != first + k else op for k, op in enumerate(out)]
    return out
