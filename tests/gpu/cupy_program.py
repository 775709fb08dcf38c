"""A CuPy program (CuPy links the CUDA runtime statically and reaches the driver by dlsym):
allocates and frees arrays in a loop and checks a computation. Prints "cupy_program: ok".
Run under libgpumem_preload.so with GPUMEM_REPORT=text to see its allocations served."""
import cupy

# No CuPy pool: every array is a cudaMalloc, so the shim (or CUDA) sees each one.
cupy.cuda.set_allocator(None)

total = 0.0
for round_ in range(200):
    a = cupy.arange(100000, dtype=cupy.float64)
    b = a * 2.0 + round_
    total = float(b.sum())
    del a, b
expected = 2.0 * (100000 * 99999 / 2) + 199 * 100000
assert abs(total - expected) < 1e-6 * expected, (total, expected)
print("cupy_program: ok")
