//! Per-prefix duration estimates (moving average) and the saturation buffer they imply.

use crate::config::Config;
use crate::ids::{KeyHasher, NameMap};

/// Durations of one kind of task (the shell passes the function name as prefix).
#[derive(Clone, Debug)]
struct PrefixStats {
    ema: f64,
    seen: bool,
    tasks_per_slot: u32,
}

/// Interned prefixes with their duration averages.
pub(crate) struct Prefixes {
    stats: Vec<PrefixStats>,
    names: NameMap<u32>,
    last: Option<(Box<str>, u32)>,
}

impl Prefixes {
    pub fn new(hasher: KeyHasher) -> Self {
        Prefixes {
            stats: Vec::new(),
            names: NameMap::with_hasher(hasher),
            last: None,
        }
    }

    /// Id of `name`, creating it (with the default estimate) if new.
    pub fn intern(&mut self, name: &str, config: &Config) -> u32 {
        if let Some((last, id)) = &self.last {
            if &**last == name {
                return *id;
            }
        }
        let id = match self.names.get(name) {
            Some(&id) => id,
            None => {
                let id = self.stats.len() as u32;
                let mut s = PrefixStats {
                    ema: config.default_task_duration,
                    seen: false,
                    tasks_per_slot: 1,
                };
                s.tasks_per_slot = tasks_per_slot(s.ema, config);
                self.stats.push(s);
                self.names.insert(name.into(), id);
                id
            }
        };
        self.last = Some((name.into(), id));
        id
    }

    /// Folds one observed duration into the average. Nonsense durations are ignored.
    pub fn observe(&mut self, prefix: u32, duration: f64, config: &Config) {
        if !(duration.is_finite() && duration >= 0.0) {
            return;
        }
        let Some(s) = self.stats.get_mut(prefix as usize) else {
            return;
        };
        if s.seen {
            let a = config.duration_ema_alpha;
            s.ema = a * duration + (1.0 - a) * s.ema;
        } else {
            s.ema = duration;
            s.seen = true;
        }
        s.tasks_per_slot = tasks_per_slot(s.ema, config);
    }

    /// Interned prefixes.
    pub fn count(&self) -> usize {
        self.stats.len()
    }

    /// Every prefix's name, indexed by its id.
    pub fn names_by_id(&self) -> Vec<&str> {
        let mut names = vec![""; self.stats.len()];
        for (name, &id) in &self.names {
            names[id as usize] = name;
        }
        names
    }

    /// Estimated seconds for a task of this prefix.
    pub fn estimate(&self, prefix: u32) -> f64 {
        self.stats.get(prefix as usize).map_or(0.0, |s| s.ema)
    }

    /// Estimate in whole microseconds (at least 1), the unit of worker occupancy.
    #[inline]
    pub fn estimate_us(&self, prefix: u32) -> u32 {
        ((self.estimate(prefix) * 1e6).ceil() as u32).max(1)
    }

    /// How many queued tasks of this prefix a worker may hold per slot, or `HELD_BACK`.
    #[inline]
    pub fn tasks_per_slot(&self, prefix: u32) -> u32 {
        self.stats.get(prefix as usize).map_or(HELD_BACK, |s| {
            if s.seen {
                s.tasks_per_slot
            } else {
                HELD_BACK
            }
        })
    }
}

/// Root tasks of a prefix whose duration is unknown, or longer than the saturation horizon,
/// are held back: a worker gets them only while it has fewer than `root_cap(slots)` tasks
/// processing (see `placement::root_worker`). Guessing short would flood workers with tasks
/// that may each take minutes (and hold their results in memory); the first one to finish
/// tells the truth, and fast prefixes then get their deep buffers.
pub(crate) const HELD_BACK: u32 = 0;

/// 1 + min(max_tasks_per_slot, floor(saturation_horizon / ema)), or `HELD_BACK` for tasks
/// longer than the horizon.
fn tasks_per_slot(ema: f64, config: &Config) -> u32 {
    if ema > config.saturation_horizon {
        return HELD_BACK;
    }
    let extra = if ema > 0.0 {
        let n = (config.saturation_horizon / ema).floor();
        if n.is_finite() && n >= 0.0 {
            (n.min(config.max_tasks_per_slot as f64)) as u32
        } else {
            config.max_tasks_per_slot
        }
    } else {
        config.max_tasks_per_slot
    };
    1u32.saturating_add(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tasks_get_deep_buffers_slow_ones_one_per_slot() {
        let c = Config::default();
        let mut p = Prefixes::new(KeyHasher::new(c.hash_seed));
        let fast = p.intern("fast", &c);
        let slow = p.intern("slow", &c);
        // Never seen finishing: held back, whatever the default estimate.
        assert_eq!(p.tasks_per_slot(fast), HELD_BACK);
        p.observe(fast, 0.0005, &c);
        // 0.5 ms against a 20 ms horizon
        assert_eq!(p.tasks_per_slot(fast), 41);
        p.observe(fast, 0.000001, &c);
        assert!(p.tasks_per_slot(fast) > 41);
        p.observe(slow, 1.0, &c);
        assert_eq!(p.tasks_per_slot(slow), HELD_BACK);
        p.observe(slow, f64::NAN, &c);
        assert_eq!(p.estimate(slow), 1.0);
        p.observe(slow, 0.0, &c);
        assert!((p.estimate(slow) - 0.7).abs() < 1e-12);
        assert_eq!(p.intern("fast", &c), fast);
    }
}
