// Known-dangerous callables by category. Whole modules are listed where
// every public name lets a pickle act on the system (os, subprocess, ...);
// single names elsewhere. A name outside these lists is not safe for it:
// only the allowlist makes a pickle clean.
#include <array>

#include "scan/danger.hpp"

namespace pkl::scan::detail {

namespace {

constexpr Danger kProcess{"process", Verdict::Dangerous, "runs a program or controls processes"};
constexpr Danger kExec{"code-exec", Verdict::Dangerous, "runs Python source or an interactive debugger"};
constexpr Danger kCode{"code-object", Verdict::Dangerous, "builds functions, classes or code objects: code that runs later"};
constexpr Danger kFile{"file-io", Verdict::Dangerous, "reads, writes or deletes files"};
constexpr Danger kNet{"network", Verdict::Dangerous, "opens network connections"};
constexpr Danger kImport{"import", Verdict::Dangerous, "imports modules or resolves names at run time (any callable is reachable)"};
constexpr Danger kNested{"nested-load", Verdict::Dangerous, "deserializes more data with a loader that runs code"};
constexpr Danger kState{"interpreter-state", Verdict::Dangerous, "changes the interpreter's own state (modules, paths, hooks)"};
constexpr Danger kReflect{"reflection", Verdict::Suspicious, "reaches attributes or callables indirectly"};

struct ModuleRule {
  std::string_view module;  // the module and its submodules
  const Danger* danger;
};

constexpr ModuleRule kModules[] = {
    {"os", &kProcess}, {"posix", &kProcess}, {"nt", &kProcess}, {"subprocess", &kProcess},
    {"_posixsubprocess", &kProcess}, {"pty", &kProcess}, {"commands", &kProcess}, {"popen2", &kProcess},
    {"multiprocessing", &kProcess}, {"_winapi", &kProcess}, {"pexpect", &kProcess}, {"webbrowser", &kProcess},
    {"ctypes", &kProcess}, {"_ctypes", &kProcess}, {"cffi", &kProcess},
    {"runpy", &kExec}, {"code", &kExec}, {"codeop", &kExec}, {"timeit", &kExec}, {"pdb", &kExec},
    {"bdb", &kExec}, {"trace", &kExec}, {"doctest", &kExec}, {"IPython", &kExec}, {"cProfile", &kExec},
    {"profile", &kExec}, {"idlelib", &kExec},
    {"marshal", &kCode}, {"dill", &kCode}, {"cloudpickle", &kCode}, {"_dill", &kCode},
    {"io", &kFile}, {"_io", &kFile}, {"shutil", &kFile}, {"tempfile", &kFile}, {"fileinput", &kFile},
    {"glob", &kFile}, {"zipfile", &kFile}, {"tarfile", &kFile}, {"linecache", &kFile}, {"mmap", &kFile},
    {"socket", &kNet}, {"_socket", &kNet}, {"ssl", &kNet}, {"urllib.request", &kNet}, {"urllib2", &kNet},
    {"http.client", &kNet}, {"httplib", &kNet}, {"http.server", &kNet}, {"ftplib", &kNet}, {"smtplib", &kNet},
    {"telnetlib", &kNet}, {"poplib", &kNet}, {"imaplib", &kNet}, {"nntplib", &kNet}, {"xmlrpc", &kNet},
    {"socketserver", &kNet}, {"asyncio", &kNet}, {"requests", &kNet}, {"aiohttp", &kNet}, {"urllib3", &kNet},
    {"importlib", &kImport}, {"imp", &kImport}, {"pkgutil", &kImport}, {"zipimport", &kImport},
    {"sys", &kState}, {"site", &kState}, {"gc", &kState}, {"atexit", &kState},
    {"pickle", &kNested}, {"_pickle", &kNested}, {"cPickle", &kNested}, {"shelve", &kNested},
    {"jsonpickle", &kNested}, {"zodbpickle", &kNested}, {"pickletools", &kNested}, {"copyreg", nullptr},
    {"operator", nullptr}, {"_operator", nullptr},
};

struct NameRule {
  std::string_view module, qualname;
  const Danger* danger;
};

constexpr NameRule kNames[] = {
    {"builtins", "eval", &kExec}, {"builtins", "exec", &kExec}, {"builtins", "execfile", &kExec},
    {"builtins", "compile", &kCode}, {"builtins", "breakpoint", &kExec}, {"builtins", "input", &kExec},
    {"builtins", "__import__", &kImport}, {"builtins", "open", &kFile}, {"builtins", "file", &kFile},
    {"builtins", "getattr", &kReflect}, {"builtins", "setattr", &kState}, {"builtins", "delattr", &kState},
    {"builtins", "globals", &kState}, {"builtins", "locals", &kReflect}, {"builtins", "vars", &kReflect},
    {"builtins", "type", &kReflect}, {"builtins", "super", &kReflect}, {"builtins", "map", &kReflect},
    {"builtins", "filter", &kReflect}, {"builtins", "apply", &kReflect}, {"builtins", "reload", &kImport},
    {"builtins", "help", &kImport}, {"builtins", "memoryview", &kReflect}, {"builtins", "exit", &kProcess},
    {"builtins", "quit", &kProcess},
    {"types", "CodeType", &kCode}, {"types", "FunctionType", &kCode}, {"types", "LambdaType", &kCode},
    {"types", "MethodType", &kCode}, {"types", "ModuleType", &kCode}, {"types", "new_class", &kCode},
    {"operator", "attrgetter", &kReflect}, {"operator", "methodcaller", &kReflect},
    {"operator", "itemgetter", &kReflect}, {"_operator", "attrgetter", &kReflect},
    {"_operator", "methodcaller", &kReflect}, {"_operator", "itemgetter", &kReflect},
    {"functools", "partial", &kReflect}, {"functools", "reduce", &kReflect},
    {"functools", "partialmethod", &kReflect}, {"_functools", "partial", &kReflect},
    {"_functools", "reduce", &kReflect}, {"copyreg", "__newobj_ex__", nullptr},
    {"pydoc", "locate", &kImport}, {"pydoc", "pipepager", &kProcess}, {"pydoc", "tempfilepager", &kProcess},
    {"torch.hub", "load", &kImport}, {"torch.hub", "load_state_dict_from_url", &kNet},
    {"torch", "load", &kNested}, {"torch.serialization", "load", &kNested},
    {"torch.storage", "_load_from_bytes", &kNested}, {"torch.jit", "load", &kNested},
    {"numpy", "load", &kNested}, {"numpy.lib.npyio", "load", &kNested}, {"numpy", "loadtxt", &kFile},
    {"numpy", "fromfile", &kFile}, {"numpy", "save", &kFile}, {"numpy", "memmap", &kFile},
    {"numpy.testing._private.utils", "runstring", &kExec}, {"numpy.f2py", "compile", &kProcess},
    {"joblib", "load", &kNested}, {"joblib.numpy_pickle", "load", &kNested},
    {"pandas", "read_pickle", &kNested}, {"pandas.io.pickle", "read_pickle", &kNested},
    {"pandas", "read_csv", &kFile}, {"yaml", "load", &kNested}, {"yaml", "unsafe_load", &kNested},
    {"pathlib", "Path", &kFile}, {"pathlib", "PosixPath", &kFile}, {"pathlib", "WindowsPath", &kFile},
    {"platform", "popen", &kProcess}, {"gzip", "open", &kFile}, {"bz2", "open", &kFile},
    {"lzma", "open", &kFile}, {"codecs", "open", &kFile}, {"logging.config", "listen", &kNet},
    {"venv", "create", &kProcess}, {"ensurepip", "bootstrap", &kProcess},
};

// Last steps of a dotted name that are dangerous whatever object they are
// reached on (os.system through posixpath.os.system).
constexpr std::string_view kDangerousLeaves[] = {
    "system", "popen", "spawn", "spawnv", "spawnl", "execv", "execve", "execl", "execvp", "fork",
    "eval", "exec", "execfile", "compile", "__import__", "import_module", "__builtins__", "__globals__",
    "__code__", "__subclasses__", "__getattribute__", "check_output", "check_call", "run", "call",
    "Popen", "getoutput", "getstatusoutput", "open", "remove", "unlink", "rmtree", "loads", "load",
    "setattr", "getattr", "__reduce__", "__reduce_ex__", "__setstate__", "modules",
};

bool module_matches(std::string_view module, std::string_view rule) {
  return module == rule || (module.size() > rule.size() && module.substr(0, rule.size()) == rule &&
                            module[rule.size()] == '.');
}

const Danger* module_danger(std::string_view module, bool* listed) {
  for (const ModuleRule& r : kModules)
    if (module_matches(module, r.module)) {
      *listed = true;
      return r.danger;
    }
  *listed = false;
  return nullptr;
}

}  // namespace

const Danger* danger_of(std::string_view module, std::string_view qualname) {
  for (const NameRule& r : kNames)
    if (r.module == module && r.qualname == qualname) return r.danger;
  bool listed = false;
  if (const Danger* d = module_danger(module, &listed)) return d;
  // A dotted qualname: each step is an attribute of the one before.
  if (qualname.find('.') != std::string_view::npos) {
    size_t start = 0;
    while (start <= qualname.size()) {
      size_t dot = qualname.find('.', start);
      std::string_view step = qualname.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (module_danger(step, &listed) || step == "builtins" || step == "__builtins__")
        return &kImport;  // a module reached through another's attribute
      if (dot == std::string_view::npos) {
        for (std::string_view leaf : kDangerousLeaves)
          if (step == leaf) return &kImport;
        break;
      }
      start = dot + 1;
    }
  }
  return nullptr;
}

}  // namespace pkl::scan::detail
