#include "sim/input.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace mksim {

namespace {

// Why a file of this kind cannot be read, or "" for a regular file.
std::string refusal(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return "";
  if (S_ISDIR(st.st_mode)) return "it is a directory, not a file";
  const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
                     : S_ISCHR(st.st_mode)  ? "a character device"
                     : S_ISBLK(st.st_mode)  ? "a block device"
                     : S_ISSOCK(st.st_mode) ? "a socket"
                                            : "not a file";
  return fmt::format("not a regular file (it is {}), expected a file on disk", kind);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  auto fail = [&](const std::string& reason) { throw InputFileError(path, reason); };
  auto too_large = [&](uint64_t bytes) {
    fail(fmt::format("cannot read {}: the file has {}{} bytes, more than the {} bytes mksim reads", what,
                     bytes > max_bytes ? "" : "more than ", bytes, max_bytes));
  };
  // stat() first: opening a FIFO would block until a writer comes, and a device would be read without end.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(fmt::format("cannot open {}: {}", what, std::strerror(errno)));
  if (auto why = refusal(st); !why.empty()) fail(fmt::format("cannot read {}: {}", what, why));
  // O_NONBLOCK: should the path have been replaced by a FIFO since, open() still returns; fstat() then refuses it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) fail(fmt::format("cannot open {}: {}", what, std::strerror(errno)));
  if (::fstat(fd.get(), &st) != 0) fail(fmt::format("cannot read {}: {}", what, std::strerror(errno)));
  if (auto why = refusal(st); !why.empty()) fail(fmt::format("cannot read {}: {}", what, why));
  if (static_cast<uint64_t>(st.st_size) > max_bytes) too_large(static_cast<uint64_t>(st.st_size));
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  std::vector<char> buf(1 << 16);
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(fmt::format("cannot read {}: {}", what, std::strerror(errno)));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
    // The file may grow while it is read (or report size 0, as /proc files do).
    if (out.size() > max_bytes) too_large(max_bytes);
  }
  return out;
}

void make_output_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::path p(dir); !p.empty(); p = p.parent_path()) {
    if (fs::exists(p, ec) && !fs::is_directory(p, ec))
      throw InputError(dir, "",
                       fmt::format("cannot write the results here: {} exists and is not a directory",
                                   p.string() == dir ? "it" : p.string()));
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir, "", fmt::format("cannot create the output folder: {}", ec.message()));
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, surrogates or code points above
// U+10FFFF), or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c == 0xe0)
    len = 3, lo = 0xa0;
  else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
    len = 3;
  else if (c == 0xed)
    len = 3, hi = 0x9f;
  else if (c == 0xf0)
    len = 4, lo = 0x90;
  else if (c >= 0xf1 && c <= 0xf3)
    len = 4;
  else if (c == 0xf4)
    len = 4, hi = 0x8f;
  else
    return 0;
  if (i + len > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return len;
}

}  // namespace

size_t find_invalid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string escape_invalid_utf8(std::string_view s) {
  if (find_invalid_utf8(s) == std::string_view::npos) return std::string(s);
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {

// Builds the document with nlohmann's own DOM builder, and on the way keeps what an error message needs: the JSON
// path of the current value, the nesting depth (refusing more than kMaxJsonDepth), and where a parse error happened.
// nlohmann's exceptions do not all carry a position (out_of_range 406, a number overflow, does not); the SAX
// interface hands one to parse_error for every kind.
class LocatingSax {
 public:
  using dom_t = nlohmann::detail::json_sax_dom_parser<json>;

  explicit LocatingSax(json& root) : dom_(root, false) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return value() && dom_.number_float(v, s); }
  bool string(json::string_t& v) { return value() && dom_.string(v); }
  bool binary(json::binary_t& v) { return value() && dom_.binary(v); }
  bool start_object(std::size_t n) { return open(false) && dom_.start_object(n); }
  bool start_array(std::size_t n) { return open(true) && dom_.start_array(n); }
  bool end_object() {
    stack_.pop_back();
    return dom_.end_object();
  }
  bool end_array() {
    stack_.pop_back();
    return dom_.end_array();
  }
  bool key(json::string_t& k) {
    stack_.back().key = k;
    return dom_.key(k);
  }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& e) {
    error = true;
    error_position = position;
    error_token = token;
    error_id = e.id;
    error_is_syntax = dynamic_cast<const json::parse_error*>(&e) != nullptr;
    error_what = e.what();
    return false;
  }

  // The path of the value being read, at most `steps` steps of it.
  std::string path(size_t steps) const {
    std::string out;
    for (size_t i = 0; i < stack_.size() && i < steps; ++i)
      out = stack_[i].array ? join_path(out, stack_[i].count - 1) : join_path(out, stack_[i].key);
    if (stack_.size() > steps) out += "...";
    return out;
  }

  bool error = false, too_deep = false, error_is_syntax = false;
  std::size_t error_position = 0;
  std::string error_token, error_what, deep_path;
  int error_id = 0;

 private:
  struct Frame {
    bool array;
    size_t count;     // elements so far, in a list (the current one is count - 1)
    std::string key;  // of the current member, in an object
  };
  // A value starts: count it in its list.
  bool value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().count;
    return true;
  }
  bool open(bool array) {
    value();
    if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
      too_deep = true;
      deep_path = path(4);
      return false;
    }
    stack_.push_back({array, 0, {}});
    return true;
  }

  dom_t dom_;
  std::vector<Frame> stack_;
};

// Offset of the '[' or '{' that opens nesting level `level` (1 = the outermost), skipping strings.
size_t offset_of_level(std::string_view text, int level) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth == level) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return text.size();
}

std::string line_column(std::string_view text, size_t pos, int first_line) {
  pos = std::min(pos, text.size());
  size_t line = static_cast<size_t>(first_line), col = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return fmt::format("line {}, column {}", line, col);
}

// Parses; returns false for a syntax error when `syntax_is_ok` (the caller then takes the text as a word).
bool parse(std::string_view text, const std::string& file, int first_line, bool syntax_is_ok, json& out) {
  json root;
  LocatingSax sax(root);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax);
  } catch (const json::exception& e) {
    throw InputError(file, "", fmt::format("invalid JSON: {}", e.what()));
  }
  if (ok) {
    out = std::move(root);
    return true;
  }
  if (sax.too_deep)
    throw InputError(
        file, line_column(text, offset_of_level(text, kMaxJsonDepth + 1), first_line),
        fmt::format("found lists and objects nested more than {} levels deep (at {}), expected at most {}",
                    kMaxJsonDepth, sax.deep_path.empty() ? "the top level" : sax.deep_path, kMaxJsonDepth));
  if (!sax.error) throw InputError(file, "", "invalid JSON");
  if (sax.error_is_syntax) {
    if (syntax_is_ok) return false;
    // The position is just after the last character read; the error is at that character.
    std::string what = sax.error_what;
    auto cut = what.find("syntax error");
    if (cut != std::string::npos) what = what.substr(cut);
    throw InputError(file, line_column(text, sax.error_position ? sax.error_position - 1 : 0, first_line),
                     "invalid JSON: " + what);
  }
  const size_t start = sax.error_position >= sax.error_token.size() ? sax.error_position - sax.error_token.size() : 0;
  if (sax.error_id == 406)  // out_of_range: a number too large for a double
    throw InputError(
        file, line_column(text, start, first_line),
        fmt::format("found the number {}, which is too large for a double, expected a finite number", sax.error_token));
  std::string what = sax.error_what;
  if (auto close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos)
    what = what.substr(close + 2);
  throw InputError(file, line_column(text, start, first_line), "invalid JSON: " + what);
}

}  // namespace

json parse_json(std::string_view text, const std::string& file, int first_line) {
  json out;
  parse(text, file, first_line, false, out);
  return out;
}

bool parse_json_if_json(std::string_view text, const std::string& file, json& out) {
  return parse(text, file, 1, true, out);
}

}  // namespace mksim
