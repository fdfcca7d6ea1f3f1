#include "bench/scenarios.h"

namespace chat::bench {

void register_scenarios(CLI::App*, int&) {}

}  // namespace chat::bench
