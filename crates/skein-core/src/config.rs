//! Tunables of the scheduling policies.

/// Scheduler configuration. `Config::default()` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// A task whose worker died under it this many times errs with `Failure::KilledWorker`.
    pub allowed_failures: u32,
    /// Seconds of work a worker should have buffered per slot (root-task saturation). Longer
    /// than a worker's report period for results nothing depends on (20 ms while its threads
    /// keep running), so that a worker never runs dry waiting for the next batch.
    pub saturation_horizon: f64,
    /// Cap on that buffer, in tasks per slot.
    pub max_tasks_per_slot: u32,
    /// Duration estimate (seconds) for a prefix never seen finishing.
    pub default_task_duration: f64,
    /// Weight of the newest duration in the per-prefix moving average.
    pub duration_ema_alpha: f64,
    /// Bytes per second, used to price moving inputs in worker choice.
    pub bandwidth: f64,
    /// `tick(now)` removes workers silent for longer than this (seconds).
    pub heartbeat_timeout: f64,
    /// Transitions kept per task for `story()`.
    pub story_len: usize,
    /// Run `validate()` after every event and panic on a violation.
    pub validate: bool,
    /// Move queued tasks from saturated workers to idle ones on `tick` (see `stealing.rs`).
    pub work_stealing: bool,
    /// Tasks estimated to run shorter than this (seconds) are never stolen: moving them
    /// costs more round trips than it saves.
    pub steal_min_duration: f64,
    /// Run id of the first Compute (default 0). Run ids then count up by one per Compute;
    /// a shell may start higher, and tests do, to cross 2^32.
    pub first_run: u64,
    /// Keys the hash of client-chosen strings (task keys, prefixes, names). The shell must
    /// pass a random one: with a known seed a client can send keys that all collide. The
    /// default is fixed, for tests and simulations; the seed never changes what the core
    /// does, only where keys sit in its tables.
    pub hash_seed: u64,
    /// `tick(now)` removes a worker that holds processing tasks, executes none of them and
    /// has reported nothing about any task for longer than this (seconds): it heartbeats but
    /// sits on its work. Its tasks run elsewhere and count no death (they did nothing).
    /// Generous by default, since a worker fetching large inputs for its tasks reports
    /// nothing until one starts. 0 turns it off.
    pub stall_timeout: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_failures: 3,
            saturation_horizon: 0.02,
            max_tasks_per_slot: 1000,
            default_task_duration: 0.0005,
            duration_ema_alpha: 0.3,
            bandwidth: 100e6,
            heartbeat_timeout: 30.0,
            story_len: 16,
            validate: cfg!(debug_assertions),
            work_stealing: true,
            steal_min_duration: 0.005,
            first_run: 0,
            hash_seed: 0x5ce1_0c0d_e000_0001,
            stall_timeout: 300.0,
        }
    }
}
