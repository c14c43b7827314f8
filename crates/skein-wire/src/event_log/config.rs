//! The core's configuration in a log's header, field by field with names, so that a field
//! added later reads as its default from an older log, and a field this code does not know
//! (a log from a newer skein) is refused rather than replayed wrongly.

use skein_core::Config;

use super::args::{put_bool, put_f64, put_str, put_varint, ArgReader};
use super::error::{malformed, EventLogError};

enum Value {
    U(u64),
    F(f64),
    B(bool),
}

/// Every field of `Config`, by name. A new field of Config needs a line here and in `set`.
fn fields(c: &Config) -> [(&'static str, Value); 14] {
    [
        ("allowed_failures", Value::U(c.allowed_failures.into())),
        ("saturation_horizon", Value::F(c.saturation_horizon)),
        ("max_tasks_per_slot", Value::U(c.max_tasks_per_slot.into())),
        ("default_task_duration", Value::F(c.default_task_duration)),
        ("duration_ema_alpha", Value::F(c.duration_ema_alpha)),
        ("bandwidth", Value::F(c.bandwidth)),
        ("heartbeat_timeout", Value::F(c.heartbeat_timeout)),
        ("story_len", Value::U(c.story_len as u64)),
        ("validate", Value::B(c.validate)),
        ("work_stealing", Value::B(c.work_stealing)),
        ("steal_min_duration", Value::F(c.steal_min_duration)),
        ("first_run", Value::U(c.first_run)),
        ("hash_seed", Value::U(c.hash_seed)),
        ("stall_timeout", Value::F(c.stall_timeout)),
    ]
}

fn set(c: &mut Config, name: &str, v: Value) -> Result<(), String> {
    let u32_of = |v: u64| u32::try_from(v).map_err(|_| format!("{name}: {v} does not fit 32 bits"));
    match (name, v) {
        ("allowed_failures", Value::U(v)) => c.allowed_failures = u32_of(v)?,
        ("saturation_horizon", Value::F(v)) => c.saturation_horizon = v,
        ("max_tasks_per_slot", Value::U(v)) => c.max_tasks_per_slot = u32_of(v)?,
        ("default_task_duration", Value::F(v)) => c.default_task_duration = v,
        ("duration_ema_alpha", Value::F(v)) => c.duration_ema_alpha = v,
        ("bandwidth", Value::F(v)) => c.bandwidth = v,
        ("heartbeat_timeout", Value::F(v)) => c.heartbeat_timeout = v,
        ("story_len", Value::U(v)) => c.story_len = usize::try_from(v).unwrap_or(usize::MAX),
        ("validate", Value::B(v)) => c.validate = v,
        ("work_stealing", Value::B(v)) => c.work_stealing = v,
        ("steal_min_duration", Value::F(v)) => c.steal_min_duration = v,
        ("first_run", Value::U(v)) => c.first_run = v,
        ("hash_seed", Value::U(v)) => c.hash_seed = v,
        ("stall_timeout", Value::F(v)) => c.stall_timeout = v,
        _ => {
            return Err(format!(
                "config field '{name}' is unknown to this skein or of another kind (is the log from a newer skein?)"
            ))
        }
    }
    Ok(())
}

pub(super) fn encode(c: &Config) -> Vec<u8> {
    let fields = fields(c);
    let mut out = Vec::with_capacity(512);
    put_varint(&mut out, fields.len() as u64);
    for (name, value) in fields {
        put_str(&mut out, name);
        match value {
            Value::U(v) => {
                out.push(b'u');
                put_varint(&mut out, v);
            }
            Value::F(v) => {
                out.push(b'f');
                put_f64(&mut out, v);
            }
            Value::B(v) => {
                out.push(b'b');
                put_bool(&mut out, v);
            }
        }
    }
    out
}

pub(super) fn decode(r: &mut ArgReader<'_>) -> Result<Config, EventLogError> {
    let mut config = Config::default();
    let n = r.count(3, "config field count")?;
    for _ in 0..n {
        let at = r.offset();
        let name = r.str("config field name")?;
        let kind_at = r.offset();
        let value = match r.u8("config field kind")? {
            b'u' => Value::U(r.varint(name)?),
            b'f' => Value::F(r.f64(name)?),
            b'b' => Value::B(r.bool(name)?),
            _ => {
                return Err(malformed(
                    kind_at,
                    format!("config field '{name}': unknown kind"),
                ))
            }
        };
        set(&mut config, name, value).map_err(|what| malformed(at, what))?;
    }
    r.end("config")?;
    Ok(config)
}
