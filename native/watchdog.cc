// A deadline watchdog for guest code run on the caller's thread (isolation
// "none", plugin sessions in "none", a child process's runs): one thread per
// JavaScript thread, started on first use and kept, that terminates V8's
// execution on that thread when an armed deadline passes.
//
// Why not node:vm's `timeout`: it starts and joins a thread for every call,
// about 80 µs on this kind of machine, which was nearly all of a warm plugin
// call in "none" isolation (docs/RATIONALE.md). Here arming is a mutex and a
// clock read; the thread is woken only when it sleeps with no deadline or
// with a later one than the new deadline, so calls that follow each other
// under the same timeout wake it about once per timeout, not once per call.
//
// What it must stop: guest code (and the host calls it makes) running past its
// deadline. What it must never do: terminate code after the run it guards has
// returned. Both sides decide under one mutex: the thread fires only while the
// run is armed, and the run, disarming, learns whether it fired, and if so
// cancels the termination before any other JavaScript runs.
//
// run(fn, ms): calls fn() with no arguments; returns true when it returned,
// false when the deadline ended it; rethrows what it threw. A termination
// that is not this watchdog's (worker.terminate(), process exit) is left to
// unwind. Nested calls are refused (the caller runs them another way).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <node.h>
#include <v8.h>

namespace {

using Clock = std::chrono::steady_clock;

class Watchdog {
 public:
  explicit Watchdog(v8::Isolate* isolate) : isolate_(isolate), thread_([this] { Loop(); }) {}

  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void Arm(Clock::time_point deadline) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      armed_ = true;
      fired_ = false;
      deadline_ = deadline;
      // A thread asleep until the old deadline or earlier wakes then and sees the new one.
      wake = idle_ || wake_at_ > deadline;
    }
    if (wake) cv_.notify_one();
  }

  /** Disarms; whether the deadline fired meanwhile (its termination may still be pending). */
  bool Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
    bool fired = fired_;
    fired_ = false;
    return fired;
  }

  bool busy = false;

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      if (!armed_ || fired_) {
        idle_ = true;
        cv_.wait(lock);
        idle_ = false;
        continue;
      }
      if (Clock::now() >= deadline_) {
        // Under the mutex: the run cannot disarm between this check and the termination.
        fired_ = true;
        isolate_->TerminateExecution();
        continue;
      }
      wake_at_ = deadline_;
      cv_.wait_until(lock, wake_at_);
    }
  }

  v8::Isolate* const isolate_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool fired_ = false;
  bool stopping_ = false;
  bool idle_ = true;
  Clock::time_point deadline_;
  Clock::time_point wake_at_;
  std::thread thread_;
};

// One per JavaScript thread (each has its own isolate), stopped with its environment.
thread_local Watchdog* current = nullptr;

void Stop(void* arg) {
  delete static_cast<Watchdog*>(arg);
  current = nullptr;
}

void Throw(v8::Isolate* isolate, const char* message) {
  isolate->ThrowException(v8::Exception::TypeError(v8::String::NewFromUtf8(isolate, message).ToLocalChecked()));
}

void Run(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* isolate = info.GetIsolate();
  if (info.Length() < 2 || !info[0]->IsFunction() || !info[1]->IsNumber()) return Throw(isolate, "run(fn, ms): a function and a number");
  double ms = info[1].As<v8::Number>()->Value();
  // What it stops: a deadline that is not a time (NaN, negative) or too far to add to a clock without overflow.
  if (!(ms >= 0 && ms <= 1e12)) return Throw(isolate, "run(fn, ms): ms must be between 0 and 1e12");
  if (current == nullptr) {
    current = new Watchdog(isolate);
    node::AddEnvironmentCleanupHook(isolate, Stop, current);
  }
  Watchdog* dog = current;
  if (dog->busy) return Throw(isolate, "run(fn, ms): already running a guarded call on this thread");
  dog->busy = true;
  v8::TryCatch caught(isolate);
  dog->Arm(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms)));
  v8::MaybeLocal<v8::Value> returned = info[0].As<v8::Function>()->Call(isolate->GetCurrentContext(), v8::Undefined(isolate), 0, nullptr);
  bool fired = dog->Disarm();
  dog->busy = false;
  (void)returned;
  if (fired) {
    // Ours: cancelled here, before any other JavaScript runs, whether or not it reached the call.
    isolate->CancelTerminateExecution();
    info.GetReturnValue().Set(false);
    return;
  }
  if (caught.HasCaught()) {
    // Someone else's termination unwinds on; an exception the call threw is the caller's.
    if (!caught.HasTerminated()) caught.ReThrow();
    return;
  }
  info.GetReturnValue().Set(true);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = context->GetIsolate();
  exports->Set(context, v8::String::NewFromUtf8Literal(isolate, "run"),
               v8::FunctionTemplate::New(isolate, Run)->GetFunction(context).ToLocalChecked()).Check();
}
