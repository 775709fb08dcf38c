#!/usr/bin/env python3
"""Writes the synthetic allocation logs of the memory-efficiency benchmark (docs/performance.md)
in the logging layer's CSV format, for `gpumem replay`:

  random.csv       RMM's random-allocation pattern: each step allocates (73 %) a size uniform in
                   [1 B, 1 MiB] or frees a random live block, 20 000 allocations, one stream
  adversarial.csv  many small blocks interleaved with large ones, the small ones freed, then
                   blocks larger than any hole: a pool that cannot merge across its slabs, or
                   that keeps the holes, holds far more than is in use

    scripts/generate-synthetic-logs.py OUTPUT_FOLDER
"""
import os
import random
import sys

HEADER = "Thread,Time,Action,Pointer,Size,Stream\n"
KiB, MiB = 1 << 10, 1 << 20


class log_writer:
    def __init__(self, path):
        self.file = open(path, "w")
        self.file.write(HEADER)
        self.next_address = 0x7F0000000000
        self.tick = 0

    def row(self, action, address, size):
        self.tick += 1
        seconds, micros = divmod(self.tick, 1_000_000)
        self.file.write(f"1,00:00:{seconds:02d}.{micros:06d},{action},{address:#x},{size},0\n")

    def allocate(self, size):
        address = self.next_address
        self.next_address += (size + 255) // 256 * 256 + 4096
        self.row("allocate", address, size)
        return address, size

    def free(self, block):
        self.row("free", *block)

    def close(self):
        self.file.close()


def random_pattern(path, allocations=20000):
    generator = random.Random(20261129)
    log, live, made = log_writer(path), [], 0
    while made < allocations:
        if not live or generator.random() < 0.73:
            live.append(log.allocate(generator.randint(1, MiB)))
            made += 1
        else:
            log.free(live.pop(generator.randrange(len(live))))
    for block in live:
        log.free(block)
    log.close()


def adversarial_pattern(path, rounds=400):
    log, small, large = log_writer(path), [], []
    for _ in range(rounds):
        small.extend(log.allocate(256 * KiB) for _ in range(8))
        large.append(log.allocate(6 * MiB))
    for block in small:
        log.free(block)
    bigger = [log.allocate(24 * MiB) for _ in range(rounds // 8)]
    for block in large + bigger:
        log.free(block)
    log.close()


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    random_pattern(os.path.join(folder, "random.csv"))
    adversarial_pattern(os.path.join(folder, "adversarial.csv"))
    print(f"generate-synthetic-logs: wrote random.csv and adversarial.csv in {folder}")


if __name__ == "__main__":
    main()
