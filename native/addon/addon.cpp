// trainscope_addon.node: the Node-API addon through which the VS Code
// extension calls the trainer's own config parser and memory model, so the
// editor reports exactly what `trainscope-train --check` would.
//
// It runs inside the extension host, beside every other extension, so it is
// thin: no threads, no CUDA, no global mutable state, never exit/abort. Every
// C++ exception becomes a JS exception (NODE_ADDON_API_CPP_EXCEPTIONS_ALL and
// the guard below), and all data is copied into JS values.
//
// JS API (typed wrapper: extension/native.ts):
//   parse(text, fileName, overrides?) -> { ok, diagnostics, config, where }
//       config is the resolved config as a JSON string (config_to_json), or
//       null when the config has errors.
//   predictMemory(text, fileName, overrides?) -> JSON string
//       (memory_prediction_to_json); throws the first error when the config
//       does not parse.
//   keyTable() -> [{ section, key, type, values, default, doc }]
//   version() -> string
#include <napi.h>

#include <exception>
#include <string>
#include <vector>

#include "config/config.h"
#include "plan/memory_model.h"
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

// Optional string[] (undefined or null = none).
std::vector<std::string> overrides_arg(const Napi::CallbackInfo& info, size_t i) {
  std::vector<std::string> out;
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return out;
  if (!info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), "overrides must be an array of strings");
  Napi::Array arr = info[i].As<Napi::Array>();
  const uint32_t n = arr.Length();
  out.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsString())
      throw Napi::TypeError::New(info.Env(), "overrides[" + std::to_string(k) + "] must be a string");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

ts::ParseResult parse_args(const Napi::CallbackInfo& info) {
  const std::string text = string_arg(info, 0, "text");
  const std::string file = string_arg(info, 1, "fileName");
  const std::vector<std::string> overrides = overrides_arg(info, 2);
  return ts::parse_config(text, file, overrides);
}

// For calls that need a valid config: its first error becomes a JS Error
// with the trainer's "file:line:col: error: msg" text.
ts::Config valid_config(const Napi::CallbackInfo& info) {
  ts::ParseResult r = parse_args(info);
  for (const ts::Diagnostic& d : r.diagnostics)
    if (d.severity == "error") throw Napi::Error::New(info.Env(), d.format());
  return std::move(r.config);
}

Napi::Object diagnostic_object(Napi::Env env, const ts::Diagnostic& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("file", d.file);
  o.Set("line", d.line);
  o.Set("col", d.col);
  o.Set("endCol", d.end_col);
  o.Set("severity", d.severity);
  o.Set("message", d.message);
  o.Set("key", d.key);
  return o;
}

Napi::Value Parse(const Napi::CallbackInfo& info) {
  return guarded(info, "parse", [&](Napi::Env env) -> Napi::Value {
    ts::ParseResult r = parse_args(info);
    // What the trainer's --check adds to the parser: a checkpoint budget
    // that no plan fits.
    ts::Diagnostic plan_error;
    if (r.ok() && ts::checkpoint_diagnostic(r.config, plan_error)) r.diagnostics.push_back(plan_error);
    const bool ok = r.ok();
    Napi::Object out = Napi::Object::New(env);
    out.Set("ok", ok);
    Napi::Array diags = Napi::Array::New(env, r.diagnostics.size());
    for (size_t i = 0; i < r.diagnostics.size(); ++i)
      diags.Set(uint32_t(i), diagnostic_object(env, r.diagnostics[i]));
    out.Set("diagnostics", diags);
    if (ok) out.Set("config", ts::config_to_json(r.config));
    else out.Set("config", env.Null());
    Napi::Object where = Napi::Object::New(env);
    for (const auto& [key, loc] : r.config.where) {
      Napi::Object l = Napi::Object::New(env);
      l.Set("line", loc.line);
      l.Set("col", loc.col);
      l.Set("valueCol", loc.value_col);
      l.Set("endCol", loc.end_col);
      l.Set("file", loc.file);
      where.Set(key, l);
    }
    out.Set("where", where);
    return out;
  });
}

Napi::Value PredictMemory(const Napi::CallbackInfo& info) {
  return guarded(info, "predictMemory", [&](Napi::Env env) -> Napi::Value {
    return Napi::String::New(env, ts::memory_prediction_to_json(ts::predict_memory(valid_config(info))));
  });
}

// plan(text, fileName, overrides?, budgetBytes?) -> JSON string of
// ts::plan_report_json: every checkpoint schedule, precision and
// accumulation with its predicted memory and recompute.
Napi::Value Plan(const Napi::CallbackInfo& info) {
  return guarded(info, "plan", [&](Napi::Env env) -> Napi::Value {
    const ts::Config cfg = valid_config(info);
    uint64_t budget = 0;
    if (info.Length() > 3 && info[3].IsNumber()) {
      const double b = info[3].As<Napi::Number>().DoubleValue();
      if (!(b >= 0) || b > 9007199254740992.0) throw Napi::RangeError::New(env, "plan: the budget must be a byte count");
      budget = uint64_t(b);
    }
    return Napi::String::New(env, ts::plan_report_json(cfg, budget));
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
  exports.Set("parse", Napi::Function::New(env, Parse, "parse"));
  exports.Set("predictMemory", Napi::Function::New(env, PredictMemory, "predictMemory"));
  exports.Set("plan", Napi::Function::New(env, Plan, "plan"));
  exports.Set("keyTable", Napi::Function::New(env, KeyTable, "keyTable"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  return exports;
}

}  // namespace

NODE_API_MODULE(trainscope_addon, Init)
