"""`overheads`: what the per-step machinery costs, and whether the library's defaults pick the faster option.

1. steps_per_execution 1 vs 8 vs 32 on mlp and lenet5: small models, where the cost of going
   in and out of the graph each step is largest.
2. XLA (jit_compile) on vs off for each model on this machine.
3. The library's defaults (training.compile_model: jit_compile="auto", steps_per_execution=DEFAULT) against the
   fastest measured option.
JSON: {"steps_per_execution": {MODEL: {"1": img/s, "8": ..., "32": ...}}, "xla": {MODEL: {"off": img/s,
       "on": ..., "on_over_off": ...}}, "defaults": {"jit_compile": ..., "steps_per_execution": ...,
       "picked_fastest_jit": bool, "picked_fastest_spe": bool}, "peak_rss_mb": ..., "machine": {...}}
"""

from bench import common, steps

SPE_MODELS = [("mlp", (28, 28, 1)), ("lenet5", (28, 28, 1))]
XLA_MODELS = [("mlp", (28, 28, 1)), ("lenet5", (28, 28, 1)), ("cnn4_bn", (28, 28, 1)), ("resnet20", (32, 32, 3))]
# Steps per timed call: a few seconds of work for each model on 2 cores.
STEPS = {"mlp": 256, "lenet5": 256, "cnn4_bn": 64, "resnet20": 16}
SPE_CHOICES = (1, 8, 32)  # Keras 3.15's "auto" fails with steps_per_epoch on a tf.data dataset


def _rate(name, shape, quick, batch_size, **compile_options):
    model = steps.compiled(name, shape, **compile_options)
    return steps.train_rate(model, shape, batch_size=batch_size, steps=32 if quick else STEPS[name],
                            repeats=1 if quick else 3)


def run(quick=False, batch_size=128):
    from keras_course import training

    common.pin_tensorflow_threads()
    result = {"batch_size": batch_size, "quick": quick, "machine": common.machine(), "steps_per_execution": {},
              "xla": {}}
    for name, shape in SPE_MODELS:
        result["steps_per_execution"][name] = {
            str(spe): round(_rate(name, shape, quick, batch_size, steps_per_execution=spe), 1) for spe in SPE_CHOICES}
    xla_models = XLA_MODELS[:2] if quick else XLA_MODELS
    for name, shape in xla_models:
        off = _rate(name, shape, quick, batch_size, jit_compile=False)
        on = _rate(name, shape, quick, batch_size, jit_compile=True)
        result["xla"][name] = {"off": round(off, 1), "on": round(on, 1), "on_over_off": round(on / off, 3)}
    jit = training.resolve_jit("auto")
    spe = training.DEFAULT_STEPS_PER_EXECUTION
    fastest_spe = {name: max(rates, key=rates.get) for name, rates in result["steps_per_execution"].items()}
    result["defaults"] = {
        "jit_compile": jit, "steps_per_execution": spe,
        # within 5% of the best counts as fastest: the rounds' own spread is about that
        "picked_fastest_jit": all(row["on" if jit else "off"] >= 0.95 * max(row["on"], row["off"])
                                  for row in result["xla"].values()),
        "fastest_steps_per_execution": fastest_spe,
        "picked_fastest_spe": all(rates[str(spe)] >= 0.95 * max(rates.values())
                                  for rates in result["steps_per_execution"].values()),
    }
    result["peak_rss_mb"] = common.peak_rss_mb()
    return result


def show(result):
    print(f"batch {result['batch_size']}; training images/s")
    print("steps_per_execution:   " + "  ".join(f"{str(s):>8}" for s in SPE_CHOICES))
    for name, rates in result["steps_per_execution"].items():
        print(f"  {name:<20} " + "  ".join(f"{rates[str(s)]:>8.0f}" for s in SPE_CHOICES))
    print(f"XLA:                   {'off':>8}  {'on':>8}  {'on/off':>8}")
    for name, row in result["xla"].items():
        print(f"  {name:<20} {row['off']:>8.0f}  {row['on']:>8.0f}  {row['on_over_off']:>8.2f}")
    d = result["defaults"]
    print(f"library defaults: jit_compile={d['jit_compile']} (fastest: {d['picked_fastest_jit']}), "
          f"steps_per_execution={d['steps_per_execution']} (fastest within 5%: {d['picked_fastest_spe']})")
