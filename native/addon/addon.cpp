// trainscope_addon.node: the Node-API addon through which the VS Code
// extension calls the trainer's own config parser and memory model, so the
// editor reports exactly what `trainscope-train --check` would.
//
// It runs inside the extension host, beside every other extension, so it is
// thin: no threads of its own (analyzeAsync uses Node's worker pool), no
// CUDA, no global mutable state, never exit/abort. Every
// C++ exception becomes a JS exception (NODE_ADDON_API_CPP_EXCEPTIONS_ALL and
// the guard below), and all data is copied into JS values.
//
// JS API (typed wrapper: extension/native/addon.ts):
//   analyze(text, fileName, { overrides?, memoryBudget? }) -> JSON string:
//       everything the editor knows of a config, from one parse: the
//       diagnostics (what `trainscope-train --check` prints), the resolved
//       config (null with errors), where each key was set, the outline (the
//       byte spans of every header, key and value line), and the planner's
//       report (every checkpoint schedule, precision, accumulation; the
//       config's own budget plan or its ways out; with memoryBudget, the plan
//       whose whole peak fits it), or null when the config cannot be planned.
//       At most ts::kMaxDiagnostics diagnostics, then one saying so.
//   analyzeAsync(text, fileName, options) -> Promise of that JSON string,
//       computed on Node's worker pool (what the editor calls).
//   keyTable() -> [{ section, key, type, values, default, doc }]
//   version() -> string
#include <napi.h>

#include <exception>
#include <string>
#include <vector>

#include "base/json.h"
#include "config/config.h"
#include "plan/planner.h"

namespace {

// Runs fn; turns any C++ exception into a pending JS exception.
template <typename Fn>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* what, Fn fn) {
  Napi::Env env = info.Env();
  try {
    return fn(env);
  } catch (const Napi::Error&) {
    throw;  // already a JS error; WrapCallback rethrows it into JS
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("trainscope addon: ") + what + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, std::string("trainscope addon: ") + what + ": native exception");
  }
}

std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// { overrides?: string[], memoryBudget?: number } (undefined or null = none).
struct AnalyzeOptions {
  std::vector<std::string> overrides;
  uint64_t memory_budget = 0;
};

AnalyzeOptions options_arg(const Napi::CallbackInfo& info, size_t i) {
  AnalyzeOptions o;
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return o;
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
  Napi::Object obj = info[i].As<Napi::Object>();
  Napi::Value ov = obj.Get("overrides");
  if (!ov.IsUndefined() && !ov.IsNull()) {
    if (!ov.IsArray()) throw Napi::TypeError::New(info.Env(), "options.overrides must be an array of strings");
    Napi::Array arr = ov.As<Napi::Array>();
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value v = arr.Get(k);
      if (!v.IsString())
        throw Napi::TypeError::New(info.Env(), "options.overrides[" + std::to_string(k) + "] must be a string");
      o.overrides.push_back(v.As<Napi::String>().Utf8Value());
    }
  }
  Napi::Value mb = obj.Get("memoryBudget");
  if (!mb.IsUndefined() && !mb.IsNull()) {
    const double b = mb.IsNumber() ? mb.As<Napi::Number>().DoubleValue() : -1;
    if (!(b >= 0) || b > 9007199254740992.0)
      throw Napi::RangeError::New(info.Env(), "options.memoryBudget must be a byte count");
    o.memory_budget = uint64_t(b);
  }
  return o;
}

void diagnostic_json(ts::Json& j, const ts::Diagnostic& d) {
  j.begin_object();
  j.field("file", d.file).field("line", d.line).field("col", d.col).field("endCol", d.end_col);
  j.field("severity", d.severity).field("message", d.message).field("key", d.key);
  j.end_object();
}

// The analysis as JSON: pure C++ on copied inputs, so it runs on Node's
// worker pool as well as on the calling thread.
std::string analysis_json(const std::string& text, const std::string& file, const AnalyzeOptions& opt) {
  ts::ParseResult r = ts::parse_config(text, file, opt.overrides);
  // The planner needs a config the parser accepts. A checkpoint budget no
  // plan fits is the planner's own error (what --check adds to the
  // parser): such a config is still planned, for the ways out.
  const bool plannable = r.ok();
  ts::PlanReport report;
  if (plannable) {
    report = ts::plan_report(r.config, opt.memory_budget);
    if (!report.checkpoint_error.empty())
      r.diagnostics.push_back(ts::checkpoint_diagnostic_for(r.config, report.checkpoint_error));
  }
  const bool ok = r.ok();
  std::string s;
  ts::Json j(s);
  j.begin_object();
  j.field("ok", ok);
  j.key("diagnostics").begin_array();
  for (const ts::Diagnostic& d : r.diagnostics) diagnostic_json(j, d);
  j.end_array();
  j.key("config");
  if (ok) j.raw(ts::config_to_json(r.config));
  else j.null();
  j.key("where").begin_object();
  for (const auto& [key, loc] : r.config.where) {
    j.key(key.c_str()).begin_object();
    j.field("file", loc.file).field("line", loc.line).field("col", loc.col);
    j.field("valueCol", loc.value_col).field("endCol", loc.end_col);
    j.end_object();
  }
  j.end_object();
  j.key("outline").begin_array();
  for (const ts::OutlineLine& o : r.outline) {
    j.begin_object().field("line", o.line).field("header", o.header).field("section", o.section);
    if (!o.header) j.field("key", o.key);
    j.field("col", o.col).field("endCol", o.end_col);
    if (!o.header) j.field("valueCol", o.value_col).field("valueEnd", o.value_end);
    j.end_object();
  }
  j.end_array();
  j.key("plan");
  if (plannable) j.raw(report.json);
  else j.null();
  j.end_object();
  return s;
}

Napi::Value Analyze(const Napi::CallbackInfo& info) {
  return guarded(info, "analyze", [&](Napi::Env env) -> Napi::Value {
    const std::string text = string_arg(info, 0, "text");
    const std::string file = string_arg(info, 1, "fileName");
    return Napi::String::New(env, analysis_json(text, file, options_arg(info, 2)));
  });
}

// analyzeAsync: the same analysis on Node's worker pool, so a config that
// takes long to plan never stalls the extension host's thread. The inputs
// are copied in and the JSON copied out; a C++ exception rejects the promise.
class AnalyzeWorker : public Napi::AsyncWorker {
 public:
  AnalyzeWorker(Napi::Env env, std::string text, std::string file, AnalyzeOptions opt)
      : Napi::AsyncWorker(env, "trainscope.analyze"), deferred_(Napi::Promise::Deferred::New(env)),
        text_(std::move(text)), file_(std::move(file)), opt_(std::move(opt)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      json_ = analysis_json(text_, file_, opt_);
    } catch (const std::exception& e) {
      SetError(std::string("trainscope addon: analyzeAsync: ") + e.what());
    } catch (...) {
      SetError("trainscope addon: analyzeAsync: native exception");
    }
  }
  void OnOK() override { deferred_.Resolve(Napi::String::New(Env(), json_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string text_, file_;
  AnalyzeOptions opt_;
  std::string json_;
};

Napi::Value AnalyzeAsync(const Napi::CallbackInfo& info) {
  return guarded(info, "analyzeAsync", [&](Napi::Env env) -> Napi::Value {
    auto* w = new AnalyzeWorker(env, string_arg(info, 0, "text"), string_arg(info, 1, "fileName"),
                                options_arg(info, 2));
    const Napi::Promise p = w->promise();
    w->Queue();  // Node deletes the worker once it has settled
    return p;
  });
}

Napi::Value KeyTable(const Napi::CallbackInfo& info) {
  return guarded(info, "keyTable", [&](Napi::Env env) -> Napi::Value {
    const std::vector<ts::KeyInfo>& table = ts::key_table();
    Napi::Array out = Napi::Array::New(env, table.size());
    for (size_t i = 0; i < table.size(); ++i) {
      const ts::KeyInfo& k = table[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("section", k.section);
      o.Set("key", k.key);
      o.Set("type", k.type);
      o.Set("values", k.values);
      o.Set("default", k.default_value);
      o.Set("doc", k.doc);
      out.Set(uint32_t(i), o);
    }
    return out;
  });
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return guarded(info, "version",
                 [](Napi::Env env) -> Napi::Value { return Napi::String::New(env, TRAINSCOPE_VERSION); });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("analyze", Napi::Function::New(env, Analyze, "analyze"));
  exports.Set("analyzeAsync", Napi::Function::New(env, AnalyzeAsync, "analyzeAsync"));
  exports.Set("keyTable", Napi::Function::New(env, KeyTable, "keyTable"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  return exports;
}

}  // namespace

NODE_API_MODULE(trainscope_addon, Init)
