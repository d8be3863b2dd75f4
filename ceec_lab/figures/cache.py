"""Results of the figures' training runs, kept as JSON so that a figure is redrawn, not retrained.

A training-based figure is drawn from plain numbers (epoch records, accuracies),
so the numbers are what gets kept. A results file remembers the settings that
produced it; change a setting (or pass ``recompute=True``) and the numbers are
computed again. Two places can hold them:

* the **cache**, a folder the notebook writes (``runs/paper_figures/<budget>/``);
* the **recorded** results shipped with the kit (``ceec_lab/figures/recorded/``),
  written by ``scripts/record_figure_runs.py`` with the same functions and settings,
  so that a first opening of notebook 06 draws the figures in seconds.

Files are written atomically (:func:`ceec_lab.files.save_json`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ceec_lab.files import save_json

#: Where the kit's recorded results live: ``recorded/<budget>/<name>.json``.
RECORDED_DIR = Path(__file__).parent / "recorded"


def _as_json(value: Any) -> Any:
    """``value`` as it comes back from a JSON file (tuples become lists)."""
    return json.loads(json.dumps(value))


def _stored_results(path: Path, settings: Any) -> Any | None:
    """The results in ``path`` if it exists and was written with ``settings``, else ``None``."""
    if not path.is_file():
        return None
    stored = json.loads(path.read_text())
    return stored["results"] if stored.get("settings") == settings else None


def cached(
    path: str | Path,
    settings: dict[str, Any],
    compute: Callable[[], Any],
    recompute: bool = False,
    recorded: str | Path | None = None,
) -> tuple[Any, str]:
    """The results stored for ``settings``, or ``compute()`` stored at ``path``.

    Looks in ``path`` first, then in ``recorded`` (read only); computes when neither
    holds results with these settings, or when ``recompute`` is set.

    Args:
        path: the cache file; written when the results are computed.
        settings: everything the results depend on (JSON-able); a file written with
            other settings is ignored (and the cache file overwritten).
        compute: makes the results (JSON-able).
        recompute: ignore both files and compute.
        recorded: a shipped results file to use before computing.

    Returns:
        ``(results, source)``, ``source`` one of ``"cache"``, ``"recorded"`` or
        ``"computed"`` (in this call).
    """
    path = Path(path)
    settings = _as_json(settings)
    if not recompute:
        for source, candidate in (("cache", path), ("recorded", recorded)):
            if candidate is not None:
                results = _stored_results(Path(candidate), settings)
                if results is not None:
                    return results, source
    results = _as_json(compute())
    save_json({"settings": settings, "results": results}, path)
    return results, "computed"
