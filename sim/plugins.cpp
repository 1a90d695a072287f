#include "sim/plugins.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "sim/api/plugin.hpp"

namespace mksim {

namespace fs = std::filesystem;

namespace {

std::vector<detail::PendingRegistration>* g_pending = nullptr;  // set while a plugin is being dlopen'ed
std::vector<std::string> g_loaded;
std::map<std::string, std::string> g_refused;  // canonical path -> why (a refused plugin may have run its constructors)

// What the file says about itself, read without loading it.
struct PluginStamp {
  std::string problem;  // why it is not a plugin mksim can load; "" if it is one
  std::optional<unsigned> contract;
  std::string mksim_version;
};

std::string read_file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads the ELF header and the dynamic symbol table of `bytes` and the values of the symbols MKSIM_PLUGIN() defines.
PluginStamp read_stamp(const std::string& bytes) {
  PluginStamp s;
  auto fits = [&](uint64_t off, uint64_t len) { return off <= bytes.size() && len <= bytes.size() - off; };
  if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    s.problem = "is not a shared library (no ELF header)";
    return s;
  }
  if (static_cast<unsigned char>(bytes[EI_CLASS]) != ELFCLASS64) {
    s.problem = "is a 32-bit ELF file, expected a 64-bit shared library";
    return s;
  }
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
#if defined(__x86_64__)
  constexpr unsigned kMachine = EM_X86_64;
#elif defined(__aarch64__)
  constexpr unsigned kMachine = EM_AARCH64;
#else
  constexpr unsigned kMachine = EM_NONE;
#endif
  if (eh.e_type != ET_DYN) {
    s.problem = eh.e_type == ET_EXEC ? "is an executable, expected a shared library (add_library(... MODULE))"
                                     : "is an ELF file but not a shared library";
    return s;
  }
  if (kMachine != EM_NONE && eh.e_machine != kMachine) {
    s.problem = fmt::format("is built for another processor (ELF machine {}), expected this machine's ({})",
                            eh.e_machine, kMachine);
    return s;
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || !fits(eh.e_shoff, uint64_t(eh.e_shnum) * sizeof(Elf64_Shdr))) {
    s.problem = "is a damaged shared library (its section table is cut off)";
    return s;
  }
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  if (eh.e_shnum) std::memcpy(sh.data(), bytes.data() + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  for (const auto& sym_sec : sh) {
    if (sym_sec.sh_type != SHT_DYNSYM || sym_sec.sh_link >= sh.size()) continue;
    const auto& str_sec = sh[sym_sec.sh_link];
    if (!fits(sym_sec.sh_offset, sym_sec.sh_size) || !fits(str_sec.sh_offset, str_sec.sh_size)) continue;
    const size_t n = sym_sec.sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < n; ++i) {
      Elf64_Sym sym;
      std::memcpy(&sym, bytes.data() + sym_sec.sh_offset + i * sizeof(Elf64_Sym), sizeof sym);
      if (sym.st_name >= str_sec.sh_size || sym.st_shndx == SHN_UNDEF || sym.st_shndx >= sh.size()) continue;
      const char* name = bytes.data() + str_sec.sh_offset + sym.st_name;
      const size_t max_len = str_sec.sh_size - sym.st_name;
      const std::string_view nm(name, strnlen(name, max_len));
      const bool is_contract = nm == "mksim_plugin_contract_version", is_version = nm == "mksim_plugin_mksim_version";
      if (!is_contract && !is_version) continue;
      const auto& sec = sh[sym.st_shndx];
      if (sec.sh_type == SHT_NOBITS || sym.st_value < sec.sh_addr) continue;
      const uint64_t off = sec.sh_offset + (sym.st_value - sec.sh_addr);
      if (is_contract && sym.st_size == sizeof(unsigned) && fits(off, sizeof(unsigned))) {
        unsigned v;
        std::memcpy(&v, bytes.data() + off, sizeof v);
        s.contract = v;
      } else if (is_version && fits(off, sym.st_size) && sym.st_size > 0) {
        s.mksim_version.assign(bytes.data() + off, strnlen(bytes.data() + off, sym.st_size));
      }
    }
  }
  return s;
}

// The plugin's undefined references to mksim (registries, parameter checks) must resolve to this process's copy. The
// mksim executable exports its symbols (ENABLE_EXPORTS); the Python module `_mksim` is loaded by Python with
// RTLD_LOCAL, so its symbols are made global here, once.
void export_host_symbols() {
  static bool done = false;
  if (done) return;
  done = true;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&export_host_symbols), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);  // the handle stays open: the host is not unloaded
}

}  // namespace

namespace detail {

bool defer_registration(PendingRegistration& r) {
  if (!g_pending) return false;
  g_pending->push_back(std::move(r));
  return true;
}

}  // namespace detail

unsigned contract_version() {
  return MKSIM_CONTRACT_VERSION;
}

std::vector<std::string> loaded_plugins() {
  return g_loaded;
}

void load_plugin(const std::string& path, const std::string& file, const std::string& where) {
  auto fail = [&](const std::string& what) { throw InputError(file, where, fmt::format("plugin {} {}", path, what)); };
  std::error_code ec;
  if (path.empty()) fail("is an empty path, expected the path of a plugin's shared library (libNAME.so)");
  if (!fs::exists(path, ec)) fail("does not exist, expected the path of a plugin's shared library (libNAME.so)");
  if (fs::is_directory(path, ec)) fail("is a folder, expected the path of a plugin's shared library (libNAME.so)");
  const std::string canonical = fs::canonical(path, ec).string();
  if (ec) fail(fmt::format("cannot be read: {}", ec.message()));
  for (const auto& p : g_loaded)
    if (p == canonical) return;
  if (auto it = g_refused.find(canonical); it != g_refused.end()) fail(it->second);

  std::ifstream probe(canonical, std::ios::binary);
  if (!probe) fail("cannot be read (permission denied?)");
  PluginStamp stamp = read_stamp(read_file_bytes(canonical));
  if (!stamp.problem.empty()) fail(stamp.problem);
  if (!stamp.contract)
    fail(
        "is a shared library but not an mksim plugin: it does not define mksim_plugin_contract_version (expand "
        "MKSIM_PLUGIN(); once in one of its source files, see sim/api/plugin.hpp)");
  if (*stamp.contract != MKSIM_CONTRACT_VERSION)
    fail(
        fmt::format("was built against mksim {} with contract version {}, but this mksim ({}) has contract version {}: "
                    "rebuild the plugin against this mksim (find_package(mksim) from its install)",
                    stamp.mksim_version.empty() ? "(unknown)" : stamp.mksim_version, *stamp.contract, MKSIM_VERSION,
                    MKSIM_CONTRACT_VERSION));

  export_host_symbols();
  std::vector<detail::PendingRegistration> pending;
  g_pending = &pending;
  dlerror();
  void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  g_pending = nullptr;
  if (!handle) {
    const char* err = dlerror();
    fail(fmt::format("cannot be loaded: {}", err ? err : "dlopen failed"));
  }
  // From here on the plugin's constructors have run: loading it again would register nothing, so a refusal is kept.
  auto refuse = [&](const std::string& what) {
    g_refused[canonical] = what;
    fail(what);
  };
  const auto* version = static_cast<const unsigned*>(dlsym(handle, "mksim_plugin_contract_version"));
  if (!version || *version != MKSIM_CONTRACT_VERSION)
    refuse("does not export mksim_plugin_contract_version as loaded (was it stripped or built with a version script?)");
  if (pending.empty())
    refuse(
        "registers no component: a plugin registers each with Registry<...>::Add, as mksim's own do (see "
        "docs/writing-a-policy.md)");
  // Check every name before registering any, so that a refused plugin leaves the registries as they were.
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : pending) {
    if (r.taken()) {
      std::string owner = "built into mksim";
      for (const auto* c : all_components())
        if (c->slot == r.slot && c->name == r.name && !c->origin.empty()) owner = "registered by " + c->origin;
      refuse(fmt::format("registers {} '{}', but a {} of that name is already {}: rename the plugin's component",
                         r.slot, r.name, r.slot, owner));
    }
    if (!seen.emplace(r.slot, r.name).second)
      refuse(fmt::format("registers {} '{}' twice: every component needs its own name", r.slot, r.name));
  }
  for (auto& r : pending) r.apply(canonical);
  g_loaded.push_back(canonical);
}

}  // namespace mksim
