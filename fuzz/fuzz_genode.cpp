// Fuzz target: bytes -> a temporary Genode init configuration (XML) -> a config whose `genode` workload reads it, with
// each start name bound to a small compute workload -> resolve_scenario -> validate_scenario (the importer, the
// checks against the config's `binaries`, the affinity space laid over the machine's cores, the components' set-up).
// Must only ever throw InputError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <pugixml.hpp>
#include <string>

#include "fuzz/harness.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("mksim-fuzz-genode-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (mksim_fuzz::known_genode_crash(text)) return 0;
  FILE* f = std::fopen((dir / "init.xml").c_str(), "wb");
  if (!f) return 0;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);

  // A workload for every start name the file has (when pugixml can read it; otherwise the importer reports why).
  mksim::json binaries = mksim::json::object();
  pugi::xml_document doc;
  if (doc.load_buffer(text.data(), text.size()))
    for (pugi::xml_node s : doc.document_element().children("start")) {
      const std::string name = s.attribute("name").value();
      if (!name.empty()) binaries[name] = {{"kind", "compute"}, {"threads", 1}, {"cycles_per_thread", 1000}};
    }
  if (binaries.empty()) binaries["init"] = {{"kind", "compute"}};
  const mksim::json config = {{"machine", {{"sockets", 2}, {"cores_per_socket", 4}, {"nodes_per_socket", 1}}},
                              {"workload", {{"kind", "genode"}, {"file", "init.xml"}, {"binaries", binaries}}}};
  mksim_fuzz::only_input_errors("fuzz_genode", [&] {
    const mksim::Scenario sc = mksim::resolve_scenario(config, (dir / "fuzz.json").string(), dir.string());
    mksim::validate_scenario(sc);
  });
  return 0;
}
