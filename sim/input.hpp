// Reading untrusted input. Every reader (configs, sweeps, hwloc XML, scheduler traces, ops traces, Genode XML) opens
// its files with read_input_file and parses JSON text with parse_json, so that a bad input of any kind ends in one
// InputError naming the file and the line (or JSON path), never in a crash, a hang or an escaped library exception.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/api/params.hpp"

namespace mksim {

// Largest input file any reader accepts (1 GiB): a bigger one is refused before it is read.
inline constexpr uint64_t kMaxInputFileBytes = uint64_t{1} << 30;
// Deepest nesting of lists and objects parse_json accepts. A config is about 6 deep; the limit keeps every recursive
// walk of a document (copying, dumping, comparing) far from the end of the stack.
inline constexpr int kMaxJsonDepth = 256;

// The file could not be read at all (missing, unreadable, a directory, a FIFO or device, too large), as opposed to a
// problem inside it. A reader that was given the path by a config catches this one to add where the path came from.
class InputFileError : public InputError {
 public:
  // `reason` is what is wrong, without the path ("cannot open the trace file: No such file or directory").
  InputFileError(const std::string& path, std::string reason) : InputError(path, "", std::move(reason)) {}
};

// Reads the whole regular file at `path`. Refuses directories, FIFOs, character and block devices (/dev/zero, a
// terminal), sockets and files over `max_bytes` without blocking or reading them, with an InputFileError such as
// "PATH: cannot read the trace file: not a regular file (a character device)". `what` names what the file should be
// ("the file", "hwloc XML topology", "the trace file").
std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes = kMaxInputFileBytes);

// Parses JSON text. Every problem becomes an InputError naming `file` and "line L, column C": a syntax error, a number
// that overflows a double (1e400), a string that is not UTF-8, lists and objects nested deeper than kMaxJsonDepth.
// `first_line` numbers the text's first line (for a text that is one line of a bigger file).
json parse_json(std::string_view text, const std::string& file, int first_line = 1);

// Like parse_json, but a text that is not JSON at all (a syntax error) gives false instead of an error; numbers that
// overflow and too deep nesting still throw. For values that may also be bare words (`--set key=word`).
bool parse_json_if_json(std::string_view text, const std::string& file, json& out);

// Creates the output folder `dir` and its parents (before a run, so that a bad -o fails at once). A path on the way
// that exists but is not a folder, or any other failure, is an InputError naming `dir`.
void make_output_folder(const std::string& dir);

// Offset of the first byte of `s` that does not belong to a well-formed UTF-8 sequence, or npos.
size_t find_invalid_utf8(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8 written as \xNN, so that it can be shown and stored.
std::string escape_invalid_utf8(std::string_view s);

}  // namespace mksim
