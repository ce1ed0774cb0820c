"""The hypothesis strategy for the settings of kfchaos.checkers.synth.generate, shared by the
property tests (test_checkers_property.py) and the compiled core's equivalence tests
(test_native.py)."""
from hypothesis import strategies as st


def synth_params(n_ops: tuple[int, int] = (150, 1500), flink: bool = True) -> st.SearchStrategy:
    """generate()'s keyword arguments; ``flink=False`` leaves Flink output out."""
    fields = {
        "seed": st.integers(0, 2**31 - 1),
        "n_ops": st.integers(*n_ops),
        "producers": st.integers(1, 4),
        "keys": st.integers(1, 8),
        "partitions": st.integers(1, 4),
        "consumers": st.integers(0, 3),
        "txn": st.booleans(),
        "faults": st.integers(0, 3),
        "poll_size": st.integers(1, 20),
        "unknown_rate": st.sampled_from([0.0, 0.05, 0.3]),
    }
    if flink:
        fields["flink"] = st.booleans()
    return st.fixed_dictionaries(fields)
