"""FCN-32s/16s/8s (Long, Shelhamer, Darrell 2015): ``model.py`` wires ``blocks.py``."""

from ceec_lab.models.fcn.model import FCN, fcn8s, fcn16s, fcn32s

__all__ = ["FCN", "fcn8s", "fcn16s", "fcn32s"]
