// Q3, loss, duplication and reordering under a dialed impairment. These need a link that can drop,
// copy and reorder packets on purpose (a link emulator between two network namespaces); loopback
// does none of them. Until such a link is part of this build, this part says so and records why.
#include "src/demo/q3_impaired.h"

namespace chat::demo {

Json run_impaired(const DemoOptions&, Transcript& t) {
  t.say(
      "  the link emulator is not available in this build; loss, duplication and reordering cannot "
      "be dialed here",
      "  本版本没有链路仿真器，无法人为设定丢包、重复和乱序");
  return Json{{"available", false},
              {"why",
               "no link emulator in this build: loopback never drops, duplicates or reorders, and "
               "an impairment needs a link between two network namespaces"}};
}

}  // namespace chat::demo
