// The trainer's resolved config as JSON (config_to_json in native/core): every
// key, defaults included. The addon's parse returns it and every run record
// echoes it (docs/events.md), so the editor and the panel read one type. A
// stream from another trainer version may add or lack keys: the validator
// checks only that the sections are objects, and readers of a recorded run's
// config treat a missing value as absent.
export interface ResolvedConfig {
  model: { type: string; vocab: number; context: number; layers: number; width: number; heads: number };
  data: { source: string; path: string; val_fraction: number; seed: number };
  train: {
    steps: number;
    batch: number;
    lr: number;
    min_lr: number;
    warmup: number;
    schedule: string;
    weight_decay: number;
    beta1: number;
    beta2: number;
    eps: number;
    grad_clip: number;
    seed: number;
    threads: number;
    eval_every: number;
    eval_batches: number;
    profile_every: number;
    precision: string;
    checkpoint: string;
    accumulate: number;
    device: string;
    attention: string;
    save_every: number;
  };
  parallel: { ranks: number; bucket: number; backend: string };
  [section: string]: Record<string, unknown>;
}

