"""Optional packages of the app, imported only where used: a bare `pip install tinygrad_n2n` serves the course API.

Photos and NL-means need scikit-image, image files Pillow, pictures of a run matplotlib; the progress bar uses
tqdm when it is there and is simply left out when it is not.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA = "app"
DISTRIBUTIONS = {"skimage": "scikit-image", "PIL": "Pillow", "matplotlib": "matplotlib", "tqdm": "tqdm"}


class MissingExtraError(ImportError):
    """An optional package is not installed; the message names it and the extra that installs it."""


def require(module: str, purpose: str) -> ModuleType:
    """Import `module` (e.g. "skimage.data") for `purpose` (e.g. "denoise") -> the module.

    Raises MissingExtraError, one line: "denoise needs Pillow: pip install 'tinygrad_n2n[app]'".
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.partition(".")[0]
        if error.name is not None and error.name.partition(".")[0] != top:
            raise  # the package is there but broken inside: keep the real error
        distribution = DISTRIBUTIONS.get(top, top)
        raise MissingExtraError(f"{purpose} needs {distribution}: pip install 'tinygrad_n2n[{EXTRA}]'") from error
