//! Malformed frames are refused with a typed error, never a panic: truncated, wrong types,
//! huge declared lengths, deep nesting, bad UTF-8, keys over the limit. Plus the Rust half
//! of the golden bytes in `__test__/wire-golden.spec.ts`.

use crate::*;
use rmp::encode as enc;
use skein_core::{
    Config, CoreError, Scheduler, TaskId, TaskSpec, WorkerId, WorkerSpec, MAX_KEY_BYTES,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A graph in the layout the shell writes; `deps` per task.
fn graph(tasks: &[(&str, &[&str])]) -> Vec<u8> {
    let mut out = Vec::new();
    enc::write_array_len(&mut out, tasks.len() as u32).unwrap();
    for (key, deps) in tasks {
        enc::write_array_len(&mut out, 7).unwrap();
        enc::write_str(&mut out, key).unwrap();
        enc::write_str(&mut out, "p").unwrap();
        enc::write_bin(&mut out, b"payload").unwrap();
        enc::write_array_len(&mut out, deps.len() as u32).unwrap();
        for d in *deps {
            enc::write_str(&mut out, d).unwrap();
        }
        enc::write_sint(&mut out, -2).unwrap();
        enc::write_array_len(&mut out, 1).unwrap();
        enc::write_str(&mut out, "w1").unwrap();
        enc::write_map_len(&mut out, 1).unwrap();
        enc::write_str(&mut out, "gpu").unwrap();
        enc::write_f64(&mut out, 0.5).unwrap();
    }
    out
}

/// One task with a raw (already encoded) value in place of field `field` (0 = key).
fn task_with_field(field: usize, raw: &[u8]) -> Vec<u8> {
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut f = Vec::new();
    enc::write_str(&mut f, "k").unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_str(&mut f, "p").unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_bin(&mut f, b"x").unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_array_len(&mut f, 0).unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_sint(&mut f, 0).unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_nil(&mut f).unwrap();
    fields.push(std::mem::take(&mut f));
    enc::write_nil(&mut f).unwrap();
    fields.push(std::mem::take(&mut f));
    fields[field] = raw.to_vec();
    let mut out = vec![0x91, 0x97];
    for f in fields {
        out.extend(f);
    }
    out
}

fn events(list: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    enc::write_array_len(&mut out, list.len() as u32).unwrap();
    for e in list {
        out.extend_from_slice(e);
    }
    out
}

fn malformed_graph(bytes: &[u8], says: &str) {
    match decode_graph(bytes) {
        Err(WireError::Malformed(m)) => assert!(m.contains(says), "{m:?} should say {says:?}"),
        other => panic!("expected a malformed graph saying {says:?}, got {other:?}"),
    }
}

fn malformed_events(bytes: &[u8], says: &str) {
    match decode_worker_events(bytes) {
        Err(WireError::Malformed(m)) => assert!(m.contains(says), "{m:?} should say {says:?}"),
        other => panic!("expected malformed events saying {says:?}, got {other:?}"),
    }
}

#[test]
fn a_well_formed_graph_decodes_field_by_field() {
    let tasks = decode_graph(&graph(&[("a", &[]), ("b", &["a"])])).unwrap();
    assert_eq!(
        tasks[1],
        TaskSpec {
            key: "b".into(),
            prefix: "p".into(),
            payload: b"payload".to_vec().into(),
            dependencies: vec!["a".into()],
            priority: -2,
            restrictions: Some(vec!["w1".into()]),
            resources: vec![("gpu".into(), 0.5)],
            retries: 0,
            allow_other_workers: false,
        }
    );
}

/// Golden bytes (the TypeScript graph writer writes the same: __test__/wire-golden.spec.ts):
/// `[["r", "p", bin "x", [], 0, nil, nil, 3]]`, a task with an 8th field, its retries.
pub(crate) const TASK_WITH_RETRIES: &[u8] = &[
    0x91, 0x98, 0xa1, b'r', 0xa1, b'p', 0xc4, 0x01, b'x', 0x90, 0x00, 0xc0, 0xc0, 0x03,
];

#[test]
fn a_task_may_carry_its_retries_as_an_eighth_field() {
    let tasks = decode_graph(TASK_WITH_RETRIES).unwrap();
    assert_eq!(tasks[0].retries, 3);
    assert_eq!(tasks[0].key, "r");
    // Not a 9th field that is not a bool, nor retries that are not a uint.
    let mut nine = TASK_WITH_RETRIES.to_vec();
    nine[1] = 0x99;
    nine.push(0x00);
    malformed_graph(&nine, "allowOtherWorkers");
    let mut negative = TASK_WITH_RETRIES.to_vec();
    *negative.last_mut().unwrap() = 0xff; // -1
    assert!(matches!(
        decode_graph(&negative),
        Err(WireError::Malformed(_))
    ));
}

/// Golden bytes (the TypeScript graph writer writes the same: __test__/wire-golden.spec.ts):
/// `[["l", "p", bin "x", [], 0, ["gone"], nil, 0, true]]`, a task whose restrictions are a
/// preference: a 9th field, after retries (0 when it has none).
pub(crate) const TASK_WITH_LOOSE_RESTRICTIONS: &[u8] = &[
    0x91, 0x99, 0xa1, b'l', 0xa1, b'p', 0xc4, 0x01, b'x', 0x90, 0x00, 0x91, 0xa4, b'g', b'o', b'n',
    b'e', 0xc0, 0x00, 0xc3,
];

#[test]
fn a_task_may_carry_allow_other_workers_as_a_ninth_field() {
    let tasks = decode_graph(TASK_WITH_LOOSE_RESTRICTIONS).unwrap();
    assert!(tasks[0].allow_other_workers);
    assert_eq!(tasks[0].retries, 0);
    assert_eq!(tasks[0].restrictions, Some(vec!["gone".to_string()]));
    let mut no = TASK_WITH_LOOSE_RESTRICTIONS.to_vec();
    *no.last_mut().unwrap() = 0xc2;
    assert!(!decode_graph(&no).unwrap()[0].allow_other_workers);
    let mut ten = TASK_WITH_LOOSE_RESTRICTIONS.to_vec();
    ten[1] = 0x9a;
    ten.push(0xc3);
    malformed_graph(&ten, "7 to 9 fields");
}

#[test]
fn every_truncation_of_a_graph_or_an_event_frame_is_malformed() {
    let full = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]);
    for len in 0..full.len() {
        assert!(
            matches!(decode_graph(&full[..len]), Err(WireError::Malformed(_))),
            "graph cut at {len} of {}",
            full.len()
        );
    }
    let full = hex("dd 00000003 96 00 00 01 08 cb 3fe0000000000000 c4 02 6869 93 05 00 00 94 04 01 cf 0000000100000005 c3");
    assert_eq!(decode_worker_events(&full).unwrap().len(), 3);
    for len in 0..full.len() {
        assert!(
            matches!(
                decode_worker_events(&full[..len]),
                Err(WireError::Malformed(_))
            ),
            "events cut at {len} of {}",
            full.len()
        );
    }
}

#[test]
fn fields_of_the_wrong_type_name_what_was_expected() {
    malformed_graph(
        &task_with_field(0, &[0x05]),
        "task key: expected a string, found FixPos",
    );
    malformed_graph(
        &task_with_field(1, &[0xc0]),
        "task prefix: expected a string",
    );
    malformed_graph(
        &task_with_field(2, &[0xa1, b'x']),
        "task payload: expected bytes",
    );
    malformed_graph(
        &task_with_field(3, &[0x80]),
        "task dependencies: expected an array, found FixMap",
    );
    malformed_graph(
        &task_with_field(4, &hex("cb 3ff0000000000000")),
        "task priority: expected an integer, found a float",
    );
    malformed_graph(
        &task_with_field(4, &hex("ce 80000000")),
        "task priority: 2147483648 is not an i32",
    );
    malformed_graph(
        &task_with_field(5, &[0x01]),
        "task restrictions: expected an array",
    );
    malformed_graph(
        &task_with_field(6, &[0x90]),
        "task resources: expected a map",
    );
    malformed_graph(&[0x91, 0x96], "task: expected 7 to 9 fields, found 6");
    malformed_graph(&[0x81], "graph: expected an array, found FixMap");
    malformed_graph(&[0x91, 0xc1], "task: expected an array, found Reserved");

    malformed_events(
        &events(&[&[0x92, 0xa1, b'x', 0x00]]),
        "worker event kind: expected an integer",
    );
    malformed_events(
        &events(&[&[0x92, 0x09, 0x00]]),
        "worker event kind 9 is unknown",
    );
    malformed_events(
        &events(&[&[0x93, 0x03, 0x00, 0x00]]),
        "kind 3: expected 2 fields, found 3",
    );
    malformed_events(
        &events(&[&[0x94, 0x00, 0x00, 0x00, 0x00]]),
        "kind 0: expected 5 or 6 fields, found 4",
    );
    malformed_events(
        &events(&[&[0x93, 0x05, 0xff, 0x00]]),
        "executing task: -1 is not a u32",
    );
    malformed_events(
        &events(&[&[0x93, 0x05, 0x00, 0xff]]),
        "executing run: -1 is negative",
    );
    malformed_events(
        &events(&[&[0x94, 0x04, 0x00, 0x00, 0x01]]),
        "steal-response stolen: expected a boolean",
    );
    malformed_events(
        &events(&[&[0x95, 0x00, 0x00, 0x00, 0xd0, 0x80, 0x00]]),
        "finished nbytes: -128 is negative",
    );
    malformed_events(
        &events(&[&[0x94, 0x01, 0x00, 0x00, 0xc0]]),
        "erred payload: expected bytes",
    );
    malformed_events(
        &hex("dd 00000001 93 05 00 cf ffffffffffffffff"),
        "executing run: integer too large",
    );
}

#[test]
fn runs_come_as_integers_or_whole_float64s_up_to_2_pow_53_minus_1() {
    let run_of = |raw: &str| {
        let bytes = events(&[&hex(&format!("93 05 00 {raw}"))]);
        decode_worker_events(&bytes).map(|e| match e[..] {
            [WorkerEvent::Executing {
                task: TaskId(0),
                run,
            }] => run,
            _ => panic!("{e:?}"),
        })
    };
    let executing = Ok::<u64, WireError>;
    assert_eq!(run_of("cf 0000000100000005"), executing((1 << 32) + 5));
    assert_eq!(run_of("cb 41f0000000500000"), executing((1 << 32) + 5));
    assert_eq!(run_of("cb 433fffffffffffff"), executing((1 << 53) - 1));
    for bad in [
        "cb 4340000000000000", // 2^53
        "cb 41f0000000580000", // 2^32 + 5.5
        "cb bff0000000000000", // -1
        "cb 7ff8000000000000", // NaN
        "cb 7ff0000000000000", // infinity
    ] {
        assert!(
            matches!(run_of(bad), Err(WireError::Malformed(ref m)) if m.contains("not a whole number")),
            "{bad}: {:?}",
            run_of(bad)
        );
    }
}

#[test]
fn declared_lengths_beyond_the_frame_are_truncations_not_allocations() {
    malformed_graph(&hex("dd ffffffff"), "task: unexpected end");
    malformed_graph(&hex("dd ffffffff 97 db ffffffff 61"), "task key: truncated");
    malformed_graph(
        &task_with_field(2, &hex("c6 ffffffff 00")),
        "task payload: truncated",
    );
    malformed_graph(
        &task_with_field(3, &hex("dd ffffffff a1 61")),
        "task dependencies: expected a string, found FixPos(0)",
    );
    malformed_graph(
        &task_with_field(6, &hex("df ffffffff")),
        "resource name: unexpected end",
    );
    malformed_events(&hex("dd ffffffff 92 03 00"), "worker event: unexpected end");
    malformed_events(
        &hex("dd 00000001 96 00 00 00 00 00 c6 ffffffff"),
        "finished value: truncated",
    );
}

#[test]
fn deep_nesting_is_refused_at_the_first_level_that_is_not_the_layout() {
    let mut deep = vec![0x97; 1_000_000];
    deep.push(0xc0);
    malformed_graph(&deep, "task key: expected a string, found FixArray(7)");
    malformed_events(
        &deep,
        "worker event kind: expected an integer, found FixArray(7)",
    );
}

#[test]
fn keys_that_are_not_utf8_are_malformed_and_over_long_keys_are_refused_before_utf8_is_checked() {
    malformed_graph(
        &task_with_field(0, &[0xa2, 0xff, 0xfe]),
        "task key: invalid UTF-8",
    );
    malformed_graph(
        &task_with_field(3, &[0x91, 0xa1, 0xc3]),
        "task dependencies: invalid UTF-8",
    );
    malformed_graph(
        &task_with_field(1, &[0xa1, 0x80]),
        "task prefix: invalid UTF-8",
    );

    let mut long = vec![0xda, 0x10, 0x01];
    long.extend(std::iter::repeat_n(b'k', MAX_KEY_BYTES + 1));
    let refused = CoreError::KeyTooLong {
        len: MAX_KEY_BYTES + 1,
        head: "k".repeat(40),
    };
    assert_eq!(
        decode_graph(&task_with_field(0, &long)),
        Err(WireError::Core(refused.clone()))
    );
    let mut dep = vec![0x91];
    dep.extend(&long);
    assert_eq!(
        decode_graph(&task_with_field(3, &dep)),
        Err(WireError::Core(refused.clone()))
    );
    assert_eq!(WireError::Core(refused).code(), "SKEIN_KEY_TOO_LONG");
    let mut not_utf8 = vec![0xda, 0x10, 0x01, 0xff];
    not_utf8.extend(std::iter::repeat_n(b'k', MAX_KEY_BYTES));
    assert!(matches!(
        decode_graph(&task_with_field(0, &not_utf8)),
        Err(WireError::Core(CoreError::KeyTooLong { len, ref head })) if len == MAX_KEY_BYTES + 1 && head.starts_with('\u{fffd}')
    ));
    let mut fits = vec![0xda, 0x10, 0x00];
    fits.extend(std::iter::repeat_n(b'k', MAX_KEY_BYTES));
    assert_eq!(
        decode_graph(&task_with_field(0, &fits)).unwrap()[0]
            .key
            .len(),
        MAX_KEY_BYTES
    );
}

#[test]
fn trailing_bytes_after_the_frame_are_malformed() {
    let mut g = graph(&[("a", &[])]);
    g.push(0xc0);
    malformed_graph(&g, "graph: 1 trailing bytes");
    malformed_events(&[0x90, 0x00], "worker events: 1 trailing bytes");
    assert_eq!(
        WireError::Malformed("x".into()).code(),
        "SKEIN_MALFORMED_FRAME"
    );
}

#[test]
fn a_frame_with_one_malformed_event_applies_none_of_them() {
    let mut core = Scheduler::new(Config {
        validate: true,
        ..Config::default()
    });
    let c = core.add_client();
    let w = core
        .add_worker(
            WorkerSpec {
                name: "w1".into(),
                slots: 1,
                resources: vec![],
            },
            0.0,
        )
        .unwrap();
    core.submit_graph(
        c,
        vec![TaskSpec {
            key: "a".into(),
            ..TaskSpec::default()
        }],
        &["a"],
    )
    .unwrap();
    core.take_instructions();
    let mut inline = InlineValues::default();
    let frame = events(&[&hex("95 00 00 00 08 cb 3fe0000000000000"), &hex("92 09 00")]);
    assert!(apply_worker_events(&mut core, &mut inline, w, &frame).is_err());
    assert_eq!(
        core.counts().processing,
        1,
        "the finished event before the bad one was not applied"
    );
    let frame = events(&[&hex("95 00 00 00 08 cb 3fe0000000000000"), &hex("92 03 05")]);
    let rejected = apply_worker_events(&mut core, &mut inline, w, &frame).unwrap();
    assert_eq!(rejected, ["SKEIN_UNKNOWN_TASK: unknown task id 5"]);
    assert_eq!(core.counts().memory, 1);
    let _ = WorkerId(0);
}

/// The same bytes as `COMPUTE_RUN_PAST_2_32` and `EVENTS_RUN_PAST_2_32` in `__test__/wire-golden.spec.ts`.
#[test]
fn golden_bytes_of_runs_past_2_pow_32() {
    let compute =
        hex("92 a7 636f6d70757465 91 97 00 cf 0000000100000005 a1 61 c4 02 7061 90 93 03 01 00 c3");
    let mut core = Scheduler::new(Config {
        validate: true,
        first_run: (1 << 32) + 5,
        ..Config::default()
    });
    let c = core.add_client();
    core.add_worker(
        WorkerSpec {
            name: "w1".into(),
            slots: 2,
            resources: vec![],
        },
        0.0,
    )
    .unwrap();
    let a = TaskSpec {
        key: "a".into(),
        prefix: "p".into(),
        payload: b"pa".to_vec().into(),
        priority: 3,
        ..TaskSpec::default()
    };
    core.submit_graph(c, vec![a], &["a"]).unwrap();
    let ins = core.take_instructions();
    let out = encode_messages(&core, &ins, &InlineValues::default());
    // The compute message is a bin32 in the row of worker 0: its length, then the golden bytes.
    let mut bin = vec![0xc6];
    bin.extend((compute.len() as u32).to_be_bytes());
    bin.extend(&compute);
    assert!(out.windows(bin.len()).any(|w| w == bin), "{out:02x?}");

    let golden = hex("dd 00000003 95 00 00 cf 0000000100000005 08 cb 3fe0000000000000 93 05 01 cb 41f0000000600000 93 06 01 cb 41f0000000600000");
    let run = (1u64 << 32) + 5;
    assert_eq!(
        decode_worker_events(&golden).unwrap(),
        [
            WorkerEvent::Finished {
                task: TaskId(0),
                run,
                nbytes: 8,
                duration: 0.5,
                value: None
            },
            WorkerEvent::Executing {
                task: TaskId(1),
                run: run + 1
            },
            WorkerEvent::ExecutorDied {
                task: TaskId(1),
                run: run + 1
            },
        ]
    );
}

/// The same bytes as `EVENTS_LONG_RUNNING` in `__test__/wire-golden.spec.ts`: a task seceded
/// from its slot, then finished; applied, the worker's slot is free while it waits.
#[test]
fn golden_bytes_of_the_long_running_event() {
    let golden = hex("dd 00000001 93 07 00 00");
    assert_eq!(
        decode_worker_events(&golden).unwrap(),
        [WorkerEvent::LongRunning {
            task: TaskId(0),
            run: 0
        }]
    );
    malformed_events(
        &events(&[&hex("94 07 00 00 00")]),
        "kind 7: expected 3 fields, found 4",
    );
    malformed_events(
        &events(&[&hex("93 07 ff 00")]),
        "long-running task: -1 is not a u32",
    );
    let mut core = Scheduler::new(Config {
        validate: true,
        ..Config::default()
    });
    let c = core.add_client();
    let w = core
        .add_worker(
            WorkerSpec {
                name: "w1".into(),
                slots: 1,
                resources: vec![],
            },
            0.0,
        )
        .unwrap();
    core.submit_graph(
        c,
        vec![TaskSpec {
            key: "a".into(),
            ..TaskSpec::default()
        }],
        &["a"],
    )
    .unwrap();
    let mut inline = InlineValues::default();
    assert_eq!(
        apply_worker_events(&mut core, &mut inline, w, &golden).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        (core.processing_count(w), core.long_running_count(w)),
        (0, 1)
    );
}

/// Golden bytes (the router and the client read the same: __test__/wire-golden.spec.ts): a
/// client row with a 5th element after a retry took keys back, `["task-retried", ["a"]]`,
/// and rows without one keep their 4 elements.
pub(crate) const CLIENT_ROW_RETRIED: &[u8] = &[
    0x95, 0x00, 0xc0, 0xc0, 0xc0, 0xc6, 0x00, 0x00, 0x00, 0x11, 0x92, 0xac, b't', b'a', b's', b'k',
    b'-', b'r', b'e', b't', b'r', b'i', b'e', b'd', 0x91, 0xa1, b'a',
];

#[test]
fn a_retry_tells_every_client_wanting_the_key_in_a_fifth_element_of_its_row() {
    let mut core = Scheduler::new(Config::default());
    let c = core.add_client();
    let w = core
        .add_worker(
            WorkerSpec {
                name: "w".into(),
                slots: 1,
                resources: vec![],
            },
            0.0,
        )
        .unwrap();
    let a = TaskSpec {
        key: "a".into(),
        payload: b"x".to_vec().into(),
        ..TaskSpec::default()
    };
    core.submit_graph(c, vec![a], &["a"]).unwrap();
    core.take_instructions();
    let t = core.task_id("a").unwrap();
    let run = core.run_id(t);
    core.task_erred(w, t, run, b"boom".to_vec().into()).unwrap();
    let ins = core.take_instructions();
    let erred = encode_messages(&core, &ins, &InlineValues::default());
    assert!(erred.windows(2).any(|x| x == [0x94, 0x00]), "{erred:02x?}");
    core.retry_keys(c, &["a"]).unwrap();
    let ins = core.take_instructions();
    let out = encode_messages(&core, &ins, &InlineValues::default());
    assert!(
        out.windows(CLIENT_ROW_RETRIED.len())
            .any(|x| x == CLIENT_ROW_RETRIED),
        "{out:02x?}"
    );
}
