"""Trains a small transformer encoder on synthetic token sequences whose length changes every
step (64 to 512 tokens), so tensor sizes vary as in language-model training, and prints the
memory PyTorch's caching allocator held: max_memory_reserved / max_memory_allocated (run with
caching on, with and without PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True), or, with
PYTORCH_NO_CUDA_MEMORY_CACHING=1 under gpumem's logging layer, the allocation log replayed by
`gpumem replay` (docs/performance.md, memory efficiency).

    python3 bench/efficiency/transformer_train.py [--steps N]
"""
import argparse
import os
import random

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    torch.manual_seed(0)
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
    for step in range(args.steps):
        length = lengths.randint(64, 512)
        tokens = torch.randint(0, vocabulary, (16, length), device=device)
        optimizer.zero_grad(set_to_none=True)
        logits = head(encoder(embedding(tokens)))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocabulary),
                                                 tokens.reshape(-1))
        loss.backward()
        optimizer.step()
    torch.cuda.synchronize()
    allocated = torch.cuda.max_memory_allocated()
    reserved = torch.cuda.max_memory_reserved()
    caching = os.environ.get("PYTORCH_NO_CUDA_MEMORY_CACHING") != "1"
    print(f"transformer: {args.steps} steps, final loss {loss.item():.4f}")
    if caching:
        print(f"pytorch allocator ({os.environ.get('PYTORCH_CUDA_ALLOC_CONF', 'default')}): "
              f"max reserved {reserved / 2**20:.1f} MiB, max allocated {allocated / 2**20:.1f} MiB, "
              f"ratio {reserved / allocated:.3f}")


if __name__ == "__main__":
    main()
