"""Reproducible training recipes for every network mosaicir ships (PyTorch, optional extra
``pip install -e '.[train]'``). Inference needs only ONNX Runtime."""
