// The scanner's policy: allowlist profiles of exact (module, qualname)
// entries, and the categories of known-dangerous callables (scan/danger.hpp).
// Names are the ones find_class sees after fix_imports (Python 3 names).
#include <fstream>
#include <sstream>

#include "picklecodec/error.hpp"
#include "picklecodec/scan.hpp"
#include "scan/danger.hpp"

namespace pkl::scan {

namespace {

struct Entry {
  const char* module;
  const char* qualname;
  uint8_t uses;
};

constexpr uint8_t I = kImport, C = kImport | kCall, N = kImport | kClass, B = kImport | kBuild;
constexpr uint8_t CB = C | B, NB = N | B, CNB = C | N | B;

// torch/_weights_only_unpickler.py's _get_allowed_globals() of the installed
// torch 1.13 (/usr/lib/python3/dist-packages/torch): REDUCE on any of them,
// NEWOBJ of Parameter, BUILD on Tensor, Parameter and OrderedDict.
constexpr Entry kTorchWeightsOnly[] = {
    {"collections", "OrderedDict", CB},
    {"torch.nn.parameter", "Parameter", CNB},
    {"torch.serialization", "_get_layout", C},
    {"torch", "Size", C},
    {"torch", "Tensor", CB},
    {"torch", "complex32", C}, {"torch", "complex64", C}, {"torch", "complex128", C},
    {"torch", "float16", C}, {"torch", "float32", C}, {"torch", "float64", C},
    {"torch", "int8", C}, {"torch", "int16", C}, {"torch", "int32", C}, {"torch", "int64", C},
    {"torch", "ByteTensor", C}, {"torch", "CharTensor", C}, {"torch", "ShortTensor", C},
    {"torch", "IntTensor", C}, {"torch", "LongTensor", C}, {"torch", "HalfTensor", C},
    {"torch", "FloatTensor", C}, {"torch", "DoubleTensor", C}, {"torch", "BoolTensor", C},
    {"torch", "BFloat16Tensor", C},
    {"torch.cuda", "ByteTensor", C}, {"torch.cuda", "CharTensor", C}, {"torch.cuda", "ShortTensor", C},
    {"torch.cuda", "IntTensor", C}, {"torch.cuda", "LongTensor", C}, {"torch.cuda", "HalfTensor", C},
    {"torch.cuda", "FloatTensor", C}, {"torch.cuda", "DoubleTensor", C}, {"torch.cuda", "BoolTensor", C},
    {"torch.cuda", "BFloat16Tensor", C},
    {"torch.sparse", "ByteTensor", C}, {"torch.sparse", "CharTensor", C}, {"torch.sparse", "ShortTensor", C},
    {"torch.sparse", "IntTensor", C}, {"torch.sparse", "LongTensor", C}, {"torch.sparse", "HalfTensor", C},
    {"torch.sparse", "FloatTensor", C}, {"torch.sparse", "DoubleTensor", C}, {"torch.sparse", "BFloat16Tensor", C},
    {"torch.cuda.sparse", "ByteTensor", C}, {"torch.cuda.sparse", "CharTensor", C},
    {"torch.cuda.sparse", "ShortTensor", C}, {"torch.cuda.sparse", "IntTensor", C},
    {"torch.cuda.sparse", "LongTensor", C}, {"torch.cuda.sparse", "HalfTensor", C},
    {"torch.cuda.sparse", "FloatTensor", C}, {"torch.cuda.sparse", "DoubleTensor", C},
    {"torch.cuda.sparse", "BFloat16Tensor", C},
    {"torch", "BoolStorage", C}, {"torch", "ByteStorage", C}, {"torch", "CharStorage", C},
    {"torch", "ShortStorage", C}, {"torch", "IntStorage", C}, {"torch", "LongStorage", C},
    {"torch", "HalfStorage", C}, {"torch", "FloatStorage", C}, {"torch", "DoubleStorage", C},
    {"torch", "BFloat16Storage", C}, {"torch", "ComplexFloatStorage", C}, {"torch", "ComplexDoubleStorage", C},
    {"torch", "QUInt8Storage", C}, {"torch", "QInt8Storage", C}, {"torch", "QInt32Storage", C},
    {"torch", "QUInt4x2Storage", C}, {"torch", "QUInt2x4Storage", C},
    {"torch.storage", "TypedStorage", C}, {"torch.storage", "UntypedStorage", C},
    {"torch.cuda", "BoolStorage", C}, {"torch.cuda", "ByteStorage", C}, {"torch.cuda", "CharStorage", C},
    {"torch.cuda", "ShortStorage", C}, {"torch.cuda", "IntStorage", C}, {"torch.cuda", "LongStorage", C},
    {"torch.cuda", "HalfStorage", C}, {"torch.cuda", "FloatStorage", C}, {"torch.cuda", "DoubleStorage", C},
    {"torch.cuda", "BFloat16Storage", C}, {"torch.cuda", "ComplexFloatStorage", C},
    {"torch.cuda", "ComplexDoubleStorage", C},
    {"torch._utils", "_rebuild_parameter", C},
    {"torch._utils", "_rebuild_tensor", C},
    {"torch._utils", "_rebuild_tensor_v2", CB},
    {"torch._utils", "_rebuild_sparse_tensor", C},
    {"torch._utils", "_rebuild_meta_tensor_no_storage", C},
    {"torch._utils", "_rebuild_sparse_csr_tensor", C},
};

// Whole pickled modules (torch.save(model)): the torch.nn classes a model is
// made of, and how pickle writes their instances; legacy storages (a module
// pickled with pickle.dumps holds torch.storage._load_from_bytes, whose
// bytes argument the scanner scans as a nested checkpoint).
constexpr Entry kTorchModules[] = {
    {"torch._utils", "_rebuild_parameter_with_state", C},
    {"torch.storage", "_load_from_bytes", C},
    {"copyreg", "_reconstructor", CB},
    {"builtins", "object", I},
    {"builtins", "set", C},
    {"_codecs", "encode", C},  // how protocol 2 writes bytes
    {"torch.nn.modules.container", "Sequential", NB},
    {"torch.nn.modules.container", "ModuleList", NB},
    {"torch.nn.modules.container", "ModuleDict", NB},
    {"torch.nn.modules.linear", "Linear", NB},
    {"torch.nn.modules.linear", "Identity", NB},
    {"torch.nn.modules.activation", "ReLU", NB},
    {"torch.nn.modules.activation", "GELU", NB},
    {"torch.nn.modules.activation", "Tanh", NB},
    {"torch.nn.modules.activation", "Sigmoid", NB},
    {"torch.nn.modules.activation", "Softmax", NB},
    {"torch.nn.modules.conv", "Conv1d", NB},
    {"torch.nn.modules.conv", "Conv2d", NB},
    {"torch.nn.modules.pooling", "MaxPool2d", NB},
    {"torch.nn.modules.batchnorm", "BatchNorm1d", NB},
    {"torch.nn.modules.batchnorm", "BatchNorm2d", NB},
    {"torch.nn.modules.normalization", "LayerNorm", NB},
    {"torch.nn.modules.dropout", "Dropout", NB},
    {"torch.nn.modules.sparse", "Embedding", NB},
    {"torch.nn.modules.flatten", "Flatten", NB},
};

// numpy 1.24's pickles: arrays, scalars, dtypes, masked arrays, generators.
constexpr Entry kNumpy[] = {
    {"numpy.core.multiarray", "_reconstruct", CB},
    {"numpy.core.multiarray", "scalar", C},
    {"numpy.core.numeric", "_frombuffer", C},
    {"numpy", "ndarray", I},
    {"numpy", "dtype", CB},
    {"numpy", "matrix", I},
    {"numpy.ma.core", "MaskedArray", I},
    {"numpy.ma.core", "_mareconstruct", CB},
    {"numpy.random._pickle", "__bit_generator_ctor", CB},
    {"numpy.random._pickle", "__generator_ctor", CB},
    {"numpy.random._pickle", "__randomstate_ctor", CB},
    {"_codecs", "encode", C},  // how protocol 2 writes bytes
    {"builtins", "bytes", C},
};

// pandas 1.5's frames, series, indexes and extension arrays.
constexpr Entry kPandas[] = {
    {"pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked", CB},
    {"pandas._libs.internals", "_unpickle_block", C},
    {"pandas._libs.missing", "NA", I},
    {"pandas._libs.sparse", "IntIndex", CB},
    {"pandas._libs.tslibs.offsets", "Day", CB},
    {"pandas._libs.tslibs.offsets", "MonthEnd", CB},
    {"pandas._libs.tslibs.timedeltas", "_timedelta_unpickle", C},
    {"pandas._libs.tslibs.timestamps", "_unpickle_timestamp", C},
    {"pandas.core.arrays.boolean", "BooleanArray", NB},
    {"pandas.core.arrays.boolean", "BooleanDtype", CNB},
    {"pandas.core.arrays.categorical", "Categorical", NB},
    {"pandas.core.arrays.datetimes", "DatetimeArray", NB},
    {"pandas.core.arrays.floating", "Float64Dtype", CNB},
    {"pandas.core.arrays.floating", "FloatingArray", NB},
    {"pandas.core.arrays.integer", "Int64Dtype", CNB},
    {"pandas.core.arrays.integer", "IntegerArray", NB},
    {"pandas.core.arrays.period", "PeriodArray", NB},
    {"pandas.core.arrays.sparse.array", "SparseArray", NB},
    {"pandas.core.arrays.sparse.dtype", "SparseDtype", CNB},
    {"pandas.core.arrays.string_", "StringArray", NB},
    {"pandas.core.arrays.string_", "StringDtype", CNB},
    {"pandas.core.dtypes.dtypes", "CategoricalDtype", CNB},
    {"pandas.core.dtypes.dtypes", "DatetimeTZDtype", CNB},
    {"pandas.core.dtypes.dtypes", "PeriodDtype", CNB},
    {"pandas.core.frame", "DataFrame", NB},
    {"pandas.core.series", "Series", NB},
    {"pandas.core.indexes.base", "Index", I},
    {"pandas.core.indexes.base", "_new_Index", CB},
    {"pandas.core.indexes.datetimes", "DatetimeIndex", I},
    {"pandas.core.indexes.datetimes", "_new_DatetimeIndex", CB},
    {"pandas.core.indexes.interval", "IntervalIndex", I},
    {"pandas.core.indexes.interval", "_new_IntervalIndex", CB},
    {"pandas.core.indexes.multi", "MultiIndex", I},
    {"pandas.core.indexes.numeric", "Int64Index", I},
    {"pandas.core.indexes.period", "PeriodIndex", I},
    {"pandas.core.indexes.range", "RangeIndex", I},
    {"pandas.core.internals.managers", "BlockManager", CNB},
    {"pandas.core.internals.managers", "SingleBlockManager", NB},
    {"pytz", "_UTC", C},
    {"pytz", "_p", C},
    {"builtins", "slice", C},
    {"builtins", "object", I},
    {"copyreg", "_reconstructor", CB},
};

// scikit-learn 1.2's estimators as pickle writes them (their arrays are numpy's).
constexpr Entry kSklearn[] = {
    {"copyreg", "_reconstructor", CB},
    {"builtins", "object", I},
    {"sklearn.linear_model._logistic", "LogisticRegression", CNB},
    {"sklearn.linear_model._base", "LinearRegression", CNB},
    {"sklearn.pipeline", "Pipeline", CNB},
    {"sklearn.preprocessing._data", "StandardScaler", CNB},
    {"sklearn.preprocessing._data", "MinMaxScaler", CNB},
    {"sklearn.tree._classes", "DecisionTreeClassifier", CNB},
    {"sklearn.tree._classes", "DecisionTreeRegressor", CNB},
    {"sklearn.tree._tree", "Tree", CNB},
    {"sklearn.ensemble._forest", "RandomForestClassifier", CNB},
    {"sklearn.ensemble._forest", "RandomForestRegressor", CNB},
    {"sklearn.cluster._kmeans", "KMeans", CNB},
    {"sklearn.decomposition._pca", "PCA", CNB},
    {"sklearn.preprocessing._encoders", "OneHotEncoder", CNB},
    {"numpy", "float64", I},  // an estimator's dtype parameter (OneHotEncoder)
};

// joblib's own wrapper of the arrays it writes inside the pickle stream
// (made empty, then BUILD), and numpy.matrix, the one ndarray subclass
// joblib.dump wraps (joblib.load makes an array of it). joblib < 0.10's
// NDArrayWrapper and ZNDArrayWrapper read other files: not listed (the scan
// reports them as joblib-external-file).
constexpr Entry kJoblib[] = {
    {"joblib.numpy_pickle", "NumpyArrayWrapper", NB},
    {"numpy", "matrix", N},
};

// The standard library's data types (pickle's own output for them).
constexpr Entry kStdlib[] = {
    {"builtins", "set", C}, {"builtins", "frozenset", C}, {"builtins", "bytearray", C},
    {"builtins", "bytes", C}, {"builtins", "complex", C}, {"builtins", "slice", C},
    {"builtins", "range", C}, {"builtins", "int", C}, {"builtins", "list", I},
    {"builtins", "tuple", I}, {"builtins", "object", I}, {"builtins", "bool", C},
    {"_codecs", "encode", C},
    {"copyreg", "_reconstructor", CB},
    {"collections", "OrderedDict", CB}, {"collections", "Counter", CB},
    {"collections", "defaultdict", CB}, {"collections", "deque", CB},
    {"datetime", "date", C}, {"datetime", "datetime", C}, {"datetime", "time", C},
    {"datetime", "timedelta", C}, {"datetime", "timezone", C},
    {"decimal", "Decimal", C}, {"fractions", "Fraction", C},
    {"uuid", "UUID", NB}, {"zoneinfo", "ZoneInfo", C}, {"zoneinfo", "ZoneInfo._unpickle", C},
    {"array", "array", C}, {"array", "_array_reconstructor", C},
    {"types", "SimpleNamespace", CNB},
    {"ipaddress", "IPv4Address", C}, {"ipaddress", "IPv6Address", C},
    {"ipaddress", "IPv4Network", C}, {"ipaddress", "IPv6Network", C},
    {"pathlib", "PurePosixPath", C}, {"pathlib", "PureWindowsPath", C},
    {"urllib.parse", "SplitResult", NB}, {"urllib.parse", "ParseResult", NB},
    {"enum", "Enum", I}, {"re", "RegexFlag", C}, {"http", "HTTPStatus", C},
    {"signal", "Signals", C}, {"signal", "SIGTERM", I},
    {"_operator", "or_", C}, {"operator", "or_", C},
    {"re", "_compile", C},
    {"functools", "partial", CNB},
    {"builtins", "getattr", C},  // only in its nested-name shape: getattr(global, 'name')
};

template <size_t M>
void fill(Policy& p, const Entry (&table)[M]) {
  for (const Entry& e : table) p.allow(e.module, e.qualname, e.uses);
}

std::string key_of(std::string_view module, std::string_view qualname) {
  std::string k(module);
  k += '\n';
  k += qualname;
  return k;
}

}  // namespace

const std::vector<std::string>& Policy::profile_names() {
  static const std::vector<std::string> names = {"torch-weights-only", "torch", "numpy", "pandas",
                                                 "sklearn", "joblib", "stdlib"};
  return names;
}

Policy Policy::profile(std::string_view name) {
  Policy p;
  if (name == "torch-weights-only") {
    fill(p, kTorchWeightsOnly);
  } else if (name == "torch") {
    fill(p, kTorchWeightsOnly);
    fill(p, kTorchModules);
  } else if (name == "numpy") {
    fill(p, kNumpy);
  } else if (name == "pandas") {
    fill(p, kNumpy);
    fill(p, kPandas);
  } else if (name == "sklearn") {
    fill(p, kNumpy);
    fill(p, kSklearn);
  } else if (name == "joblib") {
    fill(p, kNumpy);
    fill(p, kJoblib);
  } else if (name == "stdlib") {
    fill(p, kStdlib);
  } else {
    throw Error(ErrorCode::Usage, "unknown scan profile '" + std::string(name) + "'");
  }
  return p;
}

void Policy::add(const Policy& other) {
  for (const auto& [k, u] : other.entries_) entries_[k] |= u;
}

void Policy::allow(std::string_view module, std::string_view qualname, uint8_t uses) {
  entries_[key_of(module, qualname)] |= static_cast<uint8_t>(uses | kImport);
}

uint8_t Policy::uses(std::string_view module, std::string_view qualname) const {
  auto it = entries_.find(key_of(module, qualname));
  return it == entries_.end() ? 0 : it->second;
}

void Policy::load_text(std::string_view text, const std::string& where) {
  std::istringstream in{std::string(text)};
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto h = line.find('#'); h != std::string::npos) line.erase(h);
    std::istringstream words(line);
    std::string module, qualname, letters, extra;
    if (!(words >> module)) continue;
    auto bad = [&](const std::string& why) {
      throw Error(ErrorCode::Usage, where + ":" + std::to_string(n) + ": " + why);
    };
    if (!(words >> qualname)) bad("expected 'module qualname uses'");
    if (!(words >> letters)) letters = "i";
    if (words >> extra) bad("unexpected '" + extra + "'");
    if (module.find('*') != std::string::npos || qualname.find('*') != std::string::npos)
      bad("no wildcards: name each (module, qualname)");
    uint8_t u = 0;
    for (char c : letters) {
      switch (c) {
        case 'i': u |= kImport; break;
        case 'c': u |= kCall; break;
        case 'n': u |= kClass; break;
        case 'b': u |= kBuild; break;
        default: bad(std::string("unknown use '") + c + "' (letters i c n b)");
      }
    }
    allow(module, qualname, u);
  }
}

void Policy::load_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(ErrorCode::Usage, "cannot read allowlist " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  load_text(ss.str(), path);
}

}  // namespace pkl::scan
