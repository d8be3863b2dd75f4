"""``import ceec_lab as cl`` gives the sub-packages as attributes."""

from __future__ import annotations

import pytest

import ceec_lab as cl


def test_subpackages_are_reachable_from_the_top() -> None:
    assert cl.data.SyntheticChangeDataset is not None
    assert callable(cl.models.create_model) and callable(cl.losses.create_loss)
    assert cl.train.Trainer is not None and callable(cl.viz.plot_targets)
    assert callable(cl.figures.fig02_fractal_tanimoto_landscape)


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cl.nope  # noqa: B018
