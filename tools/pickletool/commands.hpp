// Each pickletool command registers itself on the CLI11 app; main.cpp only
// wires them together.
#pragma once

#include <string>

namespace CLI {
class App;
}

// A command's own exit code (diff: 1 different, 3 unreadable), with the
// error line to print first when `message` is not empty.
struct CommandExit {
  int code;
  std::string message;
  explicit CommandExit(int c, std::string m = {}) : code(c), message(std::move(m)) {}
};

void add_dis_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_recode_command(CLI::App& app);
void add_scan_command(CLI::App& app);
void add_diff_command(CLI::App& app);
