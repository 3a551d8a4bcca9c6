import os

import pytest
import torch
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield


# Training notebooks, then other notebooks and nbgrader runs, then everything else: xdist hands
# tests out in collection order, so the long ones start first and the short ones fill the gaps
# at the end instead of one worker waiting alone on a two-minute notebook.
LONG_FIRST = ("10_ablations", "09_shift_experiment", "08_capstone_training")


def _start_order(item: pytest.Item) -> tuple[int, int]:
    if item.get_closest_marker("notebook"):
        longest = [i for i, name in enumerate(LONG_FIRST) if name in item.nodeid]
        return (0, longest[0]) if longest else (1, 0)
    return (1, 0) if "test_assignments.py" in item.nodeid else (2, 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_start_order)  # stable: the order within each group is kept
