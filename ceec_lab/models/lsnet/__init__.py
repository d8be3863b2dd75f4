"""LSNet (Liu et al. 2022), the light-weight Siamese change detector: ``model.py`` wires
``blocks.py``."""

from ceec_lab.models.lsnet.model import LSNet, LSNetConfig, LSNetOutput, lsnet, lsnet_densefpn

__all__ = ["LSNet", "LSNetConfig", "LSNetOutput", "lsnet", "lsnet_densefpn"]
