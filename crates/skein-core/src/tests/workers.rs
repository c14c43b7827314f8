//! Workers joining, leaving, dying under tasks, going silent; worker reports.

use super::*;
use crate::TaskState::*;

#[test]
fn bad_workers_are_refused() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    let err = s
        .add_worker(
            WorkerSpec {
                name: "w1".into(),
                slots: 2,
                resources: vec![],
            },
            0.0,
        )
        .unwrap_err();
    assert_eq!(err, CoreError::DuplicateWorkerName { name: "w1".into() });
    let err = s
        .add_worker(
            WorkerSpec {
                name: "w2".into(),
                slots: 0,
                resources: vec![],
            },
            0.0,
        )
        .unwrap_err();
    assert_eq!(err.code(), "SKEIN_INVALID_WORKER");
    let err = s
        .add_worker(
            WorkerSpec {
                name: "w2".into(),
                slots: 1,
                resources: vec![("gpu".into(), -1.0)],
            },
            0.0,
        )
        .unwrap_err();
    assert_eq!(err.code(), "SKEIN_INVALID_WORKER");
    assert_eq!(s.counts().workers, 1);
    assert_eq!(
        s.remove_worker(WorkerId(7), 0.0).unwrap_err(),
        CoreError::UnknownWorker { worker: 7 }
    );
    assert_eq!(
        s.heartbeat(WorkerId(7), 0.0).unwrap_err().code(),
        "SKEIN_UNKNOWN_WORKER"
    );
}

#[test]
fn a_name_can_be_reused_once_its_worker_left() {
    let mut s = sched();
    let w1 = worker(&mut s, "w1", 1);
    s.remove_worker(w1, 1.0).unwrap();
    s.remove_worker(w1, 1.0).unwrap();
    let again = worker(&mut s, "w1", 1);
    assert_ne!(again, w1);
    assert_eq!(s.worker_name(w1), "w1");
    assert!(!s.worker_alive(w1));
}

#[test]
fn removing_a_worker_reschedules_its_tasks_elsewhere() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &[])], &["a", "b"])
        .unwrap();
    assert_eq!(s.processing_count(w1), 2);
    let a = id(&s, "a");
    let old_run = s.run_id(a);
    s.take_instructions();
    let w2 = worker(&mut s, "w2", 1);
    s.remove_worker(w1, 1.0).unwrap();
    assert_eq!(s.processing_count(w2), 2);
    assert_eq!(processing_on(&s, "a"), Some(w2));
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w2), ["a", "b"]);
    assert!(
        ins.workers.iter().all(|(w, _)| *w != w1),
        "a removed worker hears nothing"
    );
    // the dead worker's late report is stale
    assert_eq!(s.task_finished(w1, a, old_run, 1, 0.1), Ok(false));
    assert_eq!(
        s.story("a").last().map(|r| r.stimulus),
        Some(Stimulus::RemoveWorker)
    );
}

#[test]
fn data_only_the_removed_worker_held_is_recomputed_recursively() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(
        c,
        vec![task("a", &[]), task("b", &["a"]), task("c", &["b"])],
        &["c"],
    )
    .unwrap();
    finish(&mut s, "a");
    finish(&mut s, "b");
    assert_eq!((st(&s, "a"), st(&s, "b")), (Released, Memory));
    assert_eq!(processing_on(&s, "c"), Some(w1));
    s.take_instructions();
    let w2 = worker(&mut s, "w2", 1);
    s.remove_worker(w1, 1.0).unwrap();
    // b's data is gone; a must be recomputed first
    assert_eq!(
        (st(&s, "a"), st(&s, "b"), st(&s, "c")),
        (Processing, Waiting, Waiting)
    );
    finish(&mut s, "a");
    finish(&mut s, "b");
    finish(&mut s, "c");
    assert_eq!(st(&s, "c"), Memory);
    assert_eq!(s.who_has(id(&s, "c")), &[w2]);
}

#[test]
fn a_task_that_kills_three_workers_errs_with_killed_worker() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(
        c,
        vec![task("bad", &[]), task("after", &["bad"])],
        &["after"],
    )
    .unwrap();
    let mut names = vec![];
    for i in 0..3 {
        let name = format!("w{i}");
        let w = worker(&mut s, &name, 1);
        assert_eq!(processing_on(&s, "bad"), Some(w));
        names.push(name);
        s.remove_worker(w, i as f64).unwrap();
    }
    assert_eq!((st(&s, "bad"), st(&s, "after")), (Erred, Erred));
    let (cause, f) = s.failure(id(&s, "after")).unwrap();
    assert_eq!(cause, id(&s, "bad"));
    assert_eq!(
        *f,
        Failure::KilledWorker {
            key: "bad".into(),
            workers: names,
            causes: vec![DeathCause::Died; 3]
        }
    );
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c).erred.len(), 1);
}

#[test]
fn tick_removes_silent_workers() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    assert_eq!(processing_on(&s, "a"), Some(w1));
    let w2 = s
        .add_worker(
            WorkerSpec {
                name: "w2".into(),
                slots: 1,
                resources: vec![],
            },
            20.0,
        )
        .unwrap();
    s.take_instructions();
    s.heartbeat(w1, 10.0).unwrap();
    s.tick(35.0);
    assert!(s.worker_alive(w1) && s.worker_alive(w2));
    s.tick(40.5);
    assert!(!s.worker_alive(w1) && s.worker_alive(w2));
    assert_eq!(processing_on(&s, "a"), Some(w2));
    let ins = s.take_instructions();
    assert_eq!(ins.removed_workers, vec![w1]);
    assert_eq!(computes(&s, &ins, w2), ["a"]);
    assert_eq!(s.counts().workers, 1);
}

#[test]
fn reports_with_unknown_ids_are_errors_stale_ones_are_ignored() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let mut a = task("a", &[]);
    a.restrictions = Some(vec!["w1".into()]);
    s.submit_graph(c, vec![a], &["a"]).unwrap();
    let t = id(&s, "a");
    let run = s.run_id(t);
    assert_eq!(
        s.task_finished(WorkerId(9), t, run, 1, 0.1)
            .unwrap_err()
            .code(),
        "SKEIN_UNKNOWN_WORKER"
    );
    assert_eq!(
        s.task_finished(w1, TaskId(99), run, 1, 0.1)
            .unwrap_err()
            .code(),
        "SKEIN_UNKNOWN_TASK"
    );
    assert_eq!(
        s.task_erred(w1, TaskId(99), run, Box::new([]))
            .unwrap_err()
            .code(),
        "SKEIN_UNKNOWN_TASK"
    );
    assert_eq!(
        s.data_lost(w1, TaskId(99)).unwrap_err().code(),
        "SKEIN_UNKNOWN_TASK"
    );
    assert_eq!(
        s.task_finished(w2, t, run, 1, 0.1),
        Ok(false),
        "wrong worker"
    );
    assert_eq!(
        s.task_finished(w1, t, run + 1, 1, 0.1),
        Ok(false),
        "wrong run"
    );
    assert_eq!(s.task_erred(w2, t, run, Box::new([])), Ok(false));
    assert_eq!(s.data_lost(w2, t), Ok(false), "not in memory");
    assert_eq!(s.task_finished(w1, t, run, 1, 0.1), Ok(true));
    assert_eq!(s.task_finished(w1, t, run, 1, 0.1), Ok(false), "twice");
    assert_eq!(s.data_lost(w2, t), Ok(false), "not a holder");
    assert_eq!(s.nbytes(t), 1);
}

#[test]
fn lost_data_nobody_needs_is_just_forgotten() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    finish(&mut s, "a");
    let a = id(&s, "a");
    assert_eq!(s.data_lost(w1, a), Ok(true));
    // still wanted: recomputed
    assert_eq!(s.state(a), Processing);
    finish(&mut s, "a");
    s.release_keys(c, &["a"]).unwrap();
    assert_eq!(s.state(a), Forgotten);
}

#[test]
fn recycled_buffers_are_reused_and_batches_stay_right() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["a"]);
    s.recycle(ins);
    finish(&mut s, "a");
    s.submit_graph(c, vec![task("b", &[])], &["b"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["b"]);
    assert_eq!(keys(&s, &client_batch(&ins, c).memory), ["a"]);
    s.recycle(ins);
    assert!(s.take_instructions().is_empty());
}

#[test]
fn story_is_bounded_per_task() {
    let mut s = Scheduler::new(Config {
        story_len: 3,
        ..config()
    });
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    finish(&mut s, "a");
    assert_eq!(s.data_lost(w, id(&s, "a")), Ok(true));
    let story = s.story("a");
    assert_eq!(story.len(), 3);
    assert_eq!(
        story.last().map(|r| (r.from, r.to)),
        Some((Queued, Processing))
    );
    assert_eq!(story[0].stimulus, Stimulus::DataLost);
    let mut quiet = Scheduler::new(Config {
        story_len: 0,
        ..config()
    });
    let c = quiet.add_client();
    quiet.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    assert!(quiet.story("a").is_empty());
    assert!(quiet.story("unknown").is_empty());
}

/// Starts `keys` (all processing on one worker) and returns that worker.
fn executing(s: &mut Scheduler, keys: &[&str]) -> WorkerId {
    let w = processing_on(s, keys[0]).unwrap();
    for key in keys {
        let t = id(s, key);
        let run = s.run_id(t);
        assert_eq!(s.task_executing(w, t, run), Ok(true), "executing {key}");
    }
    w
}

#[test]
fn a_death_blames_only_the_tasks_the_worker_said_were_executing() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 2);
    s.observe_duration("t", 0.0001);
    s.submit_graph(
        c,
        (0..6).map(|i| task(&format!("t-{i}"), &[])).collect(),
        &["t-0", "t-1", "t-2", "t-3", "t-4", "t-5"],
    )
    .unwrap();
    assert_eq!(s.processing_count(w1), 6);
    // The worker ran a later task first (its own queue order): the report, not the run order, decides.
    executing(&mut s, &["t-4"]);
    s.remove_worker(w1, 1.0).unwrap();
    let blamed: Vec<usize> = (0..6)
        .map(|i| s.tasks[id(&s, &format!("t-{i}"))].suspicious())
        .collect();
    assert_eq!(blamed, [0, 0, 0, 0, 1, 0]);
}

#[test]
fn without_reports_a_death_blames_the_first_tasks_handed_out() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 2);
    s.submit_graph(
        c,
        (0..4).map(|i| task(&format!("t-{i}"), &[])).collect(),
        &["t-0", "t-1", "t-2", "t-3"],
    )
    .unwrap();
    s.remove_worker(w1, 1.0).unwrap();
    let blamed: Vec<usize> = (0..4)
        .map(|i| s.tasks[id(&s, &format!("t-{i}"))].suspicious())
        .collect();
    assert_eq!(blamed, [1, 1, 0, 0]);
}

#[test]
fn executing_marks_end_with_the_run() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &[])], &["a", "b"])
        .unwrap();
    executing(&mut s, &["a"]);
    finish(&mut s, "a");
    // A stale report (an old run, or a task no longer processing there) changes nothing.
    let a = id(&s, "a");
    assert_eq!(s.task_executing(w1, a, s.run_id(a)), Ok(false));
    s.remove_worker(w1, 1.0).unwrap();
    // Nothing said executing any more: the guess picks b, never a (in memory, then lost).
    assert_eq!(s.tasks[id(&s, "b")].suspicious(), 1);
    assert_eq!(s.tasks[a].suspicious(), 0);
}

#[test]
fn a_task_that_ends_its_execution_thread_three_times_errs_alone() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 2);
    s.submit_graph(
        c,
        vec![task("bad", &[]), task("good", &[]), task("after", &["bad"])],
        &["after", "good"],
    )
    .unwrap();
    for round in 0..3 {
        let w = executing(&mut s, &["bad", "good"]);
        assert_eq!(
            w, w1,
            "round {round}: the worker lives on and gets the task again"
        );
        let t = id(&s, "bad");
        assert_eq!(s.executor_died(w1, t, s.run_id(t)), Ok(true));
        // A second report of the same run is stale.
        if round < 2 {
            assert_eq!(processing_on(&s, "bad"), Some(w1));
        }
    }
    assert_eq!((st(&s, "bad"), st(&s, "after")), (Erred, Erred));
    assert_eq!(
        processing_on(&s, "good"),
        Some(w1),
        "the task beside it is not blamed"
    );
    assert_eq!(s.tasks[id(&s, "good")].suspicious(), 0);
    let (_, f) = s.failure(id(&s, "after")).unwrap();
    assert_eq!(
        *f,
        Failure::KilledWorker {
            key: "bad".into(),
            workers: vec!["w1".into(); 3],
            causes: vec![DeathCause::ExecutorDied; 3]
        }
    );
    assert!(s.worker_alive(w1));
    assert_eq!(s.stats().executors_died, 3);
    assert_eq!(s.stats().workers_removed, 0);
}

#[test]
fn a_silent_worker_is_blamed_as_unresponsive() {
    let mut s = Scheduler::new(Config {
        allowed_failures: 1,
        ..config()
    });
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    executing(&mut s, &["a"]);
    tick_until(&mut s, 0.0, 31.0);
    assert!(!s.worker_alive(w1));
    assert_eq!(s.stats().stalls, 0);
    let (_, f) = s.failure(id(&s, "a")).unwrap();
    assert_eq!(
        *f,
        Failure::KilledWorker {
            key: "a".into(),
            workers: vec!["w1".into()],
            causes: vec![DeathCause::Unresponsive]
        }
    );
}

#[test]
fn a_stalled_scheduler_waits_for_fresh_heartbeats_before_removing_anyone() {
    let mut s = sched();
    let w1 = worker(&mut s, "w1", 1);
    s.tick(0.1);
    s.tick(0.2);
    // The scheduler's own loop stalled for 40 s: every heartbeat of that time is still unread.
    s.tick(40.2);
    assert!(s.worker_alive(w1));
    assert_eq!(s.stats().stalls, 1);
    // It heard nothing after the stall either: removed one timeout later.
    tick_until(&mut s, 40.2, 70.0);
    assert!(s.worker_alive(w1));
    tick_until(&mut s, 70.0, 70.5);
    assert!(!s.worker_alive(w1));
    assert_eq!(s.stats().stalls, 1);
}

/// Ticks every 0.1 s from `from` (exclusive) to `to`, as the shell's timer does.
fn tick_until(s: &mut Scheduler, from: f64, to: f64) {
    let mut now = from;
    while now < to {
        now += 0.1;
        s.tick(now);
    }
}

#[test]
fn run_ids_cross_2_pow_32_without_wrapping_so_blame_and_stale_reports_stay_right() {
    let mut s = Scheduler::new(Config {
        first_run: u64::from(u32::MAX),
        ..config()
    });
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &[])], &["a", "b"])
        .unwrap();
    let (a, b) = (id(&s, "a"), id(&s, "b"));
    assert_eq!((s.run_id(a), s.run_id(b)), (u64::from(u32::MAX), 1 << 32));
    assert_eq!(
        s.task_finished(w, b, 0, 1, 0.001),
        Ok(false),
        "b's run cut to 32 bits is a stale run, not b's"
    );
    // Nothing said it was executing: the task handed first (the lowest run) is blamed.
    s.remove_worker(w, 1.0).unwrap();
    assert_eq!((s.tasks[a].suspicious(), s.tasks[b].suspicious()), (1, 0));
    worker(&mut s, "w2", 2);
    assert!(s.run_id(a) > 1 << 32 && s.run_id(b) > 1 << 32);
    finish(&mut s, "a");
    finish(&mut s, "b");
    assert_eq!((st(&s, "a"), st(&s, "b")), (Memory, Memory));
    assert_eq!(s.stats().computes, 4);
}

/// A scheduler whose workers sit on tasks for `stall` seconds at most; heartbeats never time out.
fn with_stall_timeout(stall: f64) -> Scheduler {
    Scheduler::new(Config {
        stall_timeout: stall,
        heartbeat_timeout: 1e9,
        ..config()
    })
}

#[test]
fn a_worker_that_sits_on_its_tasks_is_removed_and_they_run_elsewhere_blaming_none() {
    let mut s = with_stall_timeout(10.0);
    let c = s.add_client();
    let sitter = worker(&mut s, "sitter", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &[])], &["a", "b"])
        .unwrap();
    assert_eq!(s.processing_count(sitter), 2);
    s.take_instructions();
    let honest = worker(&mut s, "honest", 1);
    // It heartbeats all along, but never says it started anything.
    tick_until(&mut s, 0.0, 9.9);
    assert!(s.worker_alive(sitter));
    tick_until(&mut s, 9.9, 10.5);
    assert!(!s.worker_alive(sitter));
    assert_eq!(s.removal(sitter), Some(Removal::Stalled));
    assert_eq!(s.stats().stalled_workers, 1);
    assert_eq!(s.stats().heartbeat_timeouts, 0);
    let ins = s.take_instructions();
    assert_eq!(ins.removed_workers, vec![sitter]);
    assert_eq!(processing_on(&s, "a"), Some(honest));
    assert_eq!(processing_on(&s, "b"), Some(honest));
    // No task counted a death: they never ran on it.
    for key in ["a", "b"] {
        assert!(s.story(key).iter().all(|r| r.to != Erred));
    }
    finish(&mut s, "a");
    finish(&mut s, "b");
    assert_eq!(st(&s, "a"), Memory);
    assert_eq!(s.removal(honest), None);
}

#[test]
fn a_worker_that_reports_or_runs_a_long_task_is_not_sitting() {
    let mut s = with_stall_timeout(10.0);
    let c = s.add_client();
    let busy = worker(&mut s, "busy", 1);
    let steady = worker(&mut s, "steady", 1);
    s.submit_graph(
        c,
        vec![
            task("long", &[]),
            task("x1", &[]),
            task("x2", &[]),
            task("x3", &[]),
        ],
        &["long", "x1", "x2", "x3"],
    )
    .unwrap();
    let long = id(&s, "long");
    let on = processing_on(&s, "long").unwrap();
    let other = if on == busy { steady } else { busy };
    // One task runs for an hour: executing once, then nothing.
    s.task_executing(on, long, s.run_id(long)).unwrap();
    // The other worker reports a task every 8 s: quiet never longer than the timeout.
    let mut now = 0.0;
    for key in ["x1", "x2", "x3"] {
        tick_until(&mut s, now, now + 8.0);
        now += 8.0;
        if processing_on(&s, key) == Some(other) {
            finish(&mut s, key);
        }
    }
    tick_until(&mut s, now, 3600.0);
    assert!(s.worker_alive(busy) && s.worker_alive(steady));
    assert_eq!(s.stats().stalled_workers, 0);
    // An idle worker (nothing processing) is never sitting, however long it is quiet.
    let idle = worker(&mut s, "idle", 1);
    tick_until(&mut s, 3600.0, 3700.0);
    assert!(s.worker_alive(idle));
}

#[test]
fn stall_timeout_zero_turns_the_check_off_and_a_stalled_scheduler_credits_sitters_too() {
    let mut s = with_stall_timeout(0.0);
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    tick_until(&mut s, 0.0, 1000.0);
    assert!(s.worker_alive(w));

    // (A tick later than a quarter of the heartbeat timeout is how a stall is noticed.)
    let mut s = Scheduler::new(Config {
        stall_timeout: 10.0,
        heartbeat_timeout: 40.0,
        ..config()
    });
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    s.tick(0.1);
    // The scheduler itself stalled 20 s: the worker's reports of that time may be unread.
    s.tick(20.1);
    assert!(s.worker_alive(w));
    tick_until(&mut s, 20.1, 29.9);
    assert!(s.worker_alive(w));
    tick_until(&mut s, 29.9, 30.5);
    assert!(!s.worker_alive(w));
}

#[test]
fn a_paused_worker_gets_no_new_tasks_until_it_resumes() {
    let mut s = sched();
    let c = s.add_client();
    let paused = worker(&mut s, "paused", 1);
    let other = worker(&mut s, "other", 1);
    s.set_paused(paused, true).unwrap();
    assert!(s.paused(paused));
    let keys: Vec<String> = (0..6).map(|i| format!("r-{i}")).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, keys.iter().map(|k| task(k, &[])).collect(), &wanted)
        .unwrap();
    assert_eq!(s.processing_count(paused), 0);
    assert_eq!(s.processing_count(other), 2);
    // A task with inputs held only by the paused worker goes elsewhere too (moving them).
    s.set_paused(paused, false).unwrap();
    assert_eq!(
        s.processing_count(paused),
        2,
        "queued roots are offered on resume"
    );
    finish(&mut s, "r-0");
    let holder = processing_on(&s, "r-1");
    s.set_paused(paused, true).unwrap();
    s.submit_graph(c, vec![task("sum", &["r-0"])], &["sum"])
        .unwrap();
    assert_eq!(processing_on(&s, "sum"), Some(other), "r-0 on {holder:?}");
    // Every worker paused: ready tasks wait (no worker), and go out on resume.
    s.set_paused(other, true).unwrap();
    s.submit_graph(c, vec![task("later", &["r-0"])], &["later"])
        .unwrap();
    assert_eq!(st(&s, "later"), NoWorker);
    s.set_paused(other, false).unwrap();
    assert_eq!(processing_on(&s, "later"), Some(other));
    // Paused is not sitting: it may hold its tasks for as long as it needs.
    let mut s = with_stall_timeout(10.0);
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    s.set_paused(w, true).unwrap();
    tick_until(&mut s, 0.0, 100.0);
    assert!(s.worker_alive(w));
    assert_eq!(
        s.set_paused(WorkerId(99), true).unwrap_err().code(),
        "SKEIN_UNKNOWN_WORKER"
    );
}
