"""check_graph's steps on declared shapes alone (no ONNX file): the input's dtype, its
height/width dims, the size frames are fed at, and the one-map output. The CLI's
one-line refusals are tested end to end in tests/realtime/runtime/test_added_models.py."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_cam.models.contract import Contract, ContractError, check_graph


def test_a_fixed_nchw_graph_gives_its_own_size_and_dtype() -> None:
    contract, dtype = check_graph(
        Contract(layout="nchw"), "tensor(float)", [1, 3, 48, 64], "tensor(float)", [1, 1, 48, 64]
    )
    assert contract.size == (48, 64) and contract.layout == "nchw"
    assert dtype == np.float32


def test_a_dynamic_graph_takes_the_declared_size_where_it_fits() -> None:
    contract, dtype = check_graph(
        Contract(size=(48, 64)), "tensor(uint8)", ["n", 48, "w", 3], "tensor(float)", [1, 48, 64]
    )
    assert contract.size == (48, 64) and dtype == np.uint8
    with pytest.raises(ContractError, match="does not fit"):
        check_graph(
            Contract(size=(40, 64)), "tensor(uint8)", [1, 48, None, 3], "tensor(float)", [1, 8, 8]
        )
    with pytest.raises(ContractError, match="give --size"):
        check_graph(Contract(), "tensor(uint8)", [1, None, None, 3], "tensor(float)", [1, 8, 8])


def test_a_size_other_than_a_fixed_graphs_own_is_refused() -> None:
    with pytest.raises(ContractError, match="leave --size out"):
        check_graph(
            Contract(size=(40, 64)), "tensor(float)", [1, 48, 64, 3], "tensor(float)", [48, 64, 1]
        )


@pytest.mark.parametrize(
    ("contract", "input_type", "input_shape", "output_type", "output_shape", "message"),
    [
        (Contract(), "tensor(int64)", [1, 8, 8, 3], "tensor(float)", [1, 8, 8], "only uint8"),
        (Contract(), "tensor(float)", [8, 8, 3], "tensor(float)", [1, 8, 8], "rank 3"),
        (Contract(), "tensor(float)", [2, 8, 8, 3], "tensor(float)", [1, 8, 8], "2 images"),
        (Contract(), "tensor(float)", [1, 3, 8, 8], "tensor(float)", [1, 8, 8], "--layout nchw"),
        (
            Contract(input_range="0-1"),
            "tensor(uint8)",
            [1, 8, 8, 3],
            "tensor(float)",
            [1, 8, 8],
            "need a float input",
        ),
        (Contract(), "tensor(float)", [1, 8, 8, 3], "tensor(int64)", [1, 8, 8], "a float map"),
        (Contract(), "tensor(float)", [1, 8, 8, 3], "tensor(float)", [8, 8], "rank 2"),
        (Contract(), "tensor(float)", [1, 8, 8, 3], "tensor(float)", [1, 2, 8, 2], "one map"),
    ],
)
def test_each_mismatch_is_named(
    contract, input_type, input_shape, output_type, output_shape, message
) -> None:
    with pytest.raises(ContractError, match=message):
        check_graph(contract, input_type, input_shape, output_type, output_shape)
