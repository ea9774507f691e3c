"""Test configuration: a modest hypothesis profile so that the whole suite stays fast on two cores."""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# One intra-op thread per process: the suite runs under `pytest -n 2` on small machines, where torch's default
# thread pool oversubscribes the cores and makes tiny ops orders of magnitude slower.
torch.set_num_threads(1)
