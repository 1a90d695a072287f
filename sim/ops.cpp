#include "sim/api/ops.hpp"

#include <array>

namespace mksim {

namespace {
constexpr std::array<std::string_view, static_cast<size_t>(OpKind::Count)> kOpNames = {
    "compute", "mem_access", "syscall", "send", "recv",  "lock", "unlock", "alloc", "free",
    "map",     "unmap",      "spawn",   "join", "sleep", "wait", "wake",   "yield", "next_job"};
constexpr std::array<std::string_view, 3> kPatternNames = {"sequential", "random", "chase"};
constexpr std::array<std::string_view, static_cast<size_t>(SyscallClass::Count)> kSyscallNames = {
    "null", "file", "memory", "process", "net"};

template <class E, size_t N>
bool parse(std::string_view s, const std::array<std::string_view, N>& names, E& out) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) {
      out = static_cast<E>(i);
      return true;
    }
  return false;
}
}  // namespace

std::string_view to_string(OpKind k) {
  return kOpNames.at(static_cast<size_t>(k));
}
std::string_view to_string(AccessPattern p) {
  return kPatternNames.at(static_cast<size_t>(p));
}
std::string_view to_string(SyscallClass c) {
  return kSyscallNames.at(static_cast<size_t>(c));
}
bool parse_op_kind(std::string_view s, OpKind& out) {
  return parse(s, kOpNames, out);
}
bool parse_access_pattern(std::string_view s, AccessPattern& out) {
  return parse(s, kPatternNames, out);
}
bool parse_syscall_class(std::string_view s, SyscallClass& out) {
  return parse(s, kSyscallNames, out);
}

}  // namespace mksim
