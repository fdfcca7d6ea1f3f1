#pragma once
// The spec parser's value readers. Each takes the whole item (for the error message) and the
// value text; an error names the field and lists the forms it accepts.
#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

#include "src/impair/spec.h"
#include "src/impair/spec_fields.h"
#include "src/util/result.h"

namespace chat::impair::detail {

std::string_view trim(std::string_view s);
Error fail(std::string_view item, std::string_view why);
Error bad_value(std::string_view item, Field field, std::string_view why = {});

// "N%" (or "0") as a fraction in [0, 1]; `name` is how the error calls the value.
Result<double> parse_percent(std::string_view item, Field field, std::string_view value,
                             std::string_view name);
Result<std::chrono::nanoseconds> parse_duration(std::string_view item, Field field,
                                                std::string_view value);
Result<uint64_t> parse_rate(std::string_view item, std::string_view value);  // bit/s
Result<std::pair<uint64_t, QueueUnit>> parse_queue(std::string_view item, std::string_view value);
Result<uint64_t> parse_integer(std::string_view item, Field field, std::string_view value,
                               uint64_t min, uint64_t max);

}  // namespace chat::impair::detail
