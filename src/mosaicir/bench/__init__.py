"""Benchmarks: the generated sets, their preview, and (later) the runners that compare tools,
perception and restoration strategies side by side."""
