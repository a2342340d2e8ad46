"""Save and reload training state: array leaves with `eqx.tree_serialise_leaves`, plus a
JSON sidecar for plain metadata (configuration, progress, history).

`save(path, tree, meta)` writes `path` (the leaves) and `path + ".json"`; `load(path, like)`
reads them back into the structure of `like` (a PyTree of the same shapes and dtypes, e.g.
freshly initialised weights or optimiser state). Writes go through a temporary file and an
atomic rename, so an interrupted run never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import equinox as eqx

from ..output import plain_json


def save(path: str | Path, tree, meta: dict | None = None) -> Path:
    """Write the array leaves of `tree` to `path` and `meta` (JSON-able) beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    eqx.tree_serialise_leaves(tmp, tree)
    meta_tmp = path.with_name(path.name + ".json.tmp")
    meta_tmp.write_text(json.dumps(plain_json(meta or {}), indent=1))
    os.replace(tmp, path)
    os.replace(meta_tmp, _meta_path(path))
    return path


def load(path: str | Path, like):
    """Read a checkpoint written by `save` into the structure of `like`.

    **Returns:** `(tree, meta)`. **Raises:** `ValueError` if `path` or its metadata is
    missing, or the stored leaves do not match `like`.
    """
    path = Path(path)
    if not path.exists() or not _meta_path(path).exists():
        raise ValueError(f"path must name a checkpoint written by save(); {path} (or its "
                         f".json) does not exist")
    try:
        tree = eqx.tree_deserialise_leaves(path, like)
    except Exception as error:  # the format raises various errors on a mismatch
        raise ValueError(f"checkpoint {path} does not match the structure of `like`: "
                         f"{error}") from error
    return tree, json.loads(_meta_path(path).read_text())


def resume(path: str | Path | None, like, config: dict):
    """The training state saved at `path` by a run with the same `config` (`meta["config"]`):
    `(tree, meta)`, or None when there is no checkpoint (or `path` is None).

    **Raises:** `ValueError` if the checkpoint was written with other settings.
    """
    if path is None or not exists(path):
        return None
    tree, meta = load(path, like)
    if meta.get("config") != config:
        raise ValueError(f"checkpoint {path} was written with other settings "
                         f"{meta.get('config')}; remove it or use the same settings")
    return tree, meta


def exists(path: str | Path) -> bool:
    """Whether a complete checkpoint (leaves and metadata) is at `path`."""
    path = Path(path)
    return path.exists() and _meta_path(path).exists()


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
