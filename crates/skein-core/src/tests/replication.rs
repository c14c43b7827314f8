//! Copies of data on more workers (`replicate`, `replica_added`), and fewer.

use super::*;
use crate::TaskState::*;

/// Three workers; `a` computed on w1 and wanted by the client.
fn a_on_w1() -> (Scheduler, ClientId, [WorkerId; 3]) {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let w3 = worker(&mut s, "w3", 1);
    let mut a = task("a", &[]);
    a.restrictions = Some(vec!["w1".into()]);
    s.submit_graph(c, vec![a], &["a"]).unwrap();
    finish(&mut s, "a");
    s.take_instructions();
    (s, c, [w1, w2, w3])
}

fn holders(s: &Scheduler, key: &str) -> Vec<WorkerId> {
    let mut w = s.who_has(id(s, key)).to_vec();
    w.sort_by_key(|w| w.0);
    w
}

#[test]
fn replicate_to_every_worker_plans_a_copy_per_worker_not_holding_it_and_each_report_adds_a_holder()
{
    let (mut s, _, [w1, w2, w3]) = a_on_w1();
    let plan = s.replicate(&["a"], None, None).unwrap();
    let a = id(&s, "a");
    assert_eq!(
        plan.copies,
        vec![
            ReplicaCopy {
                worker: w2,
                task: a
            },
            ReplicaCopy {
                worker: w3,
                task: a
            }
        ]
    );
    assert_eq!(plan.dropped, 0);
    assert_eq!(
        holders(&s, "a"),
        vec![w1],
        "planned copies are not holders yet"
    );
    assert_eq!(s.replica_added(w2, "a"), Ok(true));
    assert_eq!(s.replica_added(w3, "a"), Ok(true));
    assert_eq!(
        s.replica_added(w3, "a"),
        Ok(true),
        "a repeated report changes nothing"
    );
    assert_eq!(holders(&s, "a"), vec![w1, w2, w3]);
    // Now held everywhere: nothing more to copy.
    assert!(s
        .replicate(&["a", "a"], None, None)
        .unwrap()
        .copies
        .is_empty());
}

#[test]
fn losing_holders_keeps_the_value_while_one_copy_is_left() {
    let (mut s, _, [w1, w2, w3]) = a_on_w1();
    s.replicate(&["a"], None, None).unwrap();
    s.replica_added(w2, "a").unwrap();
    s.replica_added(w3, "a").unwrap();
    s.remove_worker(w1, 1.0).unwrap();
    s.remove_worker(w3, 1.0).unwrap();
    assert_eq!(st(&s, "a"), Memory);
    assert_eq!(holders(&s, "a"), vec![w2]);
    // Later placement sees the copy: a dependent runs where the data is.
    let c2 = s.add_client();
    let w4 = worker(&mut s, "w4", 1);
    s.submit_graph(c2, vec![task("b", &["a"])], &["b"]).unwrap();
    assert_eq!(processing_on(&s, "b"), Some(w2));
    let _ = w4;
}

#[test]
fn n_copies_on_the_workers_holding_fewest_keys_and_extra_copies_dropped() {
    let (mut s, c, [w1, w2, w3]) = a_on_w1();
    // w2 holds another key: the copy goes to w3 first.
    s.add_scattered(c, "x", w2, 8).unwrap();
    let plan = s.replicate(&["a"], Some(2), None).unwrap();
    assert_eq!(
        plan.copies,
        vec![ReplicaCopy {
            worker: w3,
            task: id(&s, "a")
        }]
    );
    s.replica_added(w3, "a").unwrap();
    s.replica_added(w2, "a").unwrap();
    assert_eq!(holders(&s, "a"), vec![w1, w2, w3]);
    s.take_instructions();
    // Back to one copy: the holders of the most keys free theirs.
    let plan = s.replicate(&["a"], Some(1), None).unwrap();
    assert!(plan.copies.is_empty());
    assert_eq!(plan.dropped, 2);
    let ins = s.take_instructions();
    assert_eq!(holders(&s, "a").len(), 1);
    let freed: Vec<WorkerId> = [w1, w2, w3]
        .into_iter()
        .filter(|&w| frees(&s, &ins, w) == ["a"])
        .collect();
    assert_eq!(freed.len(), 2);
    assert!(freed.contains(&w2), "w2 held the most keys");
    assert_eq!(st(&s, "a"), Memory);
}

#[test]
fn the_workers_option_bounds_where_copies_go_and_which_are_counted() {
    let (mut s, _, [w1, w2, w3]) = a_on_w1();
    let plan = s
        .replicate(&["a"], None, Some(&["w2", "w3", "w2"]))
        .unwrap();
    assert_eq!(plan.copies.len(), 2);
    s.replica_added(w2, "a").unwrap();
    s.replica_added(w3, "a").unwrap();
    // One copy among w2 and w3: one of those two goes, w1 (outside the pool) keeps its copy.
    let plan = s.replicate(&["a"], Some(1), Some(&["w2", "w3"])).unwrap();
    assert_eq!(plan.dropped, 1);
    let h = holders(&s, "a");
    assert_eq!(h.len(), 2);
    assert!(h.contains(&w1));
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let (mut s, c, [w1, w2, _]) = a_on_w1();
    s.submit_graph(c, vec![task("p", &[])], &["p"]).unwrap();
    let code = |r: Result<ReplicationPlan, CoreError>| r.unwrap_err().code();
    assert_eq!(
        code(s.replicate(&["nope"], None, None)),
        "SKEIN_UNKNOWN_KEY"
    );
    assert_eq!(
        code(s.replicate(&["a", "p"], None, None)),
        "SKEIN_INVALID_REPLICATION"
    );
    assert_eq!(
        code(s.replicate(&["a"], Some(0), None)),
        "SKEIN_INVALID_REPLICATION"
    );
    assert_eq!(
        code(s.replicate(&["a"], None, Some(&["w9"]))),
        "SKEIN_INVALID_REPLICATION"
    );
    assert_eq!(
        code(s.replicate(&["a"], None, Some(&[]))),
        "SKEIN_INVALID_REPLICATION"
    );
    assert_eq!(holders(&s, "a"), vec![w1]);
    assert_eq!(
        s.replica_added(WorkerId(99), "a").unwrap_err().code(),
        "SKEIN_UNKNOWN_WORKER"
    );
    // A copy of a key not in memory, or from a worker that left, is of no use.
    assert_eq!(s.replica_added(w2, "p"), Ok(false));
    assert_eq!(s.replica_added(w2, "unknown"), Ok(false));
    s.remove_worker(w2, 1.0).unwrap();
    assert_eq!(s.replica_added(w2, "a"), Ok(false));
    assert_eq!(holders(&s, "a"), vec![w1]);
}

#[test]
fn a_copy_reported_after_the_key_was_released_is_refused() {
    let (mut s, c, [_, w2, _]) = a_on_w1();
    s.replicate(&["a"], None, None).unwrap();
    s.release_keys(c, &["a"]).unwrap();
    assert_eq!(st(&s, "a"), Forgotten);
    assert_eq!(s.replica_added(w2, "a"), Ok(false));
}
