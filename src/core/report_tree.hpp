#pragma once
// A report's content as one tree, written as text or JSON from the same nodes (so both forms
// say the same), and read back from JSON (`gpumem report FILE.json`).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumem::core {

struct report_member;

/**
 * @brief A node of a report: an object (named members, in order), a list of objects, an
 * integer, a real number or a text.
 *
 * A number's unit is in its name, so the text form can write it for people and the JSON form
 * keeps the plain number: `_bytes` a size (`1.5 GiB`), `_ms` milliseconds, `_s` seconds,
 * `_percent` a share in percent; any other number is a count. The text form drops the unit
 * from the name and writes `_` as a space: `largest_free_block_bytes` is
 * "largest free block 2.0 MiB".
 */
class report_node {
 public:
  enum class kind { object, list, integer, real, text };

  /// An empty object.
  report_node() = default;
  report_node(std::int64_t value) : kind_{kind::integer}, integer_{value} {}  // NOLINT
  report_node(std::uint64_t value)                                            // NOLINT
      : kind_{kind::integer}, integer_{static_cast<std::int64_t>(value)} {}
  report_node(int value) : report_node(static_cast<std::int64_t>(value)) {}       // NOLINT
  report_node(double value) : kind_{kind::real}, real_{value} {}                  // NOLINT
  report_node(std::string value) : kind_{kind::text}, text_{std::move(value)} {}  // NOLINT
  report_node(const char* value) : report_node(std::string{value}) {}             // NOLINT

  /// An empty list.
  static report_node list() {
    report_node node;
    node.kind_ = kind::list;
    return node;
  }

  /// Adds (or replaces) the member `key` of an object; returns it. @pre an object
  report_node& set(std::string key, report_node value);
  /// Appends the member `key` to an object without looking for one of that name (a JSON
  /// object read back keeps every member; find() returns the first). @pre an object
  report_node& add(std::string key, report_node value);
  /// Appends to a list; returns the element. @pre a list
  report_node& push(report_node element);

  /// The member `key` of an object, or null.
  [[nodiscard]] const report_node* find(std::string_view key) const noexcept;

  [[nodiscard]] kind what() const noexcept { return kind_; }
  [[nodiscard]] std::int64_t integer() const noexcept { return integer_; }
  [[nodiscard]] double real() const noexcept { return real_; }
  /// A number of either kind.
  [[nodiscard]] double number() const noexcept {
    return kind_ == kind::real ? real_ : static_cast<double>(integer_);
  }
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] const std::vector<report_member>& members() const noexcept { return members_; }
  [[nodiscard]] const std::vector<report_node>& elements() const noexcept { return elements_; }

 private:
  kind kind_ = kind::object;
  std::int64_t integer_ = 0;
  double real_ = 0.0;
  std::string text_;
  std::vector<report_member> members_;
  std::vector<report_node> elements_;
};

/// A named member of an object.
struct report_member {
  std::string key;
  report_node value;
};

/**
 * @brief The text form: one line per object, each starting with `prefix`, nested objects
 * indented by two spaces under their parent, the object's name (its key, or for a list's
 * element its first member) before its numbers and texts. A text of several lines follows its
 * object's line, indented.
 */
std::string report_text(const report_node& root, std::string_view prefix = "gpumem: ");

/// The JSON form (one object; members in order; two-space indentation for objects).
std::string report_json(const report_node& root);

/**
 * @brief Reads the JSON form back (any JSON object: `true`/`false` become 1/0, `null` the text
 * "null").
 * @return the tree, or nullopt with `why` (the first problem and its offset) when `text` is
 *         not a JSON object or nests deeper than 64 levels
 */
std::optional<report_node> parse_report_json(std::string_view text, std::string* why = nullptr);

}  // namespace gpumem::core
