// A fresh directory under the system's temporary directory, removed with
// everything in it at the end of the scope; and reading a whole file. For
// the test suites that need nothing more (the fixtures of projections/, api/
// and cli/ keep their own, with the data directories they manage).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace regledger::testing {

class temp_dir {
public:
    explicit temp_dir(std::string_view what = "test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / ("regledger-" + std::string(what) + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace regledger::testing
