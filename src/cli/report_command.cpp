#include "cli/report_command.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/byte_size.hpp"
#include "core/report_tree.hpp"

namespace gpumem::cli {
namespace {

/// The oldest outstanding blocks shown.
constexpr std::size_t kOutstandingShown = 10;

std::string seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f s", value);
  return text;
}

std::string hex(std::uintptr_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string stream_name(std::uintptr_t stream) {
  return stream == 0 ? std::string{"0 (default)"} : hex(stream);
}

/// A table both formats show.
struct table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

/// The summary's tables, in the order shown.
std::vector<table> tables_of(const log_summary& summary) {
  table sizes{"sizes", {"size", "allocations", "bytes"}, {}};
  for (const size_class& size : summary.sizes) {
    sizes.rows.push_back({"up to " + core::format_bytes(size.largest),
                          std::to_string(size.allocations),
                          core::format_bytes(size.bytes)});
  }
  table streams{"streams", {"stream", "allocations", "bytes", "peak in use"}, {}};
  for (const auto& [stream, share] : summary.streams) {
    streams.rows.push_back({stream_name(stream),
                            std::to_string(share.allocations),
                            core::format_bytes(share.bytes),
                            core::format_bytes(share.peak_in_use)});
  }
  table threads{"threads", {"thread", "allocations"}, {}};
  for (const auto& [thread, allocations] : summary.threads)
    threads.rows.push_back({std::to_string(thread), std::to_string(allocations)});
  table outstanding{
      "oldest blocks still allocated", {"pointer", "size", "allocated at", "thread", "stream"}, {}};
  for (std::size_t i = 0; i < std::min(kOutstandingShown, summary.outstanding.size()); ++i) {
    const outstanding_block& block = summary.outstanding[i];
    outstanding.rows.push_back({hex(block.pointer),
                                core::format_bytes(block.size),
                                seconds(block.allocated_at),
                                std::to_string(block.thread),
                                stream_name(block.stream)});
  }
  return {sizes, streams, threads, outstanding};
}

void text_table(std::ostream& out, const table& shown) {
  const auto& [title, header, rows] = shown;
  if (rows.empty()) return;
  out << "\n" << title << "\n";
  std::vector<std::size_t> widths(header.size());
  for (std::size_t column = 0; column < header.size(); ++column) {
    widths[column] = header[column].size();
    for (const auto& row : rows)
      widths[column] = std::max(widths[column], row[column].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    out << " ";
    for (std::size_t column = 0; column < cells.size(); ++column)
      out << " " << cells[column] << std::string(widths[column] - cells[column].size() + 1, ' ');
    out << "\n";
  };
  line(header);
  for (const auto& row : rows)
    line(row);
}

std::string escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void html_table(std::ostream& out, const table& shown) {
  const auto& [title, header, rows] = shown;
  if (rows.empty()) return;
  out << "<h2>" << escaped(title) << "</h2>\n<table>\n<tr>";
  for (const auto& cell : header)
    out << "<th>" << escaped(cell) << "</th>";
  out << "</tr>\n";
  for (const auto& row : rows) {
    out << "<tr>";
    for (const auto& cell : row)
      out << "<td>" << escaped(cell) << "</td>";
    out << "</tr>\n";
  }
  out << "</table>\n";
}

}  // namespace

void write_summary_text(const std::string& name, const log_summary& summary, std::ostream& out) {
  out << "gpumem report " << name << "\n"
      << "  " << summary.allocations << " allocations ("
      << core::format_bytes(summary.bytes_allocated) << "), " << summary.frees << " frees, "
      << summary.failed << " failed, over " << seconds(summary.duration) << "\n"
      << "  peak in use " << core::format_bytes(summary.peak_in_use) << " at "
      << seconds(summary.peak_time) << "\n"
      << "  still allocated at the end: " << summary.outstanding.size() << " blocks, "
      << core::format_bytes(summary.outstanding_bytes) << "\n";
  if (summary.duration > 0) {
    char rate[64];
    std::snprintf(
        rate, sizeof rate, "%.0f", static_cast<double>(summary.allocations) / summary.duration);
    out << "  " << rate << " allocations per second\n";
  }
  for (const table& shown : tables_of(summary))
    text_table(out, shown);
}

void write_summary_html(const std::string& name, const log_summary& summary, std::ostream& out) {
  constexpr double kWidth = 960;
  constexpr double kHeight = 320;
  constexpr double kMargin = 48;
  const double span = summary.duration > 0 ? summary.duration : 1.0;
  const double top = summary.peak_in_use > 0 ? static_cast<double>(summary.peak_in_use) : 1.0;
  const auto x = [&](double time) { return kMargin + time / span * (kWidth - 2 * kMargin); };
  const auto y = [&](std::size_t bytes) {
    return kHeight - kMargin - static_cast<double>(bytes) / top * (kHeight - 2 * kMargin);
  };
  out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gpumem report "
      << escaped(name)
      << "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
         "collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:"
         "right}polyline{fill:none;stroke:#1f77b4;stroke-width:1.5}.failure{stroke:#d62728}"
         "</style></head><body>\n<h1>gpumem report "
      << escaped(name) << "</h1>\n<p>" << summary.allocations << " allocations, " << summary.frees
      << " frees, " << summary.failed << " failed, over " << seconds(summary.duration)
      << "; peak in use " << escaped(core::format_bytes(summary.peak_in_use)) << " at "
      << seconds(summary.peak_time)
      << "; still allocated at the end: " << summary.outstanding.size() << " blocks, "
      << escaped(core::format_bytes(summary.outstanding_bytes)) << ".</p>\n";
  char number[64];
  out << "<svg width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\">\n";
  out << "<line x1=\"" << kMargin << "\" y1=\"" << kHeight - kMargin << "\" x2=\""
      << kWidth - kMargin << "\" y2=\"" << kHeight - kMargin << "\" stroke=\"#888\"/>\n";
  out << "<text x=\"" << kMargin << "\" y=\"" << kMargin - 8 << "\">bytes in use (peak "
      << escaped(core::format_bytes(summary.peak_in_use)) << ")</text>\n";
  out << "<text x=\"" << kWidth - kMargin << "\" y=\"" << kHeight - 16 << "\" text-anchor=\"end\">"
      << seconds(summary.duration) << "</text>\n";
  out << "<text x=\"" << kMargin << "\" y=\"" << kHeight - 16 << "\">0 s</text>\n";
  // The peak's level, and where in time it was.
  char peak_x[32];
  std::snprintf(peak_x, sizeof peak_x, "%.1f", x(summary.peak_time));
  out << "<line x1=\"" << kMargin << "\" y1=\"" << kMargin << "\" x2=\"" << kWidth - kMargin
      << "\" y2=\"" << kMargin << "\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n"
      << "<circle cx=\"" << peak_x << "\" cy=\"" << kMargin << "\" r=\"3\" fill=\"#d62728\"/>\n";
  out << "<polyline points=\"";
  for (const timeline_point& point : summary.timeline) {
    std::snprintf(number, sizeof number, "%.1f,%.1f ", x(point.time), y(point.in_use));
    out << number;
  }
  out << "\"/>\n";
  for (const double failure : summary.failures) {
    std::snprintf(number, sizeof number, "%.1f", x(failure));
    out << "<line class=\"failure\" x1=\"" << number << "\" y1=\"" << kMargin << "\" x2=\""
        << number << "\" y2=\"" << kHeight - kMargin << "\"/>\n";
  }
  out << "</svg>\n";
  for (const table& shown : tables_of(summary))
    html_table(out, shown);
  out << "</body></html>\n";
}

namespace {

/// Whether `path` holds a JSON report (its first character that is not a space is `{`).
bool is_json_report(const std::string& path) {
  std::ifstream in{path};
  char first = '\0';
  while (in.get(first) && std::isspace(static_cast<unsigned char>(first))) {
  }
  return in && first == '{';
}

/// `gpumem report REPORT.json`: the shim's JSON report in the text form it would have printed.
void report_json_file(const report_options& options) {
  std::ifstream in{options.log};
  std::ostringstream content;
  content << in.rdbuf();
  std::string why;
  const std::optional<core::report_node> tree = core::parse_report_json(content.str(), &why);
  if (!tree) throw std::runtime_error{options.log + ": not a JSON report: " + why};
  const std::string text = core::report_text(*tree, "");
  std::cout << text;
  if (options.html) {
    std::ofstream page{*options.html};
    if (!page) throw std::runtime_error{*options.html + ": cannot be written"};
    page << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>gpumem report "
         << escaped(options.log) << "</title>\n<style>body{font-family:sans-serif;margin:2em}"
         << "pre{font-size:13px;line-height:1.4}</style></head><body>\n<h1>gpumem report "
         << escaped(options.log) << "</h1>\n<pre>" << escaped(text) << "</pre>\n"
         << "<p>A report has no timeline; an allocation log (the logging layer's CSV) has.</p>\n"
         << "</body></html>\n";
    if (!page) throw std::runtime_error{*options.html + ": cannot be written"};
    std::cout << "\ngpumem report: the page is " << *options.html << "\n";
  }
}

}  // namespace

int report(const report_options& options) {
  try {
    std::ifstream in{options.log};
    if (!in) throw std::runtime_error{options.log + ": cannot be read"};
    if (is_json_report(options.log)) {
      report_json_file(options);
      return 0;
    }
    const log_summary summary = summarize(read_allocation_log(in, options.log));
    write_summary_text(options.log, summary, std::cout);
    if (options.html) {
      std::ofstream page{*options.html};
      if (!page) throw std::runtime_error{*options.html + ": cannot be written"};
      write_summary_html(options.log, summary, page);
      std::cout << "\ngpumem report: the page is " << *options.html << "\n";
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "gpumem report: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace gpumem::cli
