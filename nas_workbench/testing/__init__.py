"""Contract suites that every implementation of a workbench interface passes (Optuna's pattern).

`nas_workbench.testing.spaces`: the search-space contract; `nas_workbench.testing.samplers`: the strategy
(sampler) contract. These modules import pytest; use them in tests.
"""
