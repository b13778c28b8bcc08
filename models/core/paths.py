"""Where things live: the repository's assets and the per-user cache of derived files."""

import os
from pathlib import Path

from models.core.errors import ModelLoadError

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS = REPO_ROOT / "assets"
APP_NAME = "dl-demo-studio"


def cache_dir() -> Path:
    """`$STUDIO_CACHE_DIR`, else `$XDG_CACHE_HOME/dl-demo-studio`, else `~/.cache/dl-demo-studio`."""
    if os.environ.get("STUDIO_CACHE_DIR"):
        path = Path(os.environ["STUDIO_CACHE_DIR"])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / APP_NAME
    path.mkdir(parents=True, exist_ok=True)
    return path


def extras_dir() -> Path:
    """Files that `tools/fetch_extras.py` extracts from wheels (corpora, label lists, TFLite graphs)."""
    return cache_dir() / "extras"


def extra_file(name: str) -> Path:
    """A file fetched by `tools/fetch_extras.py`, or a clear error saying how to get it."""
    path = extras_dir() / name
    if not path.exists():
        raise ModelLoadError(
            f"Data file '{name}' is missing from {extras_dir()}. "
            "Run `make setup` (it calls tools/fetch_extras.py) to fetch it."
        )
    return path
