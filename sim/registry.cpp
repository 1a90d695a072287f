#include "sim/api/registry.hpp"

#include <fmt/format.h>

#include <map>
#include <stdexcept>

namespace mksim {

std::vector<const ComponentInfo*>& all_components() {
  static std::vector<const ComponentInfo*> list;
  return list;
}

namespace {

std::vector<SlotInfo>& slots() {
  static std::vector<SlotInfo> list;
  return list;
}

std::vector<std::string>& errors() {
  static std::vector<std::string> list;
  return list;
}

using Section = SlotInfo::Section;

// The slots. A new slot is one line here plus its interface in sim/api/ (a Registry<Interface>).
SlotInfo::Add s1({"architecture", "architectures", "Kernel architectures (`kernel.architecture`)", Section::Kernel,
                  "monolithic", "kernel architecture (`mksim list architectures`)"});
SlotInfo::Add s2({"scheduler", "schedulers", "Schedulers (`kernel.scheduler`)", Section::Kernel, "round-robin",
                  "scheduler (`mksim list schedulers`)"});
SlotInfo::Add s3({"memory_policy", "memory_policies", "Page placement policies (`kernel.memory_policy`)",
                  Section::Kernel, "first-touch", "page placement policy (`mksim list memory_policies`)"});
SlotInfo::Add s4({"allocator", "allocators", "Heap allocators (`kernel.allocator`)", Section::Kernel, "global-heap",
                  "heap allocator model (`mksim list allocators`)"});
SlotInfo::Add s5({"shootdown", "shootdowns", "TLB shootdown / agreement protocols (`kernel.shootdown`)",
                  Section::Kernel, "default",
                  "TLB shootdown / agreement protocol; default: the architecture's own (monolithic, microkernel and "
                  "exokernel: ipi-broadcast; multikernel: numa-multicast)"});
SlotInfo::Add s6({"workload", "workloads", "Workloads (`workload.kind`)", Section::Workload, "", ""});
SlotInfo::Add s7({"output", "outputs", "Optional outputs (`run.outputs.NAME`)", Section::Output, "", ""});

}  // namespace

SlotInfo::Add::Add(SlotInfo info) {
  if (find_slot(info.name))
    errors().push_back("the slot '" + info.name + "' is declared twice");
  else
    slots().push_back(std::move(info));
}

const std::vector<SlotInfo>& all_slots() {
  return slots();
}

const SlotInfo* find_slot(const std::string& name) {
  for (const auto& s : slots())
    if (s.name == name) return &s;
  return nullptr;
}

void add_registration_error(std::string what) {
  errors().push_back(std::move(what));
}

std::vector<std::string> registration_errors() {
  std::vector<std::string> out = errors();
  // Parameter blocks of kernel components share one namespace (kernel.<component name>): a name may belong to one
  // kernel slot only, so that a block can never be read by a component of another slot.
  std::map<std::string, std::string> kernel_names;
  for (const auto* c : all_components()) {
    const SlotInfo* slot = find_slot(c->slot);
    if (!slot) {
      out.push_back(
          fmt::format("the {} '{}' is registered in a slot that is not declared (sim/registry.cpp)", c->slot, c->name));
      continue;
    }
    if (slot->section != SlotInfo::Section::Kernel) continue;
    if (find_slot(c->name) && find_slot(c->name)->section == SlotInfo::Section::Kernel)
      out.push_back(fmt::format("the {} '{}' has the name of a kernel slot (kernel.{} names the slot's choice)",
                                c->slot, c->name, c->name));
    auto [it, fresh] = kernel_names.emplace(c->name, c->slot);
    if (!fresh)
      out.push_back(
          fmt::format("the name '{}' is registered both as a {} and as a {}: kernel.{} would be the "
                      "parameter block of both",
                      c->name, it->second, c->slot, c->name));
  }
  return out;
}

void check_registrations() {
  auto errs = registration_errors();
  if (errs.empty()) return;
  std::string msg = "registration errors in this build:";
  for (const auto& e : errs) msg += "\n  " + e;
  throw std::logic_error(msg);
}

}  // namespace mksim

#include "sim/cli.hpp"

namespace mksim {

std::vector<CommandInfo>& cli_commands() {
  static std::vector<CommandInfo> list;
  return list;
}

}  // namespace mksim
