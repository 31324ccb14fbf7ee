// Each pickletool command registers itself on the CLI11 app; main.cpp only
// wires them together.
#pragma once

namespace CLI {
class App;
}

void add_dis_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_recode_command(CLI::App& app);
void add_scan_command(CLI::App& app);
