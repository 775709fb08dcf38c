"""Trains a small transformer encoder on synthetic token sequences whose length changes every
step (64 to 512 tokens), so tensor sizes vary as in language-model training, and prints the
memory PyTorch's caching allocator held: max_memory_reserved / max_memory_allocated (run with
caching on, with and without PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True), or, with
PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem's logging layer, the allocation log replayed by
`gpumem replay` (docs/performance.md, memory efficiency). Also prints the time per step (after
ten steps of warm-up) and a digest of every step's loss, so runs under different allocators
compare in speed and in results (scripts/bench-shim.sh, T8).

    python3 bench/efficiency/transformer_train.py [--steps N]
"""
import argparse
import hashlib
import os
import random
import time

# Deterministic cuBLAS, so the same losses under every allocator (before torch is imported).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True, warn_only=True)
    lengths = random.Random(3)
    device = torch.device("cuda")
    vocabulary, width = 8000, 256
    embedding = torch.nn.Embedding(vocabulary, width).to(device)
    layer = torch.nn.TransformerEncoderLayer(width, nhead=8, dim_feedforward=1024,
                                             batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=4).to(device)
    head = torch.nn.Linear(width, vocabulary).to(device)
    parameters = [*embedding.parameters(), *encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    losses = []
    warm_up = min(10, args.steps - 1)
    start = time.perf_counter()
    for step in range(args.steps):
        if step == warm_up:
            torch.cuda.synchronize()
            start = time.perf_counter()
        length = lengths.randint(64, 512)
        tokens = torch.randint(0, vocabulary, (16, length), device=device)
        optimizer.zero_grad(set_to_none=True)
        logits = head(encoder(embedding(tokens)))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocabulary),
                                                 tokens.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    torch.cuda.synchronize()
    per_step = (time.perf_counter() - start) / max(1, args.steps - warm_up)
    digest = hashlib.sha256(",".join(f"{value:.9e}" for value in losses).encode()).hexdigest()[:16]
    allocated = torch.cuda.max_memory_allocated()
    reserved = torch.cuda.max_memory_reserved()
    caching = os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING") != "1"
    print(f"transformer: {args.steps} steps, final loss {loss.item():.4f}")
    print(f"losses digest {digest}; final loss {losses[-1]:.6f}; {per_step * 1e3:.3f} ms per step")
    if caching:
        print(f"pytorch allocator ({os.environ.get('PYTORCH_CUDA_ALLOC_CONF', 'default')}): "
              f"max reserved {reserved / 2**20:.1f} MiB, max allocated {allocated / 2**20:.1f} MiB, "
              f"ratio {reserved / allocated:.3f}")


if __name__ == "__main__":
    main()
