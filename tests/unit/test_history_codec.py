"""The writer's line of an op is the same JSON value as ``json.dumps`` gives, whichever
encoder wrote it: orjson for the clients' ops when that is exact, the standard library
otherwise (NaN and Infinity, which orjson would write as null; integers beyond 64 bits;
tuples, bytes and sets through the writer's default; non-ASCII text)."""
import json
import math

from hypothesis import given, settings, strategies as st

from kfchaos.history_codec import FAST_FS, _encode, line_of, loads

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                    st.binary(max_size=4))
VALUES = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.tuples(kids, kids),
    st.dictionaries(st.text(max_size=5), kids, max_size=4)), max_leaves=20)


def _same(a, b) -> bool:
    """Equal as JSON values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(f=st.sampled_from(sorted(FAST_FS) + ["note"]), value=VALUES)
def test_a_line_is_the_same_json_value_as_the_standard_library_writes(f, value):
    op = {"index": 3, "process": "consumer-0", "type": "ok", "f": f, "value": value, "time": 7, "wall": 1.5}
    line, reference = line_of(op), _encode(op)
    assert _same(json.loads(line), json.loads(reference)), (line, reference)
    assert _same(loads(line), json.loads(reference))


def test_nan_and_infinity_are_written_as_the_standard_library_writes_them():
    for bad in (float("nan"), float("inf"), float("-inf")):
        op = {"index": 0, "process": "c", "type": "ok", "f": "poll", "time": 1, "wall": 1.0,
              "value": {"topic": "t", "group": None, "records": [{"partition": 0, "offset": 1, "key": None,
                                                                  "value": {"amount": bad}}]}}
        assert line_of(op) == _encode(op)
        assert "null" not in line_of(op).split('"amount":')[1]


def test_a_poll_with_nulls_and_no_float_is_written_by_orjson(monkeypatch):
    """A consumer's poll has nulls (no group, records without keys) in every op: those lines
    still take the fast encoder when they read back equal."""
    import kfchaos.history_codec as codec
    op = {"index": 0, "process": "c", "type": "ok", "f": "poll", "time": 1, "wall": 1.0,
          "value": {"topic": "t", "group": None, "records": [{"partition": 0, "offset": 1, "key": None,
                                                              "value": {"id": "p-1", "size": 1024}}]}}

    def refuse(_op):
        raise AssertionError("the standard library encoder was used")
    monkeypatch.setattr(codec, "_encode", refuse)
    assert json.loads(codec.line_of(op)) == op
