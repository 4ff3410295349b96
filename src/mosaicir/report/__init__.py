"""HTML reports of restorations: one self-contained page and a JSON sidecar per image
(:func:`write_restore_report`), made again from a trajectory (:func:`report_from_trajectory`),
and an index page per batch (:func:`write_batch_index`)."""

from mosaicir.report.from_trajectory import default_report_path, report_from_trajectory
from mosaicir.report.html import image_data_uri, json_sidecar, write_restore_report
from mosaicir.report.index import IndexEntry, index_path, read_facts, write_batch_index

__all__ = [
    "IndexEntry", "default_report_path", "image_data_uri", "index_path", "json_sidecar", "read_facts",
    "report_from_trajectory", "write_batch_index", "write_restore_report",
]
