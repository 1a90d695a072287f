// Workload `genode`: a Genode scenario, read from an init configuration (Genode Foundations, "System configuration":
// `<config>` with an `<affinity-space width height>` and one `<start name>` per component, each with its
// `<binary name>`, `<affinity xpos ypos width height>` and `<resource name="RAM" quantum>`). Each component becomes
// the workload that the config's `binaries` object defines for its start name or binary name, instantiated from the
// same workload registry as top-level workloads. A component sees a machine of its own: the cores of its affinity
// rectangle (the affinity space laid row-major over the machine's cores), numbered from 0, as a Genode child sees its
// affinity subspace; its processes, threads, channels and locks carry its start name; the memory regions it creates
// count against its RAM quantum.
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "sim/api/param_struct.hpp"
#include "sim/config.hpp"
#include "sim/input.hpp"
#include "workloads/common.hpp"

namespace mksim {

namespace {

struct GenodeParams {
  bool enforce_ram = false;

  static const ParamStruct<GenodeParams>& declare() {
    using P = GenodeParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .unbound(Field::optional("file", FieldType::String, "",
                                     "Genode init configuration (XML), relative to the config's "
                                     "folder"))
            .unbound(Field::optional("binaries", FieldType::Object, "",
                                     "workload definition ({\"kind\": ..., parameters}) of each binary or start name"))
            .bind(&P::enforce_ram,
                  Field::boolean("enforce_ram", true,
                                 "a component whose memory regions exceed its RAM quantum is an error"));
    return d;
  }
};

// The machine a component sees: only `cores` (global ids), renumbered 0..n-1; the NUMA nodes, caches and
// interconnect stay those of the machine.
Machine sub_machine(const Machine& m, const std::vector<int>& cores) {
  Machine s = m;
  s.name = m.name + " (component view)";
  s.cores.clear();
  std::vector<int> local(static_cast<size_t>(m.num_cores()), -1);
  for (size_t i = 0; i < cores.size(); ++i) {
    local[static_cast<size_t>(cores[i])] = static_cast<int>(i);
    Core c = m.cores[static_cast<size_t>(cores[i])];
    c.id = static_cast<int>(i);
    s.cores.push_back(c);
  }
  for (auto& cache : s.caches) {
    std::vector<int> kept;
    for (int c : cache.cores)
      if (local[static_cast<size_t>(c)] >= 0) kept.push_back(local[static_cast<size_t>(c)]);
    cache.cores = kept;
  }
  return s;
}

struct GenodeComponent {
  std::string name, binary, key;  // start name, binary name, the `binaries` entry used
  int line = 0;
  int xpos = 0, ypos = 0, width = 1, height = 1;
  uint64_t ram_bytes = 0;  // 0: no RAM resource given
  std::vector<int> cores;  // global core ids
  std::string kind;
  Params params;
  std::unique_ptr<Workload> workload;
  uint64_t region_bytes = 0;
  uint32_t first_thread = UINT32_MAX, last_thread = 0;
};

// What a component's workload sees: its own cores, its name on everything it creates, its RAM quantum.
class ComponentEnv final : public WorkloadEnv {
 public:
  ComponentEnv(WorkloadEnv& env, GenodeComponent& c, uint64_t seed, const std::string& xml, bool enforce_ram)
      : env_(env), c_(c), seed_(seed), xml_(xml), enforce_ram_(enforce_ram), m_(sub_machine(env.machine(), c.cores)) {}

  const Machine& machine() const override { return m_; }
  uint64_t seed() const override { return seed_; }
  uint32_t create_process(const std::string& name, std::vector<int> cores) override {
    const std::string full = processes_++ == 0 ? c_.name : c_.name + "/" + name;
    return env_.create_process(full, cores.empty() ? c_.cores : global(cores));
  }
  uint32_t create_thread(uint32_t process, ThreadSpec spec, std::unique_ptr<OpSource> source) override {
    uint32_t id = env_.create_thread(process, rename(std::move(spec)), std::move(source));
    c_.first_thread = std::min(c_.first_thread, id);
    c_.last_thread = std::max(c_.last_thread, id + 1);
    return id;
  }
  uint32_t create_region(uint32_t process, uint64_t bytes, int bind_node) override {
    c_.region_bytes += bytes;
    if (enforce_ram_ && c_.ram_bytes > 0 && c_.region_bytes > c_.ram_bytes)
      throw InputError(xml_, fmt::format("line {}", c_.line),
                       fmt::format("component '{}' creates {} bytes of memory, more than its RAM quantum of {} bytes "
                                   "(raise the quantum or set enforce_ram false)",
                                   c_.name, c_.region_bytes, c_.ram_bytes));
    return env_.create_region(process, bytes, bind_node);
  }
  uint32_t create_channel(const std::string& name) override { return env_.create_channel(c_.name + "/" + name); }
  uint32_t create_lock(const std::string& name) override { return env_.create_lock(c_.name + "/" + name); }
  uint32_t create_template(uint32_t process, ThreadSpec spec,
                           std::function<std::unique_ptr<OpSource>()> make) override {
    return env_.create_template(process, rename(std::move(spec)), std::move(make));
  }

 private:
  std::vector<int> global(const std::vector<int>& local) const {
    std::vector<int> out;
    for (int c : local) {
      if (c < 0 || c >= m_.num_cores())
        throw InputError(xml_, fmt::format("line {}", c_.line),
                         fmt::format("component '{}' asks for its core {}, but its affinity gives it cores 0..{}",
                                     c_.name, c, m_.num_cores() - 1));
      out.push_back(c_.cores[static_cast<size_t>(c)]);
    }
    return out;
  }
  ThreadSpec rename(ThreadSpec spec) const {
    if (!spec.name.empty()) spec.name = c_.name + "/" + spec.name;
    spec.affinity = global(spec.affinity);
    return spec;
  }

  WorkloadEnv& env_;
  GenodeComponent& c_;
  uint64_t seed_;
  std::string xml_;
  bool enforce_ram_;
  Machine m_;
  int processes_ = 0;
};

class GenodeWorkload final : public Workload {
 public:
  explicit GenodeWorkload(const Params& p) : p_(p), v_(GenodeParams::declare().read(p)) {
    if (!p.has("file") || p.text("file").empty()) p.fail("file", "missing, expected a Genode init configuration (XML)");
    if (!p.has("binaries"))
      p.fail("binaries", "missing, expected an object mapping binary or start names to workloads");
    xml_ = p.input_path("file");
    try {
      text_ = read_input_file(xml_, "the Genode configuration");
    } catch (const InputFileError& e) {
      p.fail("file", fmt::format("'{}': {} (looked for {}; a relative path starts at the config's folder)",
                                 p.text("file"), e.reason(), xml_));
    }
    read_xml();
    resolve_components();
  }

  void setup(WorkloadEnv& env) override {
    const Machine& m = env.machine();
    // The affinity space laid row-major over the cores: cell k gets cores [k*N/S, (k+1)*N/S), at least one. read_xml
    // bounds the space to kMaxCells cells, so that these products fit and the loops stay short.
    const int64_t cells = static_cast<int64_t>(space_w_) * space_h_, n = m.num_cores();
    for (size_t i = 0; i < components_.size(); ++i) {
      GenodeComponent& c = components_[i];
      // A row of the rectangle is a run of consecutive cells, whose core ranges join into one: from the first cell's
      // first core to the last cell's end.
      std::vector<char> in(static_cast<size_t>(n), 0);
      for (int y = c.ypos; y < c.ypos + c.height; ++y) {
        const int64_t first = static_cast<int64_t>(y) * space_w_ + c.xpos, last = first + c.width - 1;
        const int64_t lo = first * n / cells, hi = std::max(last * n / cells + 1, (last + 1) * n / cells);
        for (int64_t core = lo; core < hi && core < n; ++core) in[static_cast<size_t>(core)] = 1;
      }
      c.cores.clear();
      for (int64_t core = 0; core < n; ++core)
        if (in[static_cast<size_t>(core)]) c.cores.push_back(static_cast<int>(core));
      ComponentEnv cenv(env, c, env.seed() + i, xml_, v_.enforce_ram);
      c.workload->setup(cenv);
    }
  }

  Metrics metrics(const RunView& run) const override {
    Metrics out;
    uint32_t first = UINT32_MAX, last = 0;
    for (const auto& c : components_) {
      for (const auto& [k, v] : c.workload->metrics(run)) out[c.name + "." + k] = v;
      out[c.name + ".cores"] = static_cast<double>(c.cores.size());
      out[c.name + ".ram_quantum_bytes"] = static_cast<double>(c.ram_bytes);
      out[c.name + ".region_bytes"] = static_cast<double>(c.region_bytes);
      if (c.last_thread > 0) {
        out[c.name + ".makespan_s"] = makespan_s(run, c.first_thread, c.last_thread);
        first = std::min(first, c.first_thread);
        last = std::max(last, c.last_thread);
      }
    }
    out["components"] = static_cast<double>(components_.size());
    out["makespan_s"] = last > 0 ? makespan_s(run, first, last) : 0.0;
    return out;
  }

 private:
  int line_at(ptrdiff_t offset) const {
    if (offset < 0) return 0;
    const auto end = text_.begin() + std::min<ptrdiff_t>(offset, static_cast<ptrdiff_t>(text_.size()));
    return 1 + static_cast<int>(std::count(text_.begin(), end, '\n'));
  }
  [[noreturn]] void fail_at(const pugi::xml_node& n, const std::string& what) const {
    throw InputError(xml_, fmt::format("line {}", line_at(n.offset_debug())), what);
  }

  // A whole number attribute; `def` when absent.
  int int_attr(const pugi::xml_node& n, const char* name, int def, int min) const {
    pugi::xml_attribute a = n.attribute(name);
    if (a.empty()) return def;
    const std::string v = a.value();
    size_t used = 0;
    long long x = 0;
    try {
      x = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != v.size() || x < min || x > 1 << 20)
      fail_at(n, fmt::format("<{} {}=\"{}\">: expected a whole number from {} to {}", n.name(), name, v, min, 1 << 20));
    return static_cast<int>(x);
  }

  // Genode's sizes: "64M", "1G", "512K", "4096".
  uint64_t quantum(const pugi::xml_node& n) const {
    const std::string v = n.attribute("quantum").value();
    size_t used = 0;
    unsigned long long x = 0;
    try {
      x = std::stoull(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    uint64_t mult = 1;
    if (used > 0 && used + 1 == v.size()) {
      const char s = static_cast<char>(std::toupper(static_cast<unsigned char>(v.back())));
      mult = s == 'K' ? 1ull << 10 : s == 'M' ? 1ull << 20 : s == 'G' ? 1ull << 30 : 0;
      if (mult) ++used;
    }
    if (used == 0 || used != v.size() || mult == 0 || x > (1ull << 50) / mult)
      fail_at(n,
              fmt::format("<resource name=\"RAM\" quantum=\"{}\">: expected a size such as 4096, 512K, 64M or 1G", v));
    return x * mult;
  }

  // Affinity-space cells at most: a space, and so an affinity rectangle, is walked cell by cell.
  static constexpr int64_t kMaxCells = int64_t{1} << 20;

  void read_xml() {
    pugi::xml_document doc;
    pugi::xml_parse_result r = doc.load_buffer(text_.data(), text_.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!r) {
      const int line = line_at(r.offset);
      const size_t bol = text_.rfind('\n', r.offset > 0 ? static_cast<size_t>(r.offset) - 1 : 0);
      const int col = static_cast<int>(r.offset - static_cast<ptrdiff_t>(bol == std::string::npos ? 0 : bol + 1)) + 1;
      throw InputError(xml_, fmt::format("line {}, column {}", line, col),
                       fmt::format("invalid XML: {}", r.description()));
    }
    // Names from here end up in results.json, which is UTF-8; pugixml does not check.
    if (const size_t bad = find_invalid_utf8(text_); bad != std::string::npos)
      throw InputError(
          xml_, fmt::format("line {}", line_at(static_cast<ptrdiff_t>(bad))),
          fmt::format("byte 0x{:02x} is not UTF-8, expected UTF-8 text", static_cast<unsigned char>(text_[bad])));
    pugi::xml_node config = doc.document_element();
    if (std::string(config.name()) != "config")
      fail_at(config, fmt::format("the root element is <{}>, expected a Genode init <config>", config.name()));
    if (pugi::xml_node space = config.child("affinity-space")) {
      space_w_ = int_attr(space, "width", 1, 1);
      space_h_ = int_attr(space, "height", 1, 1);
      if (static_cast<int64_t>(space_w_) * space_h_ > kMaxCells)
        fail_at(space, fmt::format("<affinity-space width=\"{}\" height=\"{}\">: {} cells, expected at most {}",
                                   space_w_, space_h_, static_cast<int64_t>(space_w_) * space_h_, kMaxCells));
    }
    std::set<std::string> names;
    for (pugi::xml_node s : config.children("start")) {
      GenodeComponent c;
      c.line = line_at(s.offset_debug());
      c.name = s.attribute("name").value();
      if (c.name.empty()) fail_at(s, "<start> without a name");
      if (c.name.find_first_of("/. ") != std::string::npos)
        fail_at(s, fmt::format("start name '{}': '/', '.' and blanks are not allowed (they separate names in the "
                               "results)",
                               c.name));
      if (!names.insert(c.name).second) fail_at(s, fmt::format("two <start> nodes are named '{}'", c.name));
      pugi::xml_node bin = s.child("binary");
      c.binary = bin ? bin.attribute("name").value() : c.name;
      if (c.binary.empty()) fail_at(bin, fmt::format("<binary> of '{}' without a name", c.name));
      c.width = space_w_;
      c.height = space_h_;
      if (pugi::xml_node a = s.child("affinity")) {
        c.xpos = int_attr(a, "xpos", 0, 0);
        c.ypos = int_attr(a, "ypos", 0, 0);
        c.width = int_attr(a, "width", 1, 1);
        c.height = int_attr(a, "height", 1, 1);
        if (c.xpos + c.width > space_w_ || c.ypos + c.height > space_h_)
          fail_at(a, fmt::format("the affinity of '{}' (x {}..{}, y {}..{}) leaves the {}x{} affinity space", c.name,
                                 c.xpos, c.xpos + c.width - 1, c.ypos, c.ypos + c.height - 1, space_w_, space_h_));
      }
      for (pugi::xml_node res : s.children("resource"))
        if (std::string(res.attribute("name").value()) == "RAM") c.ram_bytes = quantum(res);
      components_.push_back(std::move(c));
    }
    if (components_.empty()) fail_at(config, "the <config> starts no component (no <start> node)");
  }

  // Each component's workload from `binaries`: by start name first, then by binary name; checked by the registry's
  // schema, with errors at workload.binaries.NAME...
  void resolve_components() {
    const json& bins = p_.raw()["binaries"];
    const std::string bins_path = join_path(p_.path(), "binaries");
    std::set<std::string> used;
    for (GenodeComponent& c : components_) {
      c.key = bins.contains(c.name) ? c.name : c.binary;
      if (!bins.contains(c.key)) {
        std::vector<std::string> known;
        for (auto it = bins.begin(); it != bins.end(); ++it) known.push_back(it.key());
        throw InputError(xml_, fmt::format("line {}", c.line),
                         fmt::format("component '{}' runs binary '{}', which {} does not define ({})", c.name, c.binary,
                                     bins_path, one_of(c.binary, known)));
      }
      used.insert(c.key);
      const std::string path = join_path(bins_path, c.key);
      const json& def = bins[c.key];
      if (!def.is_object() || !def.contains("kind") || !def["kind"].is_string())
        throw InputError(p_.file(), join_path(path, "kind"),
                         fmt::format("found {}, expected a workload definition with a 'kind'", def.dump()));
      c.kind = def["kind"].get<std::string>();
      const auto* e = WorkloadRegistry::instance().find(c.kind);
      if (!e || c.kind == "genode")
        throw InputError(p_.file(), join_path(path, "kind"),
                         c.kind == "genode" ? std::string("a component cannot be a Genode scenario itself")
                                            : fmt::format("unknown workload kind '{}', {}", c.kind,
                                                          one_of(c.kind, WorkloadRegistry::instance().names())));
      json given = def;
      given.erase("kind");
      c.params = Params(e->info.params->resolve(given, path, p_.file()), path, p_.file());
      c.workload = e->make(c.params);
    }
    for (auto it = bins.begin(); it != bins.end(); ++it)
      if (!used.count(it.key())) {
        std::vector<std::string> names;
        for (const auto& c : components_) names.push_back(c.binary), names.push_back(c.name);
        throw InputError(p_.file(), join_path(bins_path, it.key()),
                         fmt::format("'{}' is neither a start name nor a binary of {} ({})", it.key(), xml_,
                                     one_of(it.key(), names)));
      }
  }

  Params p_;
  GenodeParams v_;
  std::string xml_, text_;
  int space_w_ = 1, space_h_ = 1;
  std::vector<GenodeComponent> components_;
};

WorkloadRegistry::Add reg(
    "workload", "genode",
    "a Genode scenario: the components of an init configuration (XML) placed on their affinity rectangles, each "
    "running a workload given in `binaries`",
    GenodeParams::declare().schema(), [](const Params& p) { return std::make_unique<GenodeWorkload>(p); });

}  // namespace
}  // namespace mksim
