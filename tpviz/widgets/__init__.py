"""The live class-visualization explorer (ipywidgets): ``from tpviz.widgets import explorer``."""

from .explorer_box import Explorer, View, explorer, png

__all__ = ["Explorer", "View", "explorer", "png"]
