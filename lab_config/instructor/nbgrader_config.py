"""nbgrader reads this file from the Jupyter configuration folder that `make lab` and
`make formgrader` set (JUPYTER_CONFIG_DIR), so `nbgrader validate` in any folder of the
Lab's terminal uses the course's settings.  It only loads the course's own file."""

from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets)
load_subconfig(str(Path(__file__).resolve().parents[2] / "nbgrader_config.py"))  # noqa: F821
