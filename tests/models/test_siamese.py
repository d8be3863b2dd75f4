"""FC-EF, FC-Siam-conc, FC-Siam-diff: the paper's sizes and how the skips fuse the dates."""

from __future__ import annotations

import pytest
import torch

from ceec_lab.models.siamese import fc_ef, fc_siam_conc, fc_siam_diff
from ceec_lab.models.siamese.blocks import Decoder, Encoder


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("factory", "millions"), [(fc_ef, 1.35), (fc_siam_conc, 1.55), (fc_siam_diff, 1.35)]
)
def test_parameter_counts_match_the_paper(factory, millions: float) -> None:
    # Daudt et al. (2018), and the authors' code with 3-channel dates and 2 classes.
    assert round(_num_params(factory()) / 1e6, 2) == millions


def test_encoder_shapes() -> None:
    skips, bottom = Encoder(in_channels=3)(torch.rand(2, 3, 32, 48))
    assert [tuple(s.shape) for s in skips] == [
        (2, 16, 32, 48),
        (2, 32, 16, 24),
        (2, 64, 8, 12),
        (2, 128, 4, 6),
    ]
    assert bottom.shape == (2, 128, 2, 3)


def test_decoder_takes_doubled_skips_for_concatenation() -> None:
    skips, bottom = Encoder(in_channels=3).eval()(torch.rand(1, 3, 32, 32))
    doubled = [torch.cat([s, s], dim=1) for s in skips]
    logits = Decoder(num_classes=2, skip_multiplier=2).eval()(bottom, doubled)
    assert logits.shape == (1, 2, 32, 32)


@pytest.mark.parametrize("factory", [fc_ef, fc_siam_conc, fc_siam_diff])
def test_output_depends_on_both_dates(factory) -> None:
    torch.manual_seed(0)
    model = factory().eval()
    x1, x2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        reference = model(x1, x2)
        assert not torch.allclose(model(x1 + 0.5, x2), reference)
        assert not torch.allclose(model(x1, x2 + 0.5), reference)


def test_siamese_encoders_share_weights() -> None:
    # One encoder serves both dates: FC-Siam-diff has fewer weights than FC-EF,
    # whose first convolution sees 6 channels.
    assert _num_params(fc_siam_diff().encoder) < _num_params(fc_ef().encoder)
    assert _num_params(fc_siam_diff().encoder) == _num_params(fc_siam_conc().encoder)


def test_siam_diff_skips_vanish_for_identical_dates() -> None:
    """With x1 = x2 every |skip1 − skip2| is zero: the output is the decoder's on zero skips."""
    torch.manual_seed(0)
    model = fc_siam_diff().eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        skips, bottom = model.encoder(x)
        expected = model.decoder(bottom, [torch.zeros_like(s) for s in skips])
        torch.testing.assert_close(model(x, x), expected)
