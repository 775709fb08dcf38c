#pragma once
// A folder of its own for the files a test writes: made under the system's folder for
// temporary files (std::filesystem::temp_directory_path(): TMPDIR where it is set), with a
// name no other test or run shares (mkdtemp), and removed with what it holds when the object
// goes. No test writes to a fixed path such as /tmp/NAME.

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace gpumem::test {

class scratch_folder {
 public:
  scratch_folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gpumem-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = pattern;
  }
  ~scratch_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// `name` in the folder.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// The test program's scratch folder, made on first use and removed when the program ends:
/// for files that live as long as objects made outside any one test's scope.
inline const scratch_folder& program_scratch_folder() {
  static const scratch_folder folder;
  return folder;
}

}  // namespace gpumem::test
