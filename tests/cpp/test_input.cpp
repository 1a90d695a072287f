// Tests of the shared input helpers (sim/input.hpp): reading files (refusing directories, FIFOs, devices and files
// over the size cap without blocking), parsing JSON (every nlohmann error, nesting depth, numbers that overflow,
// invalid UTF-8, all with file and line), UTF-8 checks, output folders; and --set overrides built on them.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/config.hpp"
#include "sim/input.hpp"

namespace fs = std::filesystem;
using namespace mksim;

namespace {

// A fresh folder in the temp directory, removed with what it holds when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("mksim-input-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    std::ofstream out(path / name, std::ios::binary);
    out << content;
    return (path / name).string();
  }
};

// The InputError `f` throws (fails the test if it throws none).
template <class F>
InputError input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("expected an InputError, got: " << e.what());
  }
  FAIL("expected an InputError, got none");
  throw std::logic_error("unreachable");
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("read_input_file: reads regular files whole") {
  TempDir d;
  const std::string text("line one\nwith a NUL \0 and high bytes \xff\xfe\n", 40);
  CHECK(read_input_file(d.file("a.txt", text), "the file") == text);
  CHECK(read_input_file(d.file("empty.txt", ""), "the file").empty());
  // /proc files say they have 0 bytes but have content: read to the end, not to the size.
  CHECK(has(read_input_file("/proc/self/status", "the file"), "Pid:"));
}

TEST_CASE("read_input_file: refuses what is not a regular file, without reading or blocking") {
  TempDir d;
  SECTION("missing") {
    const InputError e = input_error([&] { read_input_file((d.path / "nope.json").string(), "the trace file"); });
    CHECK(e.file() == (d.path / "nope.json").string());
    CHECK(e.reason() == "cannot open the trace file: No such file or directory");
    CHECK_THROWS_AS(read_input_file((d.path / "nope.json").string(), "the file"), InputFileError);
  }
  SECTION("a directory") {
    const InputError e = input_error([&] { read_input_file(d.path.string(), "the file"); });
    CHECK(e.reason() == "cannot read the file: it is a directory, not a file");
  }
  SECTION("a character device: /dev/zero would never end") {
    const InputError e = input_error([&] { read_input_file("/dev/zero", "hwloc XML topology"); });
    CHECK(e.file() == "/dev/zero");
    CHECK(has(e.reason(), "not a regular file (it is a character device)"));
  }
  SECTION("a FIFO with no writer: opening it would block forever") {
    const std::string fifo = (d.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto t0 = std::chrono::steady_clock::now();
    const InputError e = input_error([&] { read_input_file(fifo, "the ops trace"); });
    CHECK(has(e.reason(), "not a regular file (it is a FIFO (named pipe))"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  SECTION("a symbolic link is followed to what it names") {
    const std::string target = d.file("t.txt", "x");
    fs::create_symlink(target, d.path / "link");
    CHECK(read_input_file((d.path / "link").string(), "the file") == "x");
    fs::create_symlink("/dev/zero", d.path / "zero");
    CHECK(has(input_error([&] { read_input_file((d.path / "zero").string(), "the file"); }).reason(),
              "character device"));
  }
  SECTION("over the size cap") {
    const std::string f = d.file("big.txt", std::string(1000, 'x'));
    CHECK(read_input_file(f, "the file", 1000).size() == 1000);
    const InputError e = input_error([&] { read_input_file(f, "the file", 999); });
    CHECK(e.reason() == "cannot read the file: the file has 1000 bytes, more than the 999 bytes mksim reads");
  }
}

TEST_CASE("parse_json: good JSON parses as nlohmann does") {
  CHECK(parse_json(R"({"a": [1, 2.5, "x", null, true], "b": {"c": -3}})", "f.json") ==
        json::parse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": -3}})"));
  CHECK(parse_json("\xEF\xBB\xBF[1]", "bom.json") == json::array({1}));  // a byte-order mark is skipped
  CHECK(parse_json("\"caf\xC3\xA9\"", "utf8.json") == "caf\xC3\xA9");
  // Nesting up to the limit is fine.
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  CHECK(parse_json(ok, "deep.json").is_array());
}

TEST_CASE("parse_json: every error is an InputError with the file, line and column") {
  SECTION("syntax error") {
    const InputError e = input_error([] { parse_json("{\n  \"a\": 1,\n  \"b\": }\n", "s.json"); });
    CHECK(e.file() == "s.json");
    CHECK(e.where() == "line 3, column 8");
    CHECK(has(e.reason(), "invalid JSON: syntax error"));
  }
  SECTION("empty text") {
    const InputError e = input_error([] { parse_json("", "empty.json"); });
    CHECK(e.where() == "line 1, column 1");
  }
  SECTION("a number too large for a double (nlohmann: out_of_range 406, which carries no position)") {
    const InputError e = input_error([] { parse_json("{\n  \"x\": [1, 1e400]\n}", "big.json"); });
    CHECK(e.where() == "line 2, column 12");
    CHECK(e.reason() == "found the number 1e400, which is too large for a double, expected a finite number");
    CHECK(has(input_error([] { parse_json("-1e999", "neg.json"); }).reason(), "-1e999"));
  }
  SECTION("a string that is not UTF-8") {
    const InputError e = input_error([] { parse_json("[\"ok\",\n \"bad \xff byte\"]", "u.json"); });
    CHECK(e.where().rfind("line 2, column", 0) == 0);
    CHECK(has(e.reason(), "ill-formed UTF-8"));
    // The message itself stays UTF-8: the byte is shown escaped.
    CHECK(find_invalid_utf8(e.what()) == std::string::npos);
  }
  SECTION("nesting deeper than the limit, with where it happens") {
    const std::string deep = "{\"workload\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
    const InputError e = input_error([&] { parse_json(deep, "deep.json"); });
    CHECK(e.where() == "line 1, column " + std::to_string(13 + kMaxJsonDepth));
    CHECK(has(e.reason(), "nested more than 256 levels deep (at workload[0][0][0]...)"));
    const std::string over = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
    CHECK(has(input_error([&] { parse_json(over, "d.json"); }).reason(), "at [0][0][0][0]..."));
    // Brackets inside strings do not count.
    const std::string quoted = "[\"" + std::string(1000, '[') + "\"]";
    CHECK(parse_json(quoted, "q.json")[0].get<std::string>().size() == 1000);
  }
  SECTION("one line of a bigger file") {
    CHECK(input_error([] { parse_json("{\"t\": 1e400}", "ops.jsonl", 7); }).where() == "line 7, column 7");
  }
  SECTION("trailing garbage") {
    CHECK(input_error([] { parse_json("[1] [2]", "t.json"); }).where() == "line 1, column 5");
  }
}

TEST_CASE("parse_json_if_json: a bare word is not JSON, an overflowing number is an error") {
  json v;
  CHECK_FALSE(parse_json_if_json("multikernel", "--set", v));
  CHECK_FALSE(parse_json_if_json("[1, 2", "--set", v));
  CHECK(parse_json_if_json("[1, 2]", "--set", v));
  CHECK(v == json::array({1, 2}));
  CHECK(has(input_error([&] { parse_json_if_json("1e400", "--set", v); }).reason(), "too large for a double"));
  CHECK(has(input_error([&] { parse_json_if_json(std::string(300, '['), "--set", v); }).reason(), "nested"));
}

TEST_CASE("UTF-8: well-formed sequences only") {
  CHECK(find_invalid_utf8("plain ascii") == std::string::npos);
  CHECK(find_invalid_utf8("\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == std::string::npos);  // é € 😀
  CHECK(find_invalid_utf8("ab\xff") == 2);
  CHECK(find_invalid_utf8("\xC0\xAF") == 0);          // overlong '/'
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);      // a UTF-16 surrogate
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(find_invalid_utf8("x\xE2\x82") == 1);         // cut short
  CHECK(escape_invalid_utf8("gnome\xffshell") == "gnome\\xffshell");
  CHECK(escape_invalid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
  // An InputError's message is always UTF-8, whatever bytes its parts hold.
  const InputError e("bad\x8a.json", "line 1", "found \xff");
  CHECK(std::string(e.what()) == "bad\\x8a.json: line 1: found \\xff");
  CHECK(json(e.what()).dump().size() > 0);
}

TEST_CASE("make_output_folder: creates folders, refuses files on the way") {
  TempDir d;
  const std::string out = (d.path / "a" / "b").string();
  make_output_folder(out);
  CHECK(fs::is_directory(out));
  make_output_folder(out);  // already there: fine
  const std::string file = d.file("results.json", "{}");
  CHECK(input_error([&] { make_output_folder(file); }).reason() ==
        "cannot write the results here: it exists and is not a directory");
  CHECK(has(input_error([&] { make_output_folder(file + "/sub"); }).reason(), file + " exists and is not a directory"));
  CHECK(fs::is_regular_file(file));  // left alone
}

TEST_CASE("config: load_json_file and --set go through the checked readers") {
  TempDir d;
  CHECK(input_error([&] { load_json_file(d.path.string()); }).reason() ==
        "cannot read the file: it is a directory, not a file");
  const std::string f = d.file("c.json", "{\n \"machine\": {\"freq_ghz\": 1e999}\n}");
  CHECK(input_error([&] { load_json_file(f); }).where() == "line 2, column 26");

  json doc = {{"workload", json::array({{{"kind", "compute"}}})}};
  SECTION("a list index too large for any integer is past the end") {
    const InputError e = input_error([&] { apply_override(doc, "workload.99999999999999999999999.threads=1"); });
    CHECK(e.file() == "--set");
    CHECK(e.reason() == "index 99999999999999999999999 is past the end of a list of 1");
  }
  SECTION("a number that overflows") {
    const InputError e = input_error([&] { apply_override(doc, "machine.freq_ghz=1e400"); });
    CHECK(e.where() == "machine.freq_ghz");
    CHECK(has(e.reason(), "1e400"));
  }
  SECTION("bytes that are not UTF-8") {
    const InputError e = input_error([&] { apply_override(doc, "machine.name=caf\xe9"); });
    CHECK(e.where() == "machine.name");
    CHECK(e.reason() == "byte 0xe9 at position 17 of the assignment is not UTF-8, expected UTF-8 text");
  }
  SECTION("a bare word is still a string") {
    apply_override(doc, "kernel.architecture=multikernel");
    CHECK(doc["kernel"]["architecture"] == "multikernel");
  }
}
