# Tests of the CUDA-backed and host resources.
