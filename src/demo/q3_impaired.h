#pragma once
// Q3's dialed-impairment experiment: UDP and TCP through a link that loses, duplicates and
// reorders on purpose. Returns what it measured (or why it could not) for the JSON's "impaired".
#include "src/demo/demo.h"

namespace chat::demo {

Json run_impaired(const DemoOptions& options, Transcript& t);

}  // namespace chat::demo
