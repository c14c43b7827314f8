//! Root-ish tasks (Dask's `is_rootish`): a large group fanning out of few shared inputs is
//! queued like roots when ready, placed on the least loaded worker with room, and every
//! change to its inputs or wanters goes through a named transition.

use super::*;
use TaskState::*;

/// `n` tasks `{prefix}-i`, each depending on `deps`, all wanted.
fn fan_out(s: &mut Scheduler, c: ClientId, prefix: &str, n: usize, deps: &[&str]) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, keys.iter().map(|k| task(k, deps)).collect(), &wanted)
        .unwrap();
    keys
}

fn processing_counts(s: &Scheduler, ws: &[WorkerId]) -> Vec<usize> {
    ws.iter().map(|&w| s.processing_count(w)).collect()
}

/// Dask's `test_root_task_is_queued` with a shared input: a map over a scattered value
/// on three one-slot workers goes out slots + 1 per worker, the rest wait in the queue,
/// and the input's holder gets no more than the others (locality is ignored).
#[test]
fn a_map_over_one_scattered_input_is_held_back_like_roots() {
    let mut s = sched();
    let c = s.add_client();
    let ws: Vec<WorkerId> = (0..3)
        .map(|i| worker(&mut s, &format!("w{i}"), 1))
        .collect();
    s.add_scattered(c, "x", ws[0], 100_000_000).unwrap();
    let keys = fan_out(&mut s, c, "f", 100, &["x"]);
    assert_eq!(processing_counts(&s, &ws), [2, 2, 2]);
    assert_eq!(s.counts().queued, 94);
    // Queued tasks are on no worker: a stealing round asks for none of them.
    s.tick(1.0);
    assert_eq!(s.steals_in_flight(), 0);
    assert_eq!(s.counts().queued, 94);
    // Graph order: one out, the next in.
    let next_on = processing_on(&s, "f-0").unwrap();
    finish_with(&mut s, "f-0", 8, 2.0);
    assert_eq!(processing_on(&s, "f-6"), Some(next_on));
    assert_eq!(s.counts().queued, 93);
    // Everything runs in the end.
    while let Some(k) = keys.iter().find(|k| st(&s, k) == Processing) {
        let k = k.clone();
        finish_with(&mut s, &k, 8, 2.0);
    }
    assert!(keys.iter().all(|k| st(&s, k) == Memory));
    assert_eq!(s.counts().queued, 0);
}

/// The size rule: more than twice the cluster's slots. 8 tasks on 4 slots go straight to
/// workers by locality; 9 are queued.
#[test]
fn a_group_is_root_ish_above_twice_the_slots() {
    for n in [8, 9] {
        let mut s = sched();
        let c = s.add_client();
        let ws = [worker(&mut s, "w0", 2), worker(&mut s, "w1", 2)];
        s.add_scattered(c, "x", ws[0], 10).unwrap();
        fan_out(&mut s, c, "f", n, &["x"]);
        if n == 8 {
            assert_eq!(s.counts().queued, 0);
        } else {
            // Each has its slots; the one extra per worker may wait (see `root_worker`).
            assert!(s.counts().queued >= 3);
            assert!(processing_counts(&s, &ws)
                .iter()
                .all(|&p| (2..=3).contains(&p)));
        }
    }
}

/// The dependency rule: a group whose tasks read, together, five or more distinct inputs is
/// not root-ish, however large; four or fewer shared inputs are.
#[test]
fn a_group_with_five_distinct_inputs_is_not_root_ish() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    for i in 0..5 {
        s.add_scattered(c, &format!("in-{i}"), w, 10).unwrap();
    }
    let specs: Vec<TaskSpec> = (0..20)
        .map(|i| {
            let a = format!("in-{}", i % 4);
            task(&format!("four-{i}"), &[a.as_str(), "in-0"])
        })
        .collect();
    let keys: Vec<String> = specs.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, specs, &wanted).unwrap();
    assert_eq!(s.counts().queued, 18, "four shared inputs: root-ish");
    let specs: Vec<TaskSpec> = (0..20)
        .map(|i| {
            let a = format!("in-{}", i % 5);
            task(&format!("five-{i}"), &[a.as_str()])
        })
        .collect();
    let keys: Vec<String> = specs.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, specs, &wanted).unwrap();
    assert!(keys.iter().all(|k| st(&s, k) == Processing), "five: not");
}

/// A tree reduction's combine tasks read many distinct inputs across their group: never
/// root-ish, whatever the cluster, so they keep going straight to the holders of their
/// inputs. Only the leaves (true roots) are queued.
#[test]
fn a_tree_reduction_is_not_root_ish() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    let mut graph: Vec<TaskSpec> = (0..64).map(|i| task(&format!("leaf-{i}"), &[])).collect();
    let mut level: Vec<String> = (0..64).map(|i| format!("leaf-{i}")).collect();
    let mut n = 0;
    while level.len() > 1 {
        let next: Vec<String> = level
            .chunks(2)
            .map(|_| {
                n += 1;
                format!("combine-{n}")
            })
            .collect();
        for (k, pair) in next.iter().zip(level.chunks(2)) {
            let deps: Vec<&str> = pair.iter().map(String::as_str).collect();
            graph.push(task(k, &deps));
        }
        level = next;
    }
    let top = level[0].clone();
    s.submit_graph(c, graph, &[top.as_str()]).unwrap();
    let combine = s.tasks[id(&s, "combine-1")].prefix;
    assert_eq!(s.groups.live(combine), 63);
    assert!(
        !s.groups.narrow(combine),
        "63 combines read 126 distinct inputs"
    );
    assert!(!s.groups.rootish(combine, s.workers.total_slots));
    assert_eq!(s.counts().queued, 62, "the leaves are queued");
    let mut combines_queued = 0;
    while s.counts().processing > 0 {
        let t = s.workers.list[w.ix()].processing[0];
        let k = s.key(t).to_string();
        finish_with(&mut s, &k, 8, 0.5);
        combines_queued += (1..=63)
            .filter(|i| st(&s, &format!("combine-{i}")) == Queued)
            .count();
    }
    assert_eq!(combines_queued, 0);
    assert_eq!(st(&s, &top), Memory);
}

/// The group is the prefix across graphs: a loop of one-task submits over a shared input
/// is root-ish too; with its last task forgotten the group starts over.
#[test]
fn one_task_graphs_of_one_prefix_form_one_group() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.add_scattered(c, "x", w, 10).unwrap();
    for i in 0..10 {
        let k = format!("f-{i}");
        s.submit_graph(c, vec![task(&k, &["x"])], &[k.as_str()])
            .unwrap();
    }
    assert_eq!((s.processing_count(w), s.counts().queued), (2, 8));
    let f = s.tasks[id(&s, "f-0")].prefix;
    assert_eq!(s.groups.live(f), 10);
}

/// Roots mapped one-to-one with a shared small input: the mapped group reads a distinct
/// root per task, so it is not root-ish (as in Dask); the roots themselves are held back,
/// which is what keeps the map from flooding the workers.
#[test]
fn roots_mapped_with_a_shared_input_are_paced_by_their_roots() {
    let mut s = sched();
    let c = s.add_client();
    let ws = [worker(&mut s, "w0", 1), worker(&mut s, "w1", 1)];
    s.add_scattered(c, "shared", ws[0], 10).unwrap();
    let mut graph = Vec::new();
    let mut keys = Vec::new();
    for i in 0..40 {
        graph.push(task(&format!("load-{i}"), &[]));
        let k = format!("inc-{i}");
        graph.push(task(&k, &[&format!("load-{i}"), "shared"]));
        keys.push(k);
    }
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, graph, &wanted).unwrap();
    assert!(!s.groups.narrow(s.tasks[id(&s, "inc-0")].prefix));
    assert_eq!(processing_counts(&s, &ws), [2, 2]);
    assert_eq!(s.counts().queued, 36);
}

/// A queued root-ish task whose input is lost with its only holder goes back to waiting
/// (through `queued -> waiting`); the input is recomputed and the task queued again.
#[test]
fn a_queued_task_whose_input_is_lost_waits_for_it_again() {
    let mut s = sched();
    let c = s.add_client();
    let w0 = worker(&mut s, "w0", 1);
    s.submit_graph(c, vec![task("data", &[])], &["data"])
        .unwrap();
    finish(&mut s, "data");
    let keys = fan_out(&mut s, c, "f", 10, &["data"]);
    assert_eq!(s.counts().queued, 8);
    s.remove_worker(w0, 1.0).unwrap();
    assert_eq!(st(&s, "data"), Queued, "recomputed: a root again");
    assert!(keys.iter().all(|k| st(&s, k) == Waiting));
    let queued_waiting = s
        .story("f-9")
        .iter()
        .any(|r| (r.from, r.to) == (Queued, Waiting));
    assert!(queued_waiting, "f-9 left the queue by its own transition");
    let w1 = worker(&mut s, "w1", 1);
    finish(&mut s, "data");
    assert_eq!(s.processing_count(w1), 2);
    assert_eq!(s.counts().queued, 8);
}

/// Scattered input lost while its map is queued: the queued tasks err (`queued -> erred`)
/// with the loss, and the queue skips their stale entries.
#[test]
fn a_queued_task_whose_scattered_input_is_lost_errs() {
    let mut s = sched();
    let c = s.add_client();
    let w0 = worker(&mut s, "w0", 1);
    let w1 = worker(&mut s, "w1", 1);
    s.add_scattered(c, "x", w0, 10).unwrap();
    let keys = fan_out(&mut s, c, "f", 10, &["x"]);
    assert_eq!(s.counts().queued, 6);
    s.remove_worker(w0, 1.0).unwrap();
    assert!(keys.iter().all(|k| st(&s, k) == Erred));
    let failed = s
        .failure(id(&s, "f-9"))
        .map(|(cause, _)| s.key(cause).to_string());
    assert_eq!(failed.as_deref(), Some("x"));
    assert_eq!(s.processing_count(w1), 0);
    s.submit_graph(c, vec![task("after", &[])], &["after"])
        .unwrap();
    assert_eq!(processing_on(&s, "after"), Some(w1));
}

/// Releasing queued root-ish tasks (cancel) drops their claim on the shared input, which is
/// freed once nobody needs it; their group is freed with its last task.
#[test]
fn cancelling_a_queued_map_releases_its_input_and_group() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    let keys: Vec<String> = (0..10).map(|i| format!("f-{i}")).collect();
    let mut graph = vec![task("data", &[])];
    graph.extend(keys.iter().map(|k| task(k, &["data"])));
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, graph, &wanted).unwrap();
    finish(&mut s, "data");
    assert_eq!((s.processing_count(w), s.counts().queued), (2, 8));
    let group = s.tasks[id(&s, "f-0")].prefix;
    let x = id(&s, "data");
    assert_eq!(s.tasks[x].waiters, 10);
    s.cancel_keys(c, &wanted[5..]).unwrap();
    assert_eq!(s.tasks[x].waiters, 5);
    assert_eq!(s.groups.live(group), 5);
    s.cancel_keys(c, &wanted[..5]).unwrap();
    assert_eq!(st(&s, "data"), Forgotten);
    assert_eq!(s.groups.live(group), 0);
    assert!(s.groups.narrow(group), "an empty group starts over");
    assert_eq!(s.counts().tasks, 0);
    let ins = s.take_instructions();
    assert!(frees(&s, &ins, w).contains(&"data".to_string()));
}

/// Dask's `test_queued_rootish_changes_while_paused`: tasks queued as root-ish stay queued
/// when the cluster grows so that their group is no longer root-ish, and still run.
#[test]
fn queued_tasks_run_after_their_group_stops_being_root_ish() {
    let mut s = sched();
    let c = s.add_client();
    let w0 = worker(&mut s, "w0", 1);
    s.add_scattered(c, "x", w0, 10).unwrap();
    let keys = fan_out(&mut s, c, "f", 10, &["x"]);
    assert_eq!(s.counts().queued, 8);
    s.set_paused(w0, true).unwrap();
    let big = worker(&mut s, "big", 16);
    let group = s.tasks[id(&s, "f-0")].prefix;
    assert!(!s.groups.rootish(group, s.workers.total_slots));
    assert_eq!(
        s.processing_count(big),
        8,
        "the queue drains into the new worker"
    );
    s.set_paused(w0, false).unwrap();
    for k in &keys {
        finish(&mut s, k);
    }
    assert!(keys.iter().all(|k| st(&s, k) == Memory));
}

/// Restricted tasks are never queued, however large their group.
#[test]
fn restricted_tasks_are_not_root_ish() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.add_scattered(c, "x", w, 10).unwrap();
    let specs: Vec<TaskSpec> = (0..10)
        .map(|i| TaskSpec {
            restrictions: Some(vec!["w".into()]),
            ..task(&format!("f-{i}"), &["x"])
        })
        .collect();
    let keys: Vec<String> = specs.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, specs, &wanted).unwrap();
    assert_eq!(s.counts().queued, 0);
    assert_eq!(s.processing_count(w), 10);
}

/// A root-ish kind measured fast keeps the deep buffer fast roots get.
#[test]
fn a_fast_root_ish_kind_gets_deep_buffers() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 2);
    s.add_scattered(c, "x", w, 10).unwrap();
    s.observe_duration("fast", 0.0005);
    fan_out(&mut s, c, "fast", 100, &["x"]);
    // 1 + 20 ms / 0.5 ms = 41 per slot
    assert_eq!(s.processing_count(w), 82);
    assert_eq!(s.counts().queued, 18);
}
