#include "core/report_tree.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/byte_size.hpp"

namespace gpumem::core {

report_node& report_node::set(std::string key, report_node value) {
  for (report_member& member : members_) {
    if (member.key == key) {
      member.value = std::move(value);
      return member.value;
    }
  }
  members_.push_back(report_member{std::move(key), std::move(value)});
  return members_.back().value;
}

report_node& report_node::add(std::string key, report_node value) {
  members_.push_back(report_member{std::move(key), std::move(value)});
  return members_.back().value;
}

report_node& report_node::push(report_node element) {
  elements_.push_back(std::move(element));
  return elements_.back();
}

const report_node* report_node::find(std::string_view key) const noexcept {
  for (const report_member& member : members_) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

/// The words of a key for people: `_` as spaces, "cuda" as "CUDA".
std::string label_of(std::string_view key) {
  std::string label;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('_', start);
    if (end == std::string_view::npos) end = key.size();
    const std::string_view word = key.substr(start, end - start);
    if (!label.empty()) label += ' ';
    label += word == "cuda" ? std::string_view{"CUDA"} : word;
    start = end + 1;
  }
  return label;
}

std::string printed(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

bool is_scalar(const report_node& node) {
  return node.what() != report_node::kind::object && node.what() != report_node::kind::list &&
         !(node.what() == report_node::kind::text && node.text().find('\n') != std::string::npos);
}

/// "label value" for a number or a one-line text, the unit taken from the key.
std::string field_text(const std::string& key, const report_node& value) {
  if (value.what() == report_node::kind::text) return label_of(key) + " " + value.text();
  struct unit {
    std::string_view suffix;
    std::string (*write)(double);
  };
  static const unit units[] = {
      {"_bytes",
       [](double v) {
         // (A number read from JSON may be anything: beyond 2^64 - 1, or not finite.)
         constexpr double kMost = 18446744073709549568.0;  // the largest double below 2^64
         const double clamped = std::isfinite(v) ? std::clamp(v, 0.0, kMost) : 0.0;
         return format_bytes(static_cast<std::uint64_t>(clamped));
       }},
      {"_ms", [](double v) { return printed("%.1f ms", v); }},
      {"_s", [](double v) { return printed("%.3f s", v); }},
      {"_percent", [](double v) { return printed("%.0f%%", v); }},
  };
  for (const unit& u : units) {
    if (ends_with(key, u.suffix))
      return label_of(std::string_view{key}.substr(0, key.size() - u.suffix.size())) + " " +
             u.write(value.number());
  }
  if (value.what() == report_node::kind::integer)
    return label_of(key) + " " + std::to_string(value.integer());
  return label_of(key) + " " + printed("%.3g", value.real());
}

class text_writer {
 public:
  explicit text_writer(std::string_view prefix) : prefix_{prefix} {}

  /// Writes `node`'s line (`heading`, then its numbers and one-line texts), then its several-line
  /// texts, objects and lists, one level deeper. With `named_by_first`, the first member is the
  /// heading ("device 0"). An object without a line of its own puts its children at its level.
  void object(const report_node& node, std::string heading, int depth, bool named_by_first) {
    std::string fields;
    std::size_t first = 0;
    if (named_by_first && !node.members().empty() && is_scalar(node.members()[0].value)) {
      heading = field_text(node.members()[0].key, node.members()[0].value);
      first = 1;
    }
    for (std::size_t i = first; i < node.members().size(); ++i) {
      const report_member& member = node.members()[i];
      if (is_scalar(member.value))
        fields += (fields.empty() ? "" : ", ") + field_text(member.key, member.value);
    }
    // An object of objects only (a stack's layers) is a grouping: its members stand at its level.
    const bool has_line = !fields.empty() || (!heading.empty() && named_by_first);
    if (has_line) line(depth, heading + (!heading.empty() && !fields.empty() ? ": " : "") + fields);
    const int inner = has_line ? depth + 1 : depth;
    for (std::size_t i = first; i < node.members().size(); ++i) {
      const report_member& member = node.members()[i];
      if (is_scalar(member.value)) continue;
      switch (member.value.what()) {
        case report_node::kind::text: {
          line(inner, label_of(member.key) + ":");
          std::istringstream lines{member.value.text()};
          for (std::string text; std::getline(lines, text);)
            if (!text.empty()) line(inner + 1, text);
          break;
        }
        case report_node::kind::object:
          object(member.value, label_of(member.key), inner, false);
          break;
        case report_node::kind::list:
          // Each element carries its name in its first member: the list's own name adds nothing.
          for (const report_node& element : member.value.elements()) {
            if (element.what() == report_node::kind::object) {
              object(element, label_of(member.key), inner, true);
            } else {
              line(inner, field_text(member.key, element));
            }
          }
          break;
        default:
          break;
      }
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void line(int depth, const std::string& text) {
    out_ += prefix_;
    out_.append(static_cast<std::size_t>(2 * depth), ' ');
    out_ += text;
    out_ += '\n';
  }

  std::string_view prefix_;
  std::string out_;
};

void json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void json_value(std::string& out, const report_node& node, int depth) {
  const std::string indent(static_cast<std::size_t>(2 * (depth + 1)), ' ');
  switch (node.what()) {
    case report_node::kind::integer:
      out += std::to_string(node.integer());
      return;
    case report_node::kind::real:
      out += std::isfinite(node.real()) ? printed("%.10g", node.real()) : "null";
      return;
    case report_node::kind::text:
      json_string(out, node.text());
      return;
    case report_node::kind::list: {
      out += '[';
      bool first = true;
      for (const report_node& element : node.elements()) {
        out += first ? "\n" : ",\n";
        out += indent;
        json_value(out, element, depth + 1);
        first = false;
      }
      if (!first) {
        out += '\n';
        out.append(indent, std::min<std::size_t>(2, indent.size()));  // one level less
      }
      out += ']';
      return;
    }
    case report_node::kind::object: {
      out += '{';
      bool first = true;
      for (const report_member& member : node.members()) {
        out += first ? "\n" : ",\n";
        out += indent;
        json_string(out, member.key);
        out += ": ";
        json_value(out, member.value, depth + 1);
        first = false;
      }
      if (!first) {
        out += '\n';
        out.append(indent, std::min<std::size_t>(2, indent.size()));  // one level less
      }
      out += '}';
      return;
    }
  }
}

/// A recursive-descent reader of JSON.
class json_reader {
 public:
  explicit json_reader(std::string_view text) : text_{text} {}

  std::optional<report_node> document(std::string* why) {
    skip_space();
    if (peek() != '{') return fail("a JSON object must start the text", why);
    std::optional<report_node> root = value(0);
    if (root) {
      skip_space();
      if (at_ < text_.size()) return fail("text after the JSON object", why);
    }
    if (!root && why != nullptr) *why = problem_ + " at offset " + std::to_string(at_);
    return root;
  }

 private:
  static constexpr int kDeepest = 64;

  std::optional<report_node> fail(std::string what, std::string* why) {
    if (why != nullptr) *why = what + " at offset " + std::to_string(at_);
    return std::nullopt;
  }
  std::optional<report_node> problem(std::string what) {
    if (problem_.empty()) problem_ = std::move(what);
    return std::nullopt;
  }

  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
  }
  bool word(std::string_view expected) {
    if (text_.substr(at_, expected.size()) != expected) return false;
    at_ += expected.size();
    return true;
  }

  std::optional<report_node> value(int depth) {
    if (depth > kDeepest) return problem("nested deeper than 64 levels");
    skip_space();
    const char c = peek();
    if (c == '{') return object(depth);
    if (c == '[') return list(depth);
    if (c == '"') {
      std::optional<std::string> text = string();
      if (!text) return std::nullopt;
      return report_node{std::move(*text)};
    }
    if (word("true")) return report_node{1};
    if (word("false")) return report_node{0};
    if (word("null")) return report_node{"null"};
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return problem(at_ < text_.size() ? "an unexpected character" : "the text ends early");
  }

  std::optional<report_node> object(int depth) {
    ++at_;  // '{'
    report_node node;
    skip_space();
    if (peek() == '}') {
      ++at_;
      return node;
    }
    while (true) {
      skip_space();
      if (peek() != '"') return problem("a member name (a string) is expected");
      std::optional<std::string> key = string();
      if (!key) return std::nullopt;
      skip_space();
      if (peek() != ':') return problem("':' is expected after a member name");
      ++at_;
      std::optional<report_node> member = value(depth + 1);
      if (!member) return std::nullopt;
      node.add(std::move(*key), std::move(*member));
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      if (peek() == '}') {
        ++at_;
        return node;
      }
      return problem("',' or '}' is expected in an object");
    }
  }

  std::optional<report_node> list(int depth) {
    ++at_;  // '['
    report_node node = report_node::list();
    skip_space();
    if (peek() == ']') {
      ++at_;
      return node;
    }
    while (true) {
      std::optional<report_node> element = value(depth + 1);
      if (!element) return std::nullopt;
      node.push(std::move(*element));
      skip_space();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      if (peek() == ']') {
        ++at_;
        return node;
      }
      return problem("',' or ']' is expected in a list");
    }
  }

  std::optional<std::string> string() {
    ++at_;  // '"'
    std::string text;
    while (at_ < text_.size()) {
      const char c = text_[at_++];
      if (c == '"') return text;
      if (static_cast<unsigned char>(c) < 0x20) {
        problem("a control character inside a string");
        return std::nullopt;
      }
      if (c != '\\') {
        text += c;
        continue;
      }
      const char escaped = peek();
      ++at_;
      switch (escaped) {
        case '"':
        case '\\':
        case '/':
          text += escaped;
          break;
        case 'n':
          text += '\n';
          break;
        case 't':
          text += '\t';
          break;
        case 'r':
          text += '\r';
          break;
        case 'b':
          text += '\b';
          break;
        case 'f':
          text += '\f';
          break;
        case 'u': {
          if (at_ + 4 > text_.size()) {
            problem("a \\u escape cut short");
            return std::nullopt;
          }
          unsigned code = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = text_[at_++];
            code <<= 4;
            if (h >= '0' && h <= '9') {
              code |= static_cast<unsigned>(h - '0');
            } else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f') {
              code |= static_cast<unsigned>((h | 0x20) - 'a' + 10);
            } else {
              problem("a bad \\u escape");
              return std::nullopt;
            }
          }
          // UTF-8 of the code unit (a surrogate pair's halves are written as they come).
          if (code < 0x80) {
            text += static_cast<char>(code);
          } else if (code < 0x800) {
            text += static_cast<char>(0xc0 | (code >> 6));
            text += static_cast<char>(0x80 | (code & 0x3f));
          } else {
            text += static_cast<char>(0xe0 | (code >> 12));
            text += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
            text += static_cast<char>(0x80 | (code & 0x3f));
          }
          break;
        }
        default:
          problem("an unknown escape in a string");
          return std::nullopt;
      }
    }
    problem("a string does not end");
    return std::nullopt;
  }

  std::optional<report_node> number() {
    const std::size_t start = at_;
    bool real = false;
    if (peek() == '-') ++at_;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c >= '0' && c <= '9') {
        ++at_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        real = true;
        ++at_;
      } else {
        break;
      }
    }
    const std::string digits{text_.substr(start, at_ - start)};
    char* end = nullptr;
    if (!real) {
      errno = 0;
      const long long value = std::strtoll(digits.c_str(), &end, 10);
      if (end == digits.c_str() + digits.size() && errno == 0)
        return report_node{static_cast<std::int64_t>(value)};
    }
    const double value = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size() || digits == "-") return problem("a bad number");
    return report_node{value};
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::string problem_;
};

}  // namespace

std::string report_text(const report_node& root, std::string_view prefix) {
  text_writer writer{prefix};
  writer.object(root, "", 0, true);
  return writer.take();
}

std::string report_json(const report_node& root) {
  std::string out;
  json_value(out, root, 0);
  out += '\n';
  return out;
}

std::optional<report_node> parse_report_json(std::string_view text, std::string* why) {
  return json_reader{text}.document(why);
}

}  // namespace gpumem::core
