"""FC-EF, FC-Siam-conc, FC-Siam-diff (Daudt et al. 2018): ``model.py`` wires ``blocks.py``."""

from ceec_lab.models.siamese.model import (
    FCEF,
    FCSiamConc,
    FCSiamDiff,
    fc_ef,
    fc_siam_conc,
    fc_siam_diff,
)

__all__ = ["FCEF", "FCSiamConc", "FCSiamDiff", "fc_ef", "fc_siam_conc", "fc_siam_diff"]
