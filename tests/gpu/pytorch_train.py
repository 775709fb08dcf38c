"""Trains a small MLP on synthetic data with fixed seeds and deterministic kernels, and prints
the loss of every 50th step, a digest of all losses, and the time per step. Run it plain and
under libgpumem_preload.so (with PYTORCH_NO_CUDA_MEMORY_CACHING=1, so every tensor is a
cudaMalloc): the digests must be equal.

    python3 tests/gpu/pytorch_train.py --steps 300
"""
import argparse
import hashlib
import os
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    device = torch.device("cuda")
    model = torch.nn.Sequential(
        torch.nn.Linear(512, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(256, 512, generator=torch.Generator().manual_seed(1)).to(device)
    targets = torch.randint(0, 10, (256,), generator=torch.Generator().manual_seed(2)).to(device)
    losses = []
    for step in range(args.steps):
        if step == 20:
            torch.cuda.synchronize()
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step}: loss {losses[-1]:.6f}")
    torch.cuda.synchronize()
    per_step = (time.perf_counter() - start) / (args.steps - 20)
    digest = hashlib.sha256(",".join(f"{value:.9e}" for value in losses).encode()).hexdigest()[:16]
    print(f"losses digest {digest}; final loss {losses[-1]:.6f}; {per_step * 1e3:.3f} ms per step")
    if os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING") != "1":
        allocated, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
        print(f"pytorch allocator ({os.environ.get('PYTORCH_CUDA_ALLOC_CONF', 'default')}): "
              f"max reserved {reserved / 2**20:.1f} MiB, max allocated {allocated / 2**20:.1f} MiB, "
              f"ratio {reserved / allocated:.3f}")


if __name__ == "__main__":
    main()
