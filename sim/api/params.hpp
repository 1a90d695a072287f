// Declared parameters: every configurable value in mksim is declared once, beside the class that uses it, with its
// type, unit, default, valid range and one line of doc. The same declarations check configs (errors name the JSON
// path), fill in defaults, and generate `mksim list`, `--help` text and docs/config.md.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace mksim {

using json = nlohmann::json;

// A bad input: names the file, where in it (JSON path or line), what was found and what was expected.
class InputError : public std::runtime_error {
 public:
  InputError(std::string file, std::string where, std::string what)
      : std::runtime_error(format(file, where, what)),
        file_(std::move(file)),
        where_(std::move(where)),
        reason_(std::move(what)) {}
  const std::string& file() const { return file_; }
  const std::string& where() const { return where_; }
  // What is wrong, without the file and the place (what() is "FILE: WHERE: REASON").
  const std::string& reason() const { return reason_; }

 private:
  static std::string format(const std::string& file, const std::string& where, const std::string& what);
  std::string file_, where_, reason_;
};

// Closest known name to `given`, or "" if none is close enough to suggest.
std::string did_you_mean(const std::string& given, const std::vector<std::string>& known);
// "expected one of: a, b, c (did you mean 'b'?)"
std::string one_of(const std::string& given, const std::vector<std::string>& known);

enum class FieldType { Integer, Number, String, Boolean, Choice, NumberList, NumberMatrix, Object, Any };

struct Schema;

struct Field {
  std::string name;
  FieldType type = FieldType::Number;
  json default_value;  // null: optional without default (absent unless given)
  std::string unit;
  std::string doc;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  std::vector<std::string> choices;      // for Choice
  std::shared_ptr<const Schema> object;  // for Object

  // Builders, so declarations read as one line each.
  static Field number(std::string name, double def, std::string unit, std::string doc);
  static Field integer(std::string name, int64_t def, std::string unit, std::string doc);
  static Field text(std::string name, std::string def, std::string doc);
  static Field boolean(std::string name, bool def, std::string doc);
  static Field choice(std::string name, std::string def, std::vector<std::string> choices, std::string doc);
  static Field optional(std::string name, FieldType type, std::string unit, std::string doc);
  static Field numbers(std::string name, std::string unit, std::string doc);  // a list, empty by default
  static Field nested(std::string name, std::shared_ptr<const Schema> schema, std::string doc);
  Field&& at_least(double v) &&;
  Field&& above(double v) &&;
  Field&& at_most(double v) &&;
};

std::string type_name(FieldType t);

// An ordered list of fields; resolve() checks a JSON object against it and fills in defaults.
struct Schema {
  std::vector<Field> fields;
  bool allow_extra = false;  // extra keys are checked by the caller (e.g. component parameter blocks)

  Schema() = default;
  Schema(std::initializer_list<Field> f) : fields(f) {}
  const Field* find(const std::string& name) const;
  std::vector<std::string> names() const;

  // Checks `given` (must be an object or null) and returns it with defaults filled in. `path` is the JSON path of
  // `given` in its document; `file` the document's file name, for errors.
  json resolve(const json& given, const std::string& path, const std::string& file) const;
};

// Checks one value against one field; returns the value (numbers normalised).
json check_field(const Field& f, const json& value, const std::string& path, const std::string& file);

std::string join_path(const std::string& path, const std::string& key);
std::string join_path(const std::string& path, size_t index);

// Checked, resolved parameter values with typed getters: what models receive instead of JSON.
class Params {
 public:
  Params() = default;
  // `base_dir`: where relative file names among these parameters resolve (Scenario::base_dir).
  Params(json values, std::string path, std::string file, std::string base_dir = "")
      : values_(std::move(values)), path_(std::move(path)), file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  std::string text(const std::string& name) const;
  bool boolean(const std::string& name) const;
  bool has(const std::string& name) const;
  std::vector<double> numbers(const std::string& name) const;
  std::vector<std::vector<double>> matrix(const std::string& name) const;
  Params child(const std::string& name) const;
  // The text parameter `name` as the path of an input file: relative to the config's base folder (Scenario::base_dir,
  // the config file's folder, or what mksim.run(..., base_dir=) names), unless absolute. The one path rule for every
  // component that reads files.
  std::string input_path(const std::string& name) const;
  const json& raw() const { return values_; }  // for writing the resolved config back out
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  // An error about one of these parameters, located at its JSON path.
  [[noreturn]] void fail(const std::string& name, const std::string& what) const;

 private:
  const json& get(const std::string& name) const;
  json values_ = json::object();
  std::string path_, file_, base_dir_;
};

}  // namespace mksim
