// Parameters bound once: a component declares each parameter once, as a Field (name, doc, unit, default, range) bound
// to a member of its own parameter struct; the same declaration gives the schema its registration needs and fills
// the struct from a config's checked values. Component code then reads `params_.time_slice_us`, never a name string
// that could be misspelt (in the manner of gem5's generated param structs and ns-3's attributes bound to members).
//
//   struct RoundRobinParams {
//     double time_slice_us;
//     static const ParamStruct<RoundRobinParams>& declare() {
//       static const ParamStruct<RoundRobinParams> d = ParamStruct<RoundRobinParams>().bind(
//           &RoundRobinParams::time_slice_us, Field::number("time_slice_us", 4000, "us", "time slice").above(0));
//       return d;
//     }
//   };
//   SchedulerRegistry::Add reg("scheduler", "round-robin", "...", RoundRobinParams::declare().schema(),
//       [](const Params& p) { return std::make_unique<RoundRobin>(RoundRobinParams::declare().read(p)); });
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/api/params.hpp"

namespace mksim {

template <class P>
class ParamStruct {
 public:
  // Binds `member` to `field`; the member's type must be the field's (checked here, once, at registration).
  ParamStruct&& bind(double P::*member, Field field) && {
    expect(field, field.type == FieldType::Number, "a number");
    return add(std::move(field),
               [member](P& out, const Params& p, const std::string& n) { out.*member = p.number(n); });
  }
  ParamStruct&& bind(int64_t P::*member, Field field) && {
    expect(field, field.type == FieldType::Integer, "an integer");
    return add(std::move(field),
               [member](P& out, const Params& p, const std::string& n) { out.*member = p.integer(n); });
  }
  ParamStruct&& bind(int P::*member, Field field) && {
    expect(field, field.type == FieldType::Integer, "an integer");
    return add(std::move(field), [member](P& out, const Params& p, const std::string& n) {
      out.*member = static_cast<int>(p.integer(n));
    });
  }
  ParamStruct&& bind(bool P::*member, Field field) && {
    expect(field, field.type == FieldType::Boolean, "a boolean");
    return add(std::move(field),
               [member](P& out, const Params& p, const std::string& n) { out.*member = p.boolean(n); });
  }
  ParamStruct&& bind(std::string P::*member, Field field) && {
    expect(field, field.type == FieldType::String || field.type == FieldType::Choice, "a string");
    return add(std::move(field), [member](P& out, const Params& p, const std::string& n) { out.*member = p.text(n); });
  }
  ParamStruct&& bind(std::vector<double> P::*member, Field field) && {
    expect(field, field.type == FieldType::NumberList, "a list of numbers");
    return add(std::move(field),
               [member](P& out, const Params& p, const std::string& n) { out.*member = p.numbers(n); });
  }

  // Declares a field no member holds: a structured value (an object, a list of lists) the component reads and checks
  // itself through Params (`p.child(name)`), at its place in the schema.
  ParamStruct&& unbound(Field field) && {
    return add(std::move(field), [](P&, const Params&, const std::string&) {});
  }

  // The declared fields, for the registration.
  Schema schema() const {
    Schema s;
    for (const auto& b : bound_) s.fields.push_back(b.field);
    return s;
  }
  // The struct filled from checked values (a Params the registry made from this schema).
  P read(const Params& p) const {
    P out{};
    for (const auto& b : bound_) b.fill(out, p, b.field.name);
    return out;
  }

 private:
  struct Bound {
    Field field;
    std::function<void(P&, const Params&, const std::string&)> fill;
  };
  static void expect(const Field& f, bool ok, const char* what) {
    if (!ok) throw std::logic_error("parameter '" + f.name + "' is bound to a member that is not " + what);
  }
  ParamStruct&& add(Field f, std::function<void(P&, const Params&, const std::string&)> fill) {
    bound_.push_back({std::move(f), std::move(fill)});
    return std::move(*this);
  }
  std::vector<Bound> bound_;
};

}  // namespace mksim
