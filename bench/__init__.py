"""The benchmark suite: tinygrad_n2n against PyTorch on CPU and CUDA (`make bench`; see conftest.py)."""
