#include "src/chat/console.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace chat {
namespace {

// readline's callback interface takes a plain function pointer with no user data, so the one
// console that owns the terminal is reachable only through this pointer. A process has one
// terminal, hence at most one interactive console; it is set in start() and cleared in stop().
Console* g_terminal_console = nullptr;
std::function<void(char*)> g_terminal_line;

void on_terminal_line(char* line) {
  if (g_terminal_line) g_terminal_line(line);
}

}  // namespace

Console::Console(net::EventLoop& loop, std::string prompt)
    : loop_(loop), prompt_(std::move(prompt)), interactive_(::isatty(0) && ::isatty(1)) {}

Console::~Console() {
  stop();
}

void Console::start(LineHandler on_line, EofHandler on_eof) {
  on_line_ = std::move(on_line);
  on_eof_ = std::move(on_eof);
  reading_ = true;
  if (interactive_) {
    g_terminal_console = this;
    g_terminal_line = [this](char* line) {
      if (line == nullptr) {  // Ctrl-D (or EOF)
        stop();
        if (!eof_sent_ && on_eof_) eof_sent_ = true, on_eof_();
        return;
      }
      std::string text(line);
      ::free(line);
      if (!text.empty()) ::add_history(text.c_str());
      // readline draws the next prompt once this handler returns; act on the line after that, so
      // whatever it prints lands above a prompt that is already there.
      loop_.defer([this, text = std::move(text)]() mutable { deliver(std::move(text)); });
    };
    ::rl_callback_handler_install(prompt_.c_str(), on_terminal_line);
    loop_.add(0, EPOLLIN, [](uint32_t) { ::rl_callback_read_char(); });
    return;
  }
  struct stat st {};
  if (::fstat(0, &st) == 0 && (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
    // epoll refuses regular files (and /dev/null): they are always readable, so read them as soon
    // as the loop runs, a chunk per turn.
    loop_.defer([this] { read_plain(); });
    return;
  }
  net::set_nonblocking(0);
  loop_.add(0, EPOLLIN, [this](uint32_t) { read_plain(); });
}

void Console::read_plain() {
  if (!reading_) return;
  std::vector<std::string> lines;
  char buf[16 * 1024];
  const ssize_t n = ::read(0, buf, sizeof buf);
  if (n > 0) {
    splitter_.feed(std::string_view(buf, static_cast<size_t>(n)), lines);
    for (auto& l : lines) deliver(std::move(l));
    struct stat st {};
    if (reading_ && ::fstat(0, &st) == 0 && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
      loop_.defer([this] { read_plain(); });
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  splitter_.flush(lines);
  for (auto& l : lines) deliver(std::move(l));
  stop();
  if (!eof_sent_ && on_eof_) eof_sent_ = true, on_eof_();
}

void Console::deliver(std::string line) {
  if (reading_ && on_line_) on_line_(std::move(line));
}

void Console::stop() {
  if (!reading_) return;
  reading_ = false;
  loop_.remove(0);
  if (interactive_ && g_terminal_console == this) {
    ::rl_callback_handler_remove();
    g_terminal_console = nullptr;
    g_terminal_line = nullptr;
  }
}

void Console::print(std::string_view line) {
  emit(stdout, line);
}

void Console::print_error(std::string_view line) {
  emit(stderr, line);
}

void Console::emit(FILE* stream, std::string_view line) {
  const bool redraw = interactive_ && reading_;
  // Take the prompt and the half-typed line off the screen, print above them, and let readline
  // draw both back exactly as they were (cursor position included).
  if (redraw) {
    ::rl_clear_visible_line();
    // readline erases through stdout's buffer: flush it, or a line for stderr (a log line, an
    // error) would reach the terminal before the erase and land inside the half-typed line.
    std::fflush(rl_outstream ? rl_outstream : stdout);
  }
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
  if (redraw) ::rl_forced_update_display();
}

}  // namespace chat
