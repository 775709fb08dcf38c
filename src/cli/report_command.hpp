#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "cli/log_summary.hpp"

namespace gpumem::cli {

/// What `gpumem report` was asked for.
struct report_options {
  std::string log;  ///< an allocation log (the logging layer's CSV) or a JSON report
  std::optional<std::string> html;  ///< also write a self-contained page here
};

/// Writes the summary of a log as text: totals, peak and when, sizes, streams, threads and the
/// oldest blocks still allocated.
void write_summary_text(const std::string& name, const log_summary& summary, std::ostream& out);

/**
 * @brief Writes a self-contained HTML page (no network: inline SVG and CSS) with the timeline
 * of bytes in use (the peak and failed allocations marked) and the summary's tables.
 */
void write_summary_html(const std::string& name, const log_summary& summary, std::ostream& out);

/**
 * @brief `gpumem report LOG.csv [--html OUT.html]`; given the shim's JSON report instead of a
 * log, its text form (and with --html the same as a page).
 * @return 0; 1 when the file cannot be read or the page cannot be written
 */
int report(const report_options& options);

}  // namespace gpumem::cli
