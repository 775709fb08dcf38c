#!/usr/bin/env python3
"""Writes include/rmm/: RMM 25.10's header paths, each including the gpumem header that
implements it and naming its entities in the real namespaces `rmm` and `rmm::mr`
(using-declarations: `rmm::device_buffer` is `gpumem::device_buffer`), so code written against
RMM compiles against gpumem unchanged, including code that reopens `namespace rmm`. Run after adding a public header; the output is
committed so readers see plain headers.

    scripts/generate-rmm-headers.py
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPUMEM = ROOT / "include" / "gpumem"
RMM = ROOT / "include" / "rmm"

# gpumem header (relative to include/gpumem) -> the RMM paths (relative to include/rmm) it serves.
# Device resources and adaptors live in rmm/mr/device/ in 25.10 and in rmm/mr/ from 25.12 on;
# seeds use both, so both exist.
DEVICE_RESOURCES = [
    "arena_memory_resource", "binning_memory_resource", "callback_memory_resource",
    "cuda_async_memory_resource", "cuda_async_view_memory_resource", "cuda_memory_resource",
    "device_memory_resource", "fixed_size_memory_resource", "managed_memory_resource",
    "owning_wrapper", "pool_memory_resource", "aligned_resource_adaptor",
    "failure_callback_resource_adaptor", "limiting_resource_adaptor", "logging_resource_adaptor",
    "prefetch_resource_adaptor", "statistics_resource_adaptor", "thread_safe_resource_adaptor",
    "tracking_resource_adaptor", "per_device_resource",
]
HOST_RESOURCES = ["host_memory_resource", "new_delete_resource", "pinned_memory_resource"]
OTHER = {
    "mr/pinned_host_memory_resource.hpp": ["mr/pinned_host_memory_resource.hpp"],
    "mr/is_resource_adaptor.hpp": ["mr/is_resource_adaptor.hpp"],
    "logger.hpp": ["logger.hpp"],
    "cuda_device.hpp": ["cuda_device.hpp"],
    "cuda_stream_view.hpp": ["cuda_stream_view.hpp"],
    "resource_ref.hpp": ["resource_ref.hpp"],
    "aligned.hpp": ["aligned.hpp"],
    "error.hpp": ["error.hpp"],
    "detail/error_macros.hpp": ["detail/error.hpp"],
    "cuda_stream.hpp": ["cuda_stream.hpp"],
    "cuda_stream_pool.hpp": ["cuda_stream_pool.hpp"],
    "device_buffer.hpp": ["device_buffer.hpp"],
    "device_uvector.hpp": ["device_uvector.hpp"],
    "device_scalar.hpp": ["device_scalar.hpp"],
    "device_vector.hpp": ["device_vector.hpp"],
    "exec_policy.hpp": ["exec_policy.hpp"],
    "prefetch.hpp": ["prefetch.hpp"],
    "mr/thrust_allocator_adaptor.hpp": ["mr/device/thrust_allocator_adaptor.hpp", "mr/thrust_allocator_adaptor.hpp"],
    "mr/polymorphic_allocator.hpp": ["mr/device/polymorphic_allocator.hpp", "mr/polymorphic_allocator.hpp"],
}


# RMM's public headers (outside detail/) at the 25.10 paths, from RMM's repository (file names
# only). Device resources live in rmm/mr/device/ there; their rmm/mr/ spellings (RMM 25.12 on)
# are served too. docs/rmm-compatibility.md gives each one's status.
RMM_PUBLIC_HEADERS = [
    "aligned.hpp", "cuda_device.hpp", "cuda_stream.hpp", "cuda_stream_pool.hpp",
    "cuda_stream_view.hpp", "device_buffer.hpp", "device_scalar.hpp", "device_uvector.hpp",
    "device_vector.hpp", "error.hpp", "exec_policy.hpp", "logger.hpp", "prefetch.hpp",
    "resource_ref.hpp", "mr/is_resource_adaptor.hpp", "mr/pinned_host_memory_resource.hpp",
    "mr/host/host_memory_resource.hpp", "mr/host/new_delete_resource.hpp",
    "mr/host/pinned_memory_resource.hpp",
] + [f"mr/device/{name}.hpp" for name in [
    "aligned_resource_adaptor", "arena_memory_resource", "binning_memory_resource",
    "callback_memory_resource", "cuda_async_managed_memory_resource", "cuda_async_memory_resource",
    "cuda_async_view_memory_resource", "cuda_memory_resource", "device_memory_resource",
    "failure_callback_resource_adaptor", "fixed_size_memory_resource", "limiting_resource_adaptor",
    "logging_resource_adaptor", "managed_memory_resource", "owning_wrapper", "per_device_resource",
    "polymorphic_allocator", "pool_memory_resource", "prefetch_resource_adaptor",
    "sam_headroom_memory_resource", "statistics_resource_adaptor", "system_memory_resource",
    "thread_safe_resource_adaptor", "thrust_allocator_adaptor", "tracking_resource_adaptor",
]]
# Not provided yet (docs/rmm-compatibility.md says what each needs).
RMM_MISSING = {
    "mr/device/cuda_async_managed_memory_resource.hpp": "managed memory from the driver's pool",
    "mr/device/sam_headroom_memory_resource.hpp": "system-allocated memory with GPU headroom",
    "mr/device/system_memory_resource.hpp": "system-allocated memory (HMM/ATS devices)",
}
EVERY_HEADER = ROOT / "tests" / "rmm_compat" / "every_header.cpp"


def write_every_header_test():
    """tests/rmm_compat/every_header.cpp includes every RMM header gpumem provides: removing one
    (or breaking one) fails the build."""
    provided = [h for h in RMM_PUBLIC_HEADERS if h not in RMM_MISSING]
    for header in provided:
        if not (RMM / header).exists():
            raise SystemExit(f"generate-rmm-headers: <rmm/{header}> is listed as provided but not written")
    EVERY_HEADER.write_text(
        "// Every public header of RMM 25.10 that gpumem provides, included at its RMM path.\n"
        "// Generated by scripts/generate-rmm-headers.py from its RMM_PUBLIC_HEADERS list.\n"
        + "".join(f"#include <rmm/{header}>\n" for header in provided)
        + "\n#include <cstdio>\n\nint main() {\n"
        f'  std::printf("rmm headers: {len(provided)} of {len(RMM_PUBLIC_HEADERS)} included\\n");\n'
        "  return 0;\n}\n")


def mapping():
    pairs = {}
    for name in DEVICE_RESOURCES:
        targets = [f"mr/device/{name}.hpp", f"mr/{name}.hpp"]
        pairs[f"mr/{name}.hpp"] = targets
    for name in HOST_RESOURCES:
        pairs[f"mr/{name}.hpp"] = [f"mr/host/{name}.hpp"]
    pairs.update(OTHER)
    return pairs


def public_names(path):
    """(namespace, name) of each public declaration of a gpumem header: the declarations that
    start a line (clang-format puts namespace members at column 0, class members deeper) in
    namespaces gpumem and gpumem::mr; detail namespaces, operators, forward declarations and
    deduction guides are skipped."""
    namespaces, names = [], []
    for line in path.read_text().splitlines():
        opened = re.match(r"^namespace ([\w:]+) \{", line)
        if opened:
            namespaces.append(opened.group(1))
            continue
        if re.match(r"^\}\s*// namespace", line):
            if namespaces:
                namespaces.pop()
            continue
        namespace = "::".join(namespaces)
        if namespace not in ("gpumem", "gpumem::mr") or re.match(r"^(class|struct) \w+;", line):
            continue
        found = (re.match(r"^(?:template <.*> )?(?:class|struct) (\w+)\b", line)
                 or re.match(r"^using (\w+)\s*=", line)
                 or re.match(r"^(?:inline |static )*(?:constexpr|const) [\w:]+ (\w+)\s*[={]", line)
                 or re.match(r"^(?:\[\[nodiscard\]\] )?(?:inline |constexpr |static |template <[^>]*> )*"
                             r"(?!return\b)[\w:<>,*&]+(?:<[^()]*>)?[*& ]+(\w+)\(", line))
        if not found:
            continue
        name = found.group(1)
        if name.startswith("operator") or (name[0].isupper() and not name.isupper()):
            continue  # operators; template parameters such as Resource
        if (namespace, name) not in names:
            names.append((namespace, name))
    return names


def direct_gpumem_includes(path):
    """The public gpumem headers `path` includes itself (relative paths)."""
    return [included for included in re.findall(r'#include [<"]gpumem/([\w/]+\.hpp)[>"]', path.read_text())
            if "detail/" not in included and (GPUMEM / included).exists()]


def declarations(source, pairs):
    """What <rmm/...> for <gpumem/source> adds: the rmm headers of the gpumem headers it
    includes (so their names come along, as RMM's headers bring their includes' names), and
    using-declarations naming its own entities in rmm and rmm::mr. A gpumem header without an
    rmm path has its names declared here instead."""
    includes, names = [], {"gpumem": [], "gpumem::mr": []}

    def add_names(header):
        for namespace, name in public_names(GPUMEM / header):
            if name not in names[namespace]:
                names[namespace].append(name)

    add_names(source)
    pending, seen = list(direct_gpumem_includes(GPUMEM / source)), {source}
    while pending:
        header = pending.pop(0)
        if header in seen:
            continue
        seen.add(header)
        if header in pairs:
            includes.append(f"#include <rmm/{pairs[header][0]}>\n")
        else:
            add_names(header)
            pending.extend(direct_gpumem_includes(GPUMEM / header))
    text = "".join(includes)
    for namespace, rmm_namespace in (("gpumem", "rmm"), ("gpumem::mr", "rmm::mr")):
        if names[namespace]:
            text += f"\nnamespace {rmm_namespace} {{\n"
            text += "".join(f"using {namespace}::{name};\n" for name in names[namespace])
            text += f"}}  // namespace {rmm_namespace}\n"
    return text


# What a header adds besides using-declarations.
# RMM's own tests compare with the initial resource, a detail function RMM code does call.
PER_DEVICE_DETAIL = """
namespace rmm::mr::detail {
using gpumem::mr::detail::initial_resource;
}  // namespace rmm::mr::detail
"""

EXTRA = {
    "mr/per_device_resource.hpp": PER_DEVICE_DETAIL,
    "mr/device/per_device_resource.hpp": PER_DEVICE_DETAIL,
    "logger.hpp": """
// RMM's logger types are rapids_logger's; gpumem's logger has their API.
namespace rapids_logger = gpumem::logging;

// RMM's logging macros (printf-style, as rapids_logger's): compiled out below
// RMM_LOG_ACTIVE_LEVEL (default info), then filtered by the default logger's level.
#define RMM_LOG_LEVEL_TRACE 0
#define RMM_LOG_LEVEL_DEBUG 1
#define RMM_LOG_LEVEL_INFO 2
#define RMM_LOG_LEVEL_WARN 3
#define RMM_LOG_LEVEL_ERROR 4
#define RMM_LOG_LEVEL_CRITICAL 5
#define RMM_LOG_LEVEL_OFF 6
#ifndef RMM_LOG_ACTIVE_LEVEL
#define RMM_LOG_ACTIVE_LEVEL RMM_LOG_LEVEL_INFO
#endif
#define RMM_LOG_AT(level, name, ...) \\
  ((RMM_LOG_ACTIVE_LEVEL <= (level)) ? ::gpumem::default_logger().name(__VA_ARGS__) : void(0))
#define RMM_LOG_TRACE(...) RMM_LOG_AT(RMM_LOG_LEVEL_TRACE, trace, __VA_ARGS__)
#define RMM_LOG_DEBUG(...) RMM_LOG_AT(RMM_LOG_LEVEL_DEBUG, debug, __VA_ARGS__)
#define RMM_LOG_INFO(...) RMM_LOG_AT(RMM_LOG_LEVEL_INFO, info, __VA_ARGS__)
#define RMM_LOG_WARN(...) RMM_LOG_AT(RMM_LOG_LEVEL_WARN, warn, __VA_ARGS__)
#define RMM_LOG_ERROR(...) RMM_LOG_AT(RMM_LOG_LEVEL_ERROR, error, __VA_ARGS__)
#define RMM_LOG_CRITICAL(...) RMM_LOG_AT(RMM_LOG_LEVEL_CRITICAL, critical, __VA_ARGS__)
""",
}


def main():
    written = 0
    pairs = {source: targets for source, targets in mapping().items() if (GPUMEM / source).exists()}
    for source, targets in mapping().items():
        if not (GPUMEM / source).exists():
            continue  # not implemented yet
        for target in targets:
            path = RMM / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                "#pragma once\n"
                f"// RMM compatibility: <rmm/{target}> is gpumem's <gpumem/{source}>: the same\n"
                "// entities, named in the namespaces rmm and rmm::mr as well.\n"
                "// Generated by scripts/generate-rmm-headers.py.\n"
                f"#include <gpumem/{source}>\n"
                "#include <rmm/detail/gpumem_namespace.hpp>\n"
                + declarations(source, pairs) + EXTRA.get(target, ""))
            written += 1
    print(f"wrote {written} headers under {RMM.relative_to(ROOT)}")
    write_every_header_test()


if __name__ == "__main__":
    main()
