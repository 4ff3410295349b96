"""HTML reports of restorations."""

from mosaicir.report.html import image_data_uri, write_restore_report

__all__ = ["image_data_uri", "write_restore_report"]
