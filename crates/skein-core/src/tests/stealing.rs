//! Work stealing: which tasks move, and the request/confirm protocol under every order of
//! answers, finishes and worker deaths.

use super::*;

/// 20 tasks `work-i` depending on 10 MB scattered on `w1` and a small input of their own
/// there (so they are not root-ish: their group has 21 distinct inputs), so placement puts
/// them all on `w1`; `work-0` then finishes in 1 s, so the rest look long against moving
/// 10 MB.
fn imbalanced(config: Config) -> (Scheduler, ClientId, WorkerId, WorkerId) {
    let mut s = Scheduler::new(config);
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    s.add_scattered(c, "data", w1, 10_000_000).unwrap();
    for i in 0..20 {
        s.add_scattered(c, &format!("part-{i}"), w1, 10).unwrap();
    }
    let tasks: Vec<TaskSpec> = (0..20)
        .map(|i| task(&format!("work-{i}"), &["data", &format!("part-{i}")]))
        .collect();
    let keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, tasks, &wanted).unwrap();
    assert_eq!(
        s.processing_count(w1),
        20,
        "placement keeps every task with its input"
    );
    finish_with(&mut s, "work-0", 10, 1.0);
    s.take_instructions();
    (s, c, w1, w2)
}

fn steals(ins: &Instructions, w: WorkerId) -> Vec<(TaskId, u64)> {
    ins.workers
        .iter()
        .filter(|(x, _)| *x == w)
        .flat_map(|(_, b)| b.steal.iter().copied())
        .collect()
}

#[test]
fn an_idle_worker_steals_about_half_of_a_saturated_ones_queue() {
    let (mut s, _, w1, w2) = imbalanced(config());
    s.tick(1.0);
    let ins = s.take_instructions();
    let asked = steals(&ins, w1);
    assert!(
        (5..=10).contains(&asked.len()),
        "asked for {} of 19",
        asked.len()
    );
    assert!(steals(&ins, w2).is_empty());
    assert_eq!(s.steals_in_flight(), asked.len());
    // Nothing moves before the victim answers; another round asks for nothing more.
    assert_eq!(s.processing_count(w1), 19);
    s.tick(1.1);
    assert!(
        steals(&s.take_instructions(), w1).is_empty(),
        "in-flight steals count as moved"
    );
    for &(t, run) in &asked {
        assert_eq!(s.steal_response(w1, t, run, true), Ok(true));
        assert_eq!(s.state(t), TaskState::Processing);
        assert_ne!(s.run_id(t), run, "a stolen task gets a new run");
    }
    assert_eq!(s.processing_count(w2), asked.len());
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w2).len(), asked.len());
    assert!(
        frees(&s, &ins, w1).is_empty(),
        "the victim already dropped them"
    );
    let stats = s.stats();
    assert_eq!(
        (stats.steal_requests, stats.stolen, stats.steal_refused),
        (asked.len() as u64, asked.len() as u64, 0)
    );
    // The victim's late report under the old run is stale.
    let (t, run) = asked[0];
    assert_eq!(s.task_finished(w1, t, run, 1, 1.0), Ok(false));
    assert_eq!(
        s.story(s.key(t)).last().map(|r| r.stimulus),
        Some(Stimulus::StealResponse)
    );
}

#[test]
fn a_refused_steal_leaves_the_task_running_and_its_finish_counts() {
    let (mut s, c, w1, _) = imbalanced(config());
    s.tick(1.0);
    let (t, run) = steals(&s.take_instructions(), w1)[0];
    assert_eq!(s.steal_response(w1, t, run, false), Ok(true));
    assert_eq!(processing_on(&s, s.key(t)), Some(w1));
    assert_eq!(s.run_id(t), run);
    assert_eq!(
        s.steal_response(w1, t, run, true),
        Ok(false),
        "a second answer is stale"
    );
    assert_eq!(s.task_finished(w1, t, run, 10, 1.0), Ok(true));
    assert_eq!(s.state(t), TaskState::Memory);
    assert!(s.wants(c, t));
    assert_eq!(s.stats().steal_refused, 1);
}

#[test]
fn a_finish_before_the_answer_cancels_the_steal() {
    let (mut s, _, w1, w2) = imbalanced(config());
    s.tick(1.0);
    let asked = steals(&s.take_instructions(), w1);
    let (t, run) = asked[0];
    assert_eq!(s.task_finished(w1, t, run, 10, 1.0), Ok(true));
    assert_eq!(s.steals_in_flight(), asked.len() - 1);
    assert_eq!(s.steal_response(w1, t, run, false), Ok(false));
    assert_eq!(s.steal_response(w1, t, run, true), Ok(false));
    assert_eq!(s.state(t), TaskState::Memory);
    assert_eq!(s.processing_count(w2), 0);
    // An error before the answer cancels it the same way.
    let (t, run) = asked[1];
    assert_eq!(s.task_erred(w1, t, run, Box::from(&b"boom"[..])), Ok(true));
    assert_eq!(s.steal_response(w1, t, run, true), Ok(false));
    assert_eq!(s.state(t), TaskState::Erred);
}

#[test]
fn a_steal_request_made_moot_before_delivery_is_not_sent() {
    let (mut s, _, w1, _) = imbalanced(config());
    s.tick(1.0);
    // Finish the first tasks the round picked before anyone takes the batch.
    let picked: Vec<TaskId> = (1..20)
        .map(|i| id(&s, &format!("work-{i}")))
        .filter(|&t| s.stealing.in_flight.contains_key(&t))
        .collect();
    let first = picked[0];
    let run = s.run_id(first);
    assert_eq!(s.task_finished(w1, first, run, 10, 1.0), Ok(true));
    let asked = steals(&s.take_instructions(), w1);
    assert_eq!(asked.len(), picked.len() - 1);
    assert!(asked.iter().all(|&(t, _)| t != first));
}

#[test]
fn the_victim_dying_with_steals_in_flight_loses_nothing() {
    let (mut s, _, w1, w2) = imbalanced(config());
    s.tick(1.0);
    let asked = steals(&s.take_instructions(), w1);
    s.remove_worker(w1, 1.5).unwrap();
    assert_eq!(s.steals_in_flight(), 0);
    for &(t, run) in &asked {
        assert_eq!(
            s.steal_response(w1, t, run, true),
            Ok(false),
            "a removed victim's answer is stale"
        );
    }
    // `data` was scattered on w1 only: everything that needs it errs with Lost.
    assert_eq!(st(&s, "data"), TaskState::Erred);
    assert_eq!(s.processing_count(w2), 0);
}

#[test]
fn the_thief_dying_before_the_answer_sends_the_task_elsewhere() {
    let (mut s, _, w1, w2) = imbalanced(config());
    s.tick(1.0);
    let asked = steals(&s.take_instructions(), w1);
    let w3 = worker(&mut s, "w3", 1);
    s.remove_worker(w2, 1.2).unwrap();
    let (t, run) = asked[0];
    assert_eq!(s.steal_response(w1, t, run, true), Ok(true));
    let on = processing_on(&s, s.key(t));
    assert!(
        on == Some(w1) || on == Some(w3),
        "placed afresh on a live worker, not {on:?}"
    );
    assert_ne!(s.run_id(t), run);
}

#[test]
fn answers_from_the_wrong_worker_or_run_are_stale_unknown_ids_are_errors() {
    let (mut s, _, w1, w2) = imbalanced(config());
    s.tick(1.0);
    let (t, run) = steals(&s.take_instructions(), w1)[0];
    assert_eq!(s.steal_response(w2, t, run, true), Ok(false));
    assert_eq!(
        s.steal_response(w1, t, run.wrapping_add(1000), true),
        Ok(false)
    );
    assert_eq!(
        s.steal_response(WorkerId(99), t, run, true)
            .map_err(|e| e.code()),
        Err("SKEIN_UNKNOWN_WORKER")
    );
    assert_eq!(
        s.steal_response(w1, TaskId(9999), run, true)
            .map_err(|e| e.code()),
        Err("SKEIN_UNKNOWN_TASK")
    );
    // A task never asked for is not stolen by a made-up answer.
    let other = (1..20)
        .map(|i| id(&s, &format!("work-{i}")))
        .find(|t| !s.stealing.in_flight.contains_key(t))
        .unwrap();
    let other_run = s.run_id(other);
    assert_eq!(s.steal_response(w1, other, other_run, true), Ok(false));
    assert_eq!(processing_on(&s, s.key(other)), Some(w1));
}

#[test]
fn no_stealing_when_switched_off_or_when_tasks_are_short() {
    let (mut s, _, w1, _) = imbalanced(Config {
        work_stealing: false,
        ..config()
    });
    s.tick(1.0);
    assert!(steals(&s.take_instructions(), w1).is_empty());
    let (mut s, _, w1, _) = imbalanced(Config {
        steal_min_duration: 2.0,
        ..config()
    });
    s.tick(1.0);
    assert!(steals(&s.take_instructions(), w1).is_empty());
}

#[test]
fn moving_huge_inputs_for_short_tasks_is_not_worth_it() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    worker(&mut s, "w2", 1);
    // 100 GB at 100 MB/s is 1000 s of transfer against 10 ms of compute.
    s.add_scattered(c, "data", w1, 100_000_000_000).unwrap();
    let tasks: Vec<TaskSpec> = (0..20)
        .map(|i| task(&format!("work-{i}"), &["data"]))
        .collect();
    s.submit_graph(c, tasks, &["work-0", "work-1", "work-2"])
        .unwrap();
    finish_with(&mut s, "work-0", 10, 0.01);
    s.take_instructions();
    s.tick(1.0);
    assert!(steals(&s.take_instructions(), w1).is_empty());
}

#[test]
fn restricted_tasks_are_only_stolen_by_allowed_workers() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let tasks: Vec<TaskSpec> = (0..10)
        .map(|i| TaskSpec {
            restrictions: Some(vec!["w1".into()]),
            ..task(&format!("pin-{i}"), &[])
        })
        .collect();
    s.submit_graph(c, tasks, &["pin-0", "pin-1", "pin-2"])
        .unwrap();
    finish_with(&mut s, "pin-0", 10, 1.0);
    s.take_instructions();
    s.tick(1.0);
    let ins = s.take_instructions();
    assert!(steals(&ins, w1).is_empty() && steals(&ins, w2).is_empty());
}

#[test]
fn a_paused_workers_unstarted_tasks_are_stolen_whatever_they_cost_and_started_ones_stay() {
    let mut s = sched();
    let c = s.add_client();
    let paused = worker(&mut s, "paused", 1);
    s.observe_duration("t", 0.0001);
    let keys: Vec<String> = (0..6).map(|i| format!("t-{i}")).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, keys.iter().map(|k| task(k, &[])).collect(), &wanted)
        .unwrap();
    assert_eq!(s.processing_count(paused), 6);
    let started = id(&s, "t-0");
    let run = s.run_id(started);
    s.task_executing(paused, started, run).unwrap();
    let other = worker(&mut s, "other", 1);
    s.take_instructions();
    s.set_paused(paused, true).unwrap();
    s.tick(0.1);
    let ins = s.take_instructions();
    let asked: Vec<TaskId> = ins
        .workers
        .iter()
        .filter(|(w, _)| *w == paused)
        .flat_map(|(_, b)| b.steal.iter().map(|&(t, _)| t))
        .collect();
    assert_eq!(asked.len(), 5, "every task it has not started");
    assert!(!asked.contains(&started));
    for t in asked {
        let run = s.run_id(t);
        assert_eq!(s.steal_response(paused, t, run, true), Ok(true));
    }
    assert_eq!(s.processing_count(paused), 1);
    assert_eq!(s.processing_count(other), 5);
}

/// A steal asked for a task that then secedes (it waits for tasks it submitted) is dropped:
/// it has started; its victim's refusal is stale, and no later round asks for it (it holds
/// no slot to move), while the rest of the queue is still stolen from.
#[test]
fn a_seceded_task_is_not_stolen() {
    let (mut s, _, w1, _) = imbalanced(config());
    s.tick(1.0);
    let asked = steals(&s.take_instructions(), w1);
    let (t, run) = asked[0];
    assert_eq!(s.task_long_running(w1, t, run), Ok(true));
    assert_eq!(s.steals_in_flight(), asked.len() - 1);
    assert_eq!(s.steal_response(w1, t, run, false), Ok(false), "stale");
    assert_eq!(s.tasks[t].worker, w1);
    for &(other, run) in &asked[1..] {
        s.steal_response(w1, other, run, true).unwrap();
    }
    for i in 0..4 {
        s.tick(2.0 + f64::from(i));
        let again = steals(&s.take_instructions(), w1);
        assert!(!again.iter().any(|&(x, _)| x == t));
    }
    assert_eq!(s.state(t), TaskState::Processing);
    assert_eq!(s.long_running_count(w1), 1);
}

/// Dask's stealing lets any thief take a loose task that no named worker can run: so here,
/// for tasks restricted to an absent worker with `allow_other_workers`; tasks held to a
/// worker that is there stay.
#[test]
fn loose_tasks_are_stolen_while_their_named_worker_is_absent() {
    for (names, stolen) in [(["ghost"], true), (["w1"], false)] {
        let mut s = sched();
        let c = s.add_client();
        let w1 = worker(&mut s, "w1", 1);
        worker(&mut s, "w2", 1);
        s.add_scattered(c, "data", w1, 10_000_000).unwrap();
        for i in 0..20 {
            s.add_scattered(c, &format!("part-{i}"), w1, 10).unwrap();
        }
        let tasks: Vec<TaskSpec> = (0..20)
            .map(|i| TaskSpec {
                restrictions: Some(names.iter().map(|n| n.to_string()).collect()),
                allow_other_workers: true,
                ..task(&format!("work-{i}"), &["data", &format!("part-{i}")])
            })
            .collect();
        let keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
        let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
        s.submit_graph(c, tasks, &wanted).unwrap();
        assert_eq!(s.processing_count(w1), 20, "{names:?}: with their input");
        finish_with(&mut s, "work-0", 10, 1.0);
        s.take_instructions();
        s.tick(1.0);
        let asked = steals(&s.take_instructions(), w1);
        assert_eq!(
            !asked.is_empty(),
            stolen,
            "{names:?}: asked for {}",
            asked.len()
        );
    }
}
