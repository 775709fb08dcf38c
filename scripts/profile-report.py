#!/usr/bin/env python3
"""A flat profile from libgpumem_sampler.so's output (bench/sampler/sampler.cpp): the percent of
CPU samples in each function and in each module, as `perf report --no-children` gives it. Each
sampled address is placed in the mapping it fell in (the output's copy of /proc/self/maps), its
file offset turned into the module's own address through the ELF program headers, and named by
addr2line (one batch per module) or, where addr2line is missing or knows nothing, by the
nearest preceding symbol that nm lists (PLT stubs by objdump's labels, as name@plt). Several
files (runs, or the processes of one run) add up.

    profile-report.py [--top N] [--module-filter SUBSTR] [--inline | --chain] [--params] [--width N]
                      [--scale NS] FILE...

First the totals, with the samples per CPU second reached and the samples of each thread; then
the top functions; then the modules. Addresses in no mapping, or in one with no file ([vdso],
[anon], [heap], ...), count as "(that mapping)". With --module-filter, only modules whose path
contains SUBSTR are listed (the percentages stay of all samples). --scale NS adds a column with
each row's share of NS (the benchmark's time per iteration, say: where those nanoseconds go).
Names are those of the symbols, without parameters, as perf shows them; --inline names the
innermost inlined function instead, where the module has debug information. The modules are
read where the run had them: a module rebuilt since gets a warning (its names may be wrong).
Python 3 standard library only.
"""
import argparse
import bisect
import collections
import os
import re
import shutil
import signal
import struct
import subprocess
import sys

NO_FILE = "(no mapping)"


class Mapping:
    """One line of /proc/self/maps."""

    def __init__(self, line):
        fields = line.split(None, 5)
        start, end = fields[0].split("-")
        self.start = int(start, 16)
        self.end = int(end, 16)
        self.perms = fields[1]
        self.offset = int(fields[2], 16)
        self.inode = int(fields[4]) if len(fields) > 4 else 0
        self.path = fields[5].strip() if len(fields) > 5 else ""
        if self.path.endswith(" (deleted)"):
            self.path = self.path[: -len(" (deleted)")]

    def is_file(self):
        return self.path.startswith("/")

    def module(self):
        """The path, or the pseudo-mapping's own name, "[anon]" for an unnamed one."""
        return self.path or "[anon]"


class Profile:
    """The samples of one output file: header figures, mappings and counts by address."""

    def __init__(self, path):
        self.path = path
        self.header = {}
        self.mappings = []
        self.counts = collections.Counter()
        self.threads = {}  # thread id -> samples
        with open(path, encoding="utf-8", errors="replace") as text:
            for line in text:
                if line.startswith("# thread "):
                    words = line.split()
                    self.threads[int(words[2])] = int(words[4])
                elif line.startswith("#"):
                    words = line[1:].split()
                    for key, value in zip(words[::2], words[1::2]):
                        self.header[key] = value
                elif line.startswith("map "):
                    try:
                        self.mappings.append(Mapping(line[4:]))
                    except (ValueError, IndexError):
                        print(f"{path}: unreadable map line: {line.rstrip()}", file=sys.stderr)
                elif line.startswith("ip "):
                    _, address, count = line.split()
                    self.counts[int(address, 16)] += int(count)
        self.mappings.sort(key=lambda m: m.start)
        self.starts = [m.start for m in self.mappings]

    def mapping_of(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address < self.mappings[index].end:
            return self.mappings[index]
        return None

    def number(self, key, kind=float, default=0):
        try:
            return kind(self.header.get(key, default))
        except ValueError:
            return default


class ElfFile:
    """The PT_LOAD program headers of an ELF file, read with struct, to turn a file offset into
    the address the file's symbols and debug information use."""

    def __init__(self, path):
        self.loads = []  # (p_offset, p_filesz, p_vaddr)
        self.plt = []  # (sh_addr, sh_size, name) of the .plt sections, whose code has no symbols
        try:
            with open(path, "rb") as f:
                ident = f.read(16)
                if len(ident) < 16 or ident[:4] != b"\x7fELF":
                    return
                is64 = ident[4] == 2
                order = "<" if ident[5] == 1 else ">"
                if is64:
                    header = f.read(48)
                    e_phoff, e_shoff = struct.unpack_from(order + "QQ", header, 16)
                    e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx = \
                        struct.unpack_from(order + "HHHHH", header, 38)
                else:
                    header = f.read(36)
                    e_phoff, e_shoff = struct.unpack_from(order + "II", header, 12)
                    e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx = \
                        struct.unpack_from(order + "HHHHH", header, 26)
                f.seek(e_phoff)
                table = f.read(e_phentsize * e_phnum)
                self._read_loads(table, is64, order, e_phentsize, e_phnum)
                self._read_plt_sections(f, is64, order, e_shoff, e_shentsize, e_shnum, e_shstrndx)
        except (OSError, struct.error, IndexError):
            return

    def _read_loads(self, table, is64, order, e_phentsize, e_phnum):
        for i in range(e_phnum):
            entry = table[i * e_phentsize:(i + 1) * e_phentsize]
            if is64:
                if len(entry) < 56:
                    break
                p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from(
                    order + "IIQQQQQQ", entry)
            else:
                if len(entry) < 32:
                    break
                p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = struct.unpack_from(
                    order + "IIIIIIII", entry)
            if p_type == 1:  # PT_LOAD
                self.loads.append((p_offset, p_filesz, p_vaddr))

    def _read_plt_sections(self, f, is64, order, e_shoff, e_shentsize, e_shnum, e_shstrndx):
        if e_shoff == 0 or e_shnum == 0 or e_shstrndx >= e_shnum:
            return
        f.seek(e_shoff)
        table = f.read(e_shentsize * e_shnum)
        sections = []  # (sh_name, sh_addr, sh_offset, sh_size)
        for i in range(e_shnum):
            entry = table[i * e_shentsize:(i + 1) * e_shentsize]
            if is64:
                sh_name, _, _, sh_addr, sh_offset, sh_size = struct.unpack_from(
                    order + "IIQQQQ", entry)
            else:
                sh_name, _, _, sh_addr, sh_offset, sh_size = struct.unpack_from(
                    order + "IIIIII", entry)
            sections.append((sh_name, sh_addr, sh_offset, sh_size))
        _, _, names_offset, names_size = sections[e_shstrndx]
        f.seek(names_offset)
        names = f.read(names_size)
        for sh_name, sh_addr, _, sh_size in sections:
            name = names[sh_name:names.find(b"\0", sh_name)].decode(errors="replace")
            if name == ".plt" or name.startswith(".plt.") or name == ".iplt":
                self.plt.append((sh_addr, sh_size, name))

    def plt_section(self, address):
        """The name of the .plt section that holds `address`, or None."""
        for start, size, name in self.plt:
            if start <= address < start + size:
                return name
        return None

    def address_of(self, offset):
        """The virtual address at file offset `offset` (the offset itself where no segment holds
        it, as for a file that is not ELF)."""
        for p_offset, p_filesz, p_vaddr in self.loads:
            if p_offset <= offset < p_offset + p_filesz:
                return offset - p_offset + p_vaddr
        return offset


def addr2line_names(path, addresses, inline):
    """{address: function} from one addr2line run over `addresses`; functions it does not know
    are left out. Empty when addr2line is missing or fails."""
    tool = shutil.which("addr2line")
    if tool is None or not addresses:
        return {}
    # -i: the chain of inlined functions, innermost first, ending with the one that holds the
    # code (the symbol, as perf names it).
    command = [tool, "-a", "-i", "-f", "-C", "-e", path]
    try:
        run = subprocess.run(command, input="".join(f"{a:#x}\n" for a in addresses),
                             capture_output=True, text=True, check=False, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return {}
    if run.returncode != 0:
        return {}
    # With -a every record starts with the address; then function and file:line pairs, one
    # pair per inlining level (innermost first) with -i.
    names = {}
    current = None
    functions = []

    def finish():
        if current is not None and functions:
            if inline == "chain":
                # innermost first, then each function it was inlined into, out to the symbol
                name = " < ".join(without_template_arguments(without_parameters(f))
                                  for f in functions)
            else:
                name = functions[0] if inline else functions[-1]
            if name and name != "??":
                names[current] = name

    lines = run.stdout.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("0x") and all(c in "0123456789abcdefABCDEF" for c in line[2:]):
            finish()
            current = int(line, 16)
            functions = []
            index += 1
            continue
        functions.append(line)
        index += 2  # skip the file:line line
    finish()
    return names


def plt_names(path, sections, addresses):
    """{address: "function@plt"} for addresses in the .plt sections, from objdump's labels; the
    section's name where objdump is missing."""
    labels = []  # (address, label)
    tool = shutil.which("objdump")
    if tool is not None:
        command = [tool, "-d", "-C"]
        for section in sorted(set(sections.values())):
            command += ["-j", section]
        try:
            run = subprocess.run(command + [path], capture_output=True, text=True, check=False,
                                 timeout=600)
            for line in run.stdout.splitlines():
                match = re.match(r"^([0-9a-fA-F]+) <(.*)>:$", line)
                if match:
                    labels.append((int(match.group(1), 16), match.group(2)))
        except (OSError, subprocess.SubprocessError):
            pass
    labels.sort()
    starts = [start for start, _ in labels]
    names = {}
    for address in addresses:
        index = bisect.bisect_right(starts, address) - 1
        label = labels[index][1] if index >= 0 else ""
        if not label or "@plt-" in label or "+" in label:
            label = f"({sections[address]})"  # the first entry, the lazy binder's
        names[address] = label
    return names


class SymbolTable:
    """Symbols from `nm -C --defined-only` and `nm -D`, for the nearest preceding one."""

    def __init__(self, path):
        self.starts = []
        self.entries = []
        tool = shutil.which("nm")
        if tool is None:
            return
        symbols = {}
        for extra in ([], ["-D"]):
            try:
                run = subprocess.run([tool, "-C", "-S", "--defined-only", *extra, path],
                                     capture_output=True, text=True, check=False, timeout=600)
            except (OSError, subprocess.SubprocessError):
                continue
            for line in run.stdout.splitlines():
                fields = line.split(None, 3)
                try:
                    if len(fields) == 4:
                        start, size, kind, name = int(fields[0], 16), int(fields[1], 16), \
                            fields[2], fields[3]
                    elif len(fields) == 3:
                        start, size, kind, name = int(fields[0], 16), 0, fields[1], fields[2]
                    else:
                        continue
                except ValueError:
                    continue
                if kind not in "TtWwiI":  # code: text, weak, indirect functions
                    continue
                name = re.sub(r"@@?[A-Za-z_][A-Za-z0-9_.]*$", "", name)  # a version: @@GLIBC_2.2.5
                if start not in symbols or (size and not symbols[start][0]):
                    symbols[start] = (size, name)
        for start in sorted(symbols):
            self.starts.append(start)
            self.entries.append(symbols[start])

    def name_of(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        if index < 0:
            return None
        size, name = self.entries[index]
        if size and address >= self.starts[index] + size:
            return f"?? [after {name}]"
        return name


def check_unchanged(mapping):
    """Warns when the file at a mapping's path is not the one the process had mapped (rebuilt or
    deleted since the run): its names would be wrong."""
    try:
        inode = os.stat(mapping.path).st_ino
    except OSError:
        print(f"warning: {mapping.path} is gone: its samples stay unnamed", file=sys.stderr)
        return
    if mapping.inode and inode != mapping.inode:
        print(f"warning: {mapping.path} is not the file the run had mapped (inode {inode}, "
              f"was {mapping.inode}): rebuilt since? its names may be wrong", file=sys.stderr)


def resolve(profiles, inline):
    """Counter {(module path, function): samples} over all profiles."""
    by_module = collections.defaultdict(collections.Counter)  # path -> {module address: n}
    totals = collections.Counter()
    elf_files = {}
    for profile in profiles:
        for address, count in profile.counts.items():
            mapping = profile.mapping_of(address)
            if mapping is None:
                totals[(NO_FILE, NO_FILE)] += count
                continue
            if not mapping.is_file():
                module = mapping.module()
                totals[(module, f"({module})")] += count
                continue
            if mapping.path not in elf_files:
                elf_files[mapping.path] = ElfFile(mapping.path)
                check_unchanged(mapping)
            offset = address - mapping.start + mapping.offset
            by_module[mapping.path][elf_files[mapping.path].address_of(offset)] += count
    for path, counts in by_module.items():
        plt = {a: elf_files[path].plt_section(a) for a in counts}
        plt = {a: section for a, section in plt.items() if section is not None}
        addresses = sorted(a for a in counts if a not in plt)
        names = addr2line_names(path, addresses, inline) if os.path.exists(path) else {}
        if plt:
            names.update(plt_names(path, plt, plt.keys()))
            addresses = sorted(counts)
        table = None
        for address in addresses:
            name = names.get(address)
            if name is None:
                if table is None:
                    table = SymbolTable(path) if os.path.exists(path) else SymbolTable("")
                name = table.name_of(address) or "??"
            totals[(path, name)] += counts[address]
    return totals


def without_parameters(name):
    """`name` without its parameter list and qualifiers, as perf shows it: "ns::f(int) const"
    -> "ns::f"; a " [clone .cold]" suffix stays."""
    suffix = ""
    if name.endswith("@plt"):
        name, suffix = name[: -len("@plt")], "@plt"
    clone = name.find(" [clone ")
    if clone >= 0:
        name, suffix = name[:clone], name[clone:] + suffix
    stripped = name.rstrip()
    for qualifier in (" const", " volatile", " &&", " &", " noexcept"):
        if stripped.endswith(qualifier):
            stripped = stripped[: -len(qualifier)].rstrip()
    if not stripped.endswith(")"):
        return name + suffix
    depth = 0
    for index in range(len(stripped) - 1, -1, -1):
        c = stripped[index]
        if c in ")>":
            depth += 1
        elif c in "(<":
            depth -= 1
            if depth == 0:
                if c == "(" and index > 0:
                    return stripped[:index] + suffix
                break
    return name + suffix


def without_template_arguments(name):
    """`name` with each outermost <...> shown as <...>: std::map<int, long>::find becomes
    std::map<...>::find (operator<, operator<< and the like kept)."""
    out = []
    depth = 0
    index = 0
    while index < len(name):
        if name.startswith("operator", index) and depth == 0:
            match = re.match(r"operator(<=>|<<=|<<|<=|<|>>=|>>|>=|>|->\*|->)", name[index:])
            if match:
                out.append(match.group(0))
                index += len(match.group(0))
                continue
        c = name[index]
        if c == "<":
            if depth == 0:
                out.append("<...>")
            depth += 1
        elif c == ">" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(c)
        index += 1
    return "".join(out)


def shown_name(name, keep_parameters, width):
    if not keep_parameters:
        name = without_parameters(name)
    if width and len(name) > width:
        name = without_template_arguments(name)
    if width and len(name) > width:
        keep = width - 3
        name = name[: keep // 3] + "..." + name[-(keep - keep // 3):]
    return name


def percent(part, whole):
    return 100.0 * part / whole if whole else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="sampler output files")
    parser.add_argument("--top", type=int, default=40, help="functions listed (default 40)")
    parser.add_argument("--module-filter", metavar="SUBSTR",
                        help="list only modules whose path contains SUBSTR")
    parser.add_argument("--inline", action="store_true",
                        help="name the innermost inlined function, not the symbol")
    parser.add_argument("--chain", action="store_true",
                        help="name the whole chain of inlined functions, innermost first "
                        "(where a lock's time goes: its caller is in the chain)")
    parser.add_argument("--params", action="store_true",
                        help="keep the parameter lists (and so overloads apart)")
    parser.add_argument("--width", type=int, default=120, metavar="N",
                        help="names longer than N characters lose their template arguments, "
                        "then their middle (default 120; 0: full names)")
    parser.add_argument("--scale", type=float, metavar="NS",
                        help="add each row's share of NS (e.g. ns per benchmark iteration)")
    args = parser.parse_args()

    profiles = [Profile(path) for path in args.files]
    totals = collections.Counter()
    for (module, function), n in resolve(profiles, "chain" if args.chain else args.inline).items():
        totals[(module, shown_name(function, args.params, args.width))] += n
    total = sum(totals.values())
    dropped = sum(p.number("dropped", int) for p in profiles)
    cpu_s = sum(p.number("cpu_s") for p in profiles)
    rates = sorted({p.header.get("hz", "?") for p in profiles})
    print(f"total samples: {total}  (dropped {dropped}; {len(profiles)} file(s); "
          f"hz asked {','.join(rates)}", end="")
    if cpu_s > 0:
        print(f"; CPU time {cpu_s:.3f} s, {total / cpu_s:.0f} samples per CPU second", end="")
    print(")")
    for profile in profiles:
        if profile.threads:
            counts = sorted(profile.threads.values(), reverse=True)
            listed = ", ".join(str(n) for n in counts[:16]) + (", ..." if len(counts) > 16 else "")
            name = f"{profile.path}: " if len(profiles) > 1 else ""
            print(f"{name}{len(counts)} thread(s) sampled, samples each: {listed}")
    if total == 0:
        return 0

    def wanted(module):
        return args.module_filter is None or args.module_filter in module

    shown = {key: n for key, n in totals.items() if wanted(key[0])}
    if args.module_filter is not None:
        subtotal = sum(shown.values())
        print(f"modules matching {args.module_filter!r}: {subtotal} samples "
              f"({percent(subtotal, total):.1f}% of all); percentages below are of all samples")

    scale_head = f" {'ns':>8}" if args.scale else ""

    def scale_cell(n):
        return f" {args.scale * n / total:8.2f}" if args.scale else ""

    print()
    print(f"{'percent':>8} {'samples':>8}{scale_head}  {'module':<28} function")
    ranked = sorted(shown.items(), key=lambda item: (-item[1], item[0][1]))
    for (module, function), n in ranked[:args.top]:
        print(f"{percent(n, total):7.2f}% {n:8d}{scale_cell(n)}  "
              f"{os.path.basename(module) or module:<28} {function}")
    if len(ranked) > args.top:
        rest = sum(n for _, n in ranked[args.top:])
        print(f"{percent(rest, total):7.2f}% {rest:8d}{scale_cell(rest)}  "
              f"{'':<28} ({len(ranked) - args.top} more functions)")

    modules = collections.Counter()
    for (module, _), n in shown.items():
        modules[module] += n
    print()
    print(f"{'percent':>8} {'samples':>8}{scale_head}  module")
    for module, n in sorted(modules.items(), key=lambda item: (-item[1], item[0])):
        print(f"{percent(n, total):7.2f}% {n:8d}{scale_cell(n)}  {module}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    sys.exit(main())
