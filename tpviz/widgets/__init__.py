"""The live class-visualization explorer (ipywidgets): ``from tpviz.widgets import explorer``."""

from .factory import explorer
from .studio import Explorer
from .view import View, png

__all__ = ["Explorer", "View", "explorer", "png"]
