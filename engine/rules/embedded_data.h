// The exact bytes of the data files beside this header, compiled into the
// engine. The definitions are generated at build time by embed_files.cmake
// (see engine/CMakeLists.txt); editing a file regenerates them.
//
// Internal to engine/rules: the rest of the engine reads these files through
// working_calendar::builtin() and reference_data.h, never directly.
//
// Thread-safety: the views point at immutable static storage.
#pragma once

#include <string_view>

namespace regledger::rules::embedded {

std::string_view cn_holidays_tsv() noexcept;
std::string_view gbt2260_liaoning_tsv() noexcept;
std::string_view gbt4754_2017_divisions_tsv() noexcept;

}  // namespace regledger::rules::embedded
