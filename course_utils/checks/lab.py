"""The students' JupyterLab (``make lab``): saving leaves the kernel's metadata alone.

When a kernel starts, JupyterLab writes the kernel's ``language_info`` (the
Python version, the lexer, ...) into the notebook's metadata, which marks the
notebook as changed; autosave then rewrites the exercise file, and ``git
status`` lists it as modified although the student changed nothing.  The
kernel's display name had the same effect: the releases carry
``"Python 3 (ipykernel)"``, the name ipykernel gives its kernel.

:func:`keep_language_info` is a Jupyter server *pre-save hook*
(``ContentsManager.pre_save_hook`` in ``lab_config/student``): it saves a
notebook with the ``language_info`` the file already has, so a notebook
opened and saved without edits keeps exactly its bytes.
"""

from __future__ import annotations

import json
from pathlib import Path


def keep_language_info(model: dict, path: str, contents_manager, **kwargs) -> None:
    """Pre-save hook: keep the ``language_info`` of the notebook already on disk (or none)."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    try:
        on_disk = json.loads(Path(contents_manager._get_os_path(path)).read_text("utf-8"))
        old = on_disk["metadata"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # a new notebook (or not one): nothing to keep
    metadata = model["content"].setdefault("metadata", {})
    if "language_info" in old:
        metadata["language_info"] = old["language_info"]
    else:
        metadata.pop("language_info", None)
