"""TEMPORARY, delete on merge: :mod:`ceec_lab.settings` under its old name.

Only ``ceec_lab/train/trainer.py`` still imports from here (it is being refactored
elsewhere and could not be edited with the rename); switch its import to
``from ceec_lab.settings import get_device`` and delete this file.
"""

from ceec_lab.settings import get_device

__all__ = ["get_device"]
