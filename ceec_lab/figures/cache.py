"""Results of the figures' training runs, cached as JSON beside the notebook.

A training-based figure is drawn from plain numbers (epoch records, accuracies),
so the numbers are what gets cached. A cached file remembers the settings that
produced it; change a setting (or pass ``recompute=True``) and it is computed
again. Files are written atomically (:func:`ceec_lab.files.save_json`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ceec_lab.files import save_json


def _as_json(value: Any) -> Any:
    """``value`` as it comes back from a JSON file (tuples become lists)."""
    return json.loads(json.dumps(value))


def cached(
    path: str | Path,
    settings: dict[str, Any],
    compute: Callable[[], Any],
    recompute: bool = False,
) -> tuple[Any, bool]:
    """The results stored at ``path`` for ``settings``, or ``compute()`` stored there.

    Args:
        path: the JSON file.
        settings: everything the results depend on (JSON-able); a file written with
            other settings is ignored and overwritten.
        compute: makes the results (JSON-able) when there is no matching file.
        recompute: ignore any file and compute.

    Returns:
        ``(results, from_cache)``.
    """
    path = Path(path)
    settings = _as_json(settings)
    if not recompute and path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("settings") == settings:
            return stored["results"], True
    results = _as_json(compute())
    save_json({"settings": settings, "results": results}, path)
    return results, False
