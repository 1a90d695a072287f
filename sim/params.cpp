#include "sim/api/params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "sim/input.hpp"

namespace mksim {

std::string InputError::format(const std::string& file, const std::string& where, const std::string& what) {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (!where.empty()) out += ": " + where;
  // Paths, names and values quoted from a bad input may be any bytes: the message itself is always UTF-8.
  return escape_invalid_utf8(out + ": " + what);
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& given, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& k : known) {
    size_t d = edit_distance(given, k);
    // A prefix or substring match is a strong hint ("rr" -> "round-robin" is not, "robin" is).
    if (given.size() >= 3 && k.find(given) != std::string::npos) d = std::min<size_t>(d, 1);
    if (d < best_d) best_d = d, best = k;
  }
  return best_d <= std::max<size_t>(2, given.size() / 3) ? best : "";
}

std::string one_of(const std::string& given, const std::vector<std::string>& known) {
  std::string out = "expected one of: ";
  for (size_t i = 0; i < known.size(); ++i) out += (i ? ", " : "") + known[i];
  auto hint = did_you_mean(given, known);
  if (!hint.empty()) out += fmt::format(" (did you mean '{}'?)", hint);
  return out;
}

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
std::string join_path(const std::string& path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string type_name(FieldType t) {
  switch (t) {
    case FieldType::Integer:
      return "integer";
    case FieldType::Number:
      return "number";
    case FieldType::String:
      return "string";
    case FieldType::Boolean:
      return "boolean";
    case FieldType::Choice:
      return "name";
    case FieldType::NumberList:
      return "list of numbers";
    case FieldType::NumberMatrix:
      return "matrix of numbers";
    case FieldType::Object:
      return "object";
    case FieldType::Any:
      return "any";
  }
  return "?";
}

static std::string describe(const json& v) {
  // Strings built in code (not parsed) may hold bytes that are not UTF-8: show them replaced rather than throw.
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  const char* kind = v.is_string()                                     ? "string"
                     : v.is_boolean()                                  ? "boolean"
                     : v.is_number_integer() || v.is_number_unsigned() ? "integer"
                     : v.is_number()                                   ? "number"
                     : v.is_array()                                    ? "list"
                     : v.is_object()                                   ? "object"
                                                                       : "null";
  return fmt::format("{} {}", kind, s);
}

Field Field::number(std::string name, double def, std::string unit, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::Number, f.default_value = def, f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}
Field Field::integer(std::string name, int64_t def, std::string unit, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::Integer, f.default_value = def, f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}
Field Field::text(std::string name, std::string def, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::String, f.default_value = std::move(def), f.doc = std::move(doc);
  return f;
}
Field Field::boolean(std::string name, bool def, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::Boolean, f.default_value = def, f.doc = std::move(doc);
  return f;
}
Field Field::choice(std::string name, std::string def, std::vector<std::string> choices, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::Choice, f.default_value = std::move(def);
  f.choices = std::move(choices), f.doc = std::move(doc);
  return f;
}
Field Field::optional(std::string name, FieldType type, std::string unit, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = type, f.unit = std::move(unit), f.doc = std::move(doc);
  return f;
}
Field Field::numbers(std::string name, std::string unit, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::NumberList, f.default_value = json::array(), f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}
Field Field::nested(std::string name, std::shared_ptr<const Schema> schema, std::string doc) {
  Field f;
  f.name = std::move(name), f.type = FieldType::Object, f.object = std::move(schema), f.doc = std::move(doc);
  f.default_value = json::object();
  return f;
}
Field&& Field::at_least(double v) && {
  min = v;
  return std::move(*this);
}
Field&& Field::above(double v) && {
  min = v, min_exclusive = true;
  return std::move(*this);
}
Field&& Field::at_most(double v) && {
  max = v;
  return std::move(*this);
}

const Field* Schema::find(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> Schema::names() const {
  std::vector<std::string> out;
  for (const auto& f : fields) out.push_back(f.name);
  return out;
}

static void check_range(const Field& f, double x, const std::string& path, const std::string& file) {
  if (!std::isfinite(x)) throw InputError(file, path, fmt::format("found {}, expected a finite number", x));
  const bool low = f.min_exclusive ? x <= f.min : x < f.min;
  if (!low && !(x > f.max)) return;
  // The bound it breaks, then the whole range when there are two: "at most 4096 (between 1 and 4096)".
  const std::string broken = !low              ? fmt::format("at most {}", f.max)
                             : f.min_exclusive ? fmt::format("greater than {}", f.min)
                                               : fmt::format("at least {}", f.min);
  std::string range = broken;
  if (std::isfinite(f.min) && std::isfinite(f.max))
    range = f.min_exclusive ? fmt::format("greater than {} and at most {}", f.min, f.max)
                            : fmt::format("between {} and {}", f.min, f.max);
  const std::string unit = f.unit.empty() ? "" : " " + f.unit;
  const std::string type = type_name(f.type);
  const char* article = type == "integer" ? "an" : "a";
  if (range.rfind(broken, 0) == 0)  // the range says it first
    throw InputError(
        file, path,
        fmt::format("found {}, expected {} {} {}{}", x, article, type, range, unit.empty() ? "" : " (" + f.unit + ")"));
  throw InputError(file, path,
                   fmt::format("found {}, expected {} {} {} ({}{})", x, article, type, broken, range, unit));
}

json check_field(const Field& f, const json& v, const std::string& path, const std::string& file) {
  auto expected = [&](const std::string& what) {
    return InputError(file, path, fmt::format("found {}, expected {}", describe(v), what));
  };
  switch (f.type) {
    case FieldType::Integer: {
      if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
          check_range(f, d, path, file);
          return static_cast<int64_t>(d);
        }
      }
      if (!v.is_number_integer() && !v.is_number_unsigned()) throw expected("an integer");
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        throw expected("an integer below 2^63");
      check_range(f, static_cast<double>(v.get<int64_t>()), path, file);
      return v.get<int64_t>();
    }
    case FieldType::Number:
      if (!v.is_number()) throw expected(f.unit.empty() ? "a number" : "a number in " + f.unit);
      check_range(f, v.get<double>(), path, file);
      return v;
    case FieldType::String:
      if (!v.is_string()) throw expected("a string");
      return v;
    case FieldType::Boolean:
      if (!v.is_boolean()) throw expected("true or false");
      return v;
    case FieldType::Choice: {
      if (!v.is_string()) throw expected("a name, " + one_of("", f.choices));
      auto s = v.get<std::string>();
      if (std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end())
        throw InputError(file, path, fmt::format("unknown name '{}', {}", s, one_of(s, f.choices)));
      return v;
    }
    case FieldType::NumberList: {
      if (!v.is_array()) throw expected("a list of numbers");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_number())
          throw InputError(file, join_path(path, i), fmt::format("found {}, expected a number", describe(v[i])));
        check_range(f, v[i].get<double>(), join_path(path, i), file);
      }
      return v;
    }
    case FieldType::NumberMatrix: {
      if (!v.is_array()) throw expected("a list of rows (lists of numbers)");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_array())
          throw InputError(file, join_path(path, i), fmt::format("found {}, expected a row", describe(v[i])));
        if (v[i].size() != v.size())
          throw InputError(
              file, join_path(path, i),
              fmt::format("row has {} entries, expected {} (the matrix must be square)", v[i].size(), v.size()));
        for (size_t j = 0; j < v[i].size(); ++j) {
          auto p = join_path(join_path(path, i), j);
          if (!v[i][j].is_number())
            throw InputError(file, p, fmt::format("found {}, expected a number", describe(v[i][j])));
          check_range(f, v[i][j].get<double>(), p, file);
        }
      }
      return v;
    }
    case FieldType::Object:
      if (f.object) return f.object->resolve(v, path, file);
      if (!v.is_object()) throw expected("an object");
      return v;
    case FieldType::Any:
      return v;
  }
  return v;
}

json Schema::resolve(const json& given, const std::string& path, const std::string& file) const {
  if (!given.is_null() && !given.is_object())
    throw InputError(file, path.empty() ? "top level" : path,
                     fmt::format("found {}, expected an object", describe(given)));
  json out = json::object();
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      const Field* f = find(it.key());
      if (!f) {
        if (allow_extra) {
          out[it.key()] = it.value();
          continue;
        }
        throw InputError(file, join_path(path, it.key()),
                         fmt::format("unknown key '{}', {}", it.key(), one_of(it.key(), names())));
      }
      out[it.key()] = check_field(*f, it.value(), join_path(path, it.key()), file);
    }
  }
  for (const auto& f : fields) {
    if (out.contains(f.name)) continue;
    if (f.type == FieldType::Object && f.object)
      out[f.name] = f.object->resolve(json::object(), join_path(path, f.name), file);
    else if (!f.default_value.is_null())
      out[f.name] = f.default_value;
  }
  return out;
}

const json& Params::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->is_null())
    throw InputError(file_, join_path(path_, name), "missing value, expected it to be given");
  return *it;
}

double Params::number(const std::string& name) const {
  return get(name).get<double>();
}
int64_t Params::integer(const std::string& name) const {
  const auto& v = get(name);
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
}
std::string Params::text(const std::string& name) const {
  return get(name).get<std::string>();
}
bool Params::boolean(const std::string& name) const {
  return get(name).get<bool>();
}
bool Params::has(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() && !it->is_null();
}
std::vector<double> Params::numbers(const std::string& name) const {
  return get(name).get<std::vector<double>>();
}
std::vector<std::vector<double>> Params::matrix(const std::string& name) const {
  return get(name).get<std::vector<std::vector<double>>>();
}
Params Params::child(const std::string& name) const {
  return Params(get(name), join_path(path_, name), file_, base_dir_);
}
void Params::fail(const std::string& name, const std::string& what) const {
  throw InputError(file_, join_path(path_, name), what);
}

std::string Params::input_path(const std::string& name) const {
  std::filesystem::path p(text(name));
  if (p.is_absolute() || base_dir_.empty()) return p.string();
  return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

}  // namespace mksim
