import os

# `make test` runs four xdist workers on two cores: one torch thread each (in the workers and in
# the notebook and grading kernels they start, which inherit this), or their threads compete
# for the cores. Measured on the 24 shorter notebooks: 157 s with the default, 138 s.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    yield
