"""ceec_lab: a teaching kit for semantic segmentation and change detection.

Import it as ``import ceec_lab as cl``. The sub-packages are

* :mod:`ceec_lab.data` - synthetic scenes, real LEVIR-CD/WHU-CD folders, tiling,
  multitask targets and paired augmentation;
* :mod:`ceec_lab.losses` and :mod:`ceec_lab.metrics` - the Dice family, Tanimoto,
  fractal Tanimoto and the change metrics;
* :mod:`ceec_lab.models` - FCN/U-Net/DeepLab baselines, Siamese change detectors,
  CEECNet and FracTAL ResNet;
* :mod:`ceec_lab.train` - the training engine;
* :mod:`ceec_lab.viz` - matplotlib figures and ipywidgets explorers;
* :mod:`ceec_lab.figures` - the CEECNet paper's figures, one function each.

Importing the package sets ``OMP_WAIT_POLICY=PASSIVE`` (unless it is already set)
before torch loads, so that idle CPU threads sleep instead of spinning on a busy
machine; see :mod:`ceec_lab.cpu`. Import ``ceec_lab`` before ``torch`` for it to work.
"""

import importlib
from types import ModuleType

# First, before anything imports torch: OpenMP reads its wait policy when torch loads.
from ceec_lab.cpu import configure_cpu_threads

# isort: split
from ceec_lab.settings import describe_mode, find_levircd_samples, get_device, is_quick, run_mode

__version__ = "0.1.0"

_SUBMODULES = ("data", "experiments", "figures", "losses", "metrics", "models", "train", "viz")

__all__ = [
    "__version__",
    "configure_cpu_threads",
    "describe_mode",
    "find_levircd_samples",
    "get_device",
    "is_quick",
    "run_mode",
    *_SUBMODULES,
]


def __getattr__(name: str) -> ModuleType:
    """Import sub-packages on first use, so ``cl.data`` works after ``import ceec_lab as cl``
    without paying for matplotlib and ipywidgets until they are needed."""
    if name in _SUBMODULES:
        return importlib.import_module(f"ceec_lab.{name}")
    raise AttributeError(f"module 'ceec_lab' has no attribute {name!r}")
