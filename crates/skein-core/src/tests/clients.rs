//! Client wants, releases, cancels and departures.

use super::*;
use crate::TaskState::*;

#[test]
fn want_keys_reports_keys_already_in_memory_or_erred() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("e", &[])], &["a", "e"])
        .unwrap();
    finish(&mut s, "a");
    let e = id(&s, "e");
    s.task_erred(w, e, s.run_id(e), b"x".to_vec().into())
        .unwrap();
    s.take_instructions();
    let c2 = s.add_client();
    s.want_keys(c2, &["a", "e"]).unwrap();
    let ins = s.take_instructions();
    let b = client_batch(&ins, c2);
    assert_eq!(b.memory, vec![id(&s, "a")]);
    assert_eq!(b.erred.len(), 1);
    assert_eq!((b.erred[0].0, b.erred[0].1), (e, e));
    assert!(client_batch(&ins, c).memory.is_empty());
    assert_eq!(
        s.want_keys(c2, &["nope"]).unwrap_err().code(),
        "SKEIN_UNKNOWN_KEY"
    );
    assert_eq!(
        s.want_keys(ClientId(42), &["a"]).unwrap_err().code(),
        "SKEIN_UNKNOWN_CLIENT"
    );
}

#[test]
fn a_key_stays_while_another_client_wants_it() {
    let mut s = sched();
    let c1 = s.add_client();
    let c2 = s.add_client();
    worker(&mut s, "w1", 1);
    s.submit_graph(c1, vec![task("a", &[])], &["a"]).unwrap();
    s.want_keys(c2, &["a"]).unwrap();
    s.want_keys(c2, &["a"]).unwrap();
    s.cancel_keys(c1, &["a"]).unwrap();
    assert_eq!(st(&s, "a"), Processing);
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c1).cancelled, vec![id(&s, "a")]);
    finish(&mut s, "a");
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c2).memory, vec![id(&s, "a")]);
    assert!(client_batch(&ins, c1).memory.is_empty());
    s.release_keys(c2, &["a", "unknown-is-ignored"]).unwrap();
    assert_eq!(st(&s, "a"), Forgotten);
}

#[test]
fn cancel_keeps_a_dependency_another_task_needs() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(
        c,
        vec![
            task("shared", &[]),
            task("x", &["shared"]),
            task("y", &["shared"]),
        ],
        &["x", "y"],
    )
    .unwrap();
    s.cancel_keys(c, &["x"]).unwrap();
    assert_eq!(
        (st(&s, "shared"), st(&s, "x"), st(&s, "y")),
        (Queued, Forgotten, Waiting)
    );
    s.cancel_keys(c, &["y"]).unwrap();
    assert_eq!(s.counts().tasks, 0);
}

/// Dask's cancel_key: cancelling x cancels what the client wants downstream of it, across
/// levels and through tasks nobody wants, and everything is forgotten.
#[test]
fn cancel_cascades_to_what_only_this_client_wants_downstream() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(
        c,
        vec![
            task("x", &[]),
            task("y", &["x"]),
            task("hidden", &["y"]),
            task("z", &["hidden"]),
            task("done", &["x"]),
        ],
        &["x", "y", "z", "done"],
    )
    .unwrap();
    let _ = w;
    let mut expected: Vec<TaskId> = ["x", "y", "z", "done"].iter().map(|k| id(&s, k)).collect();
    expected.sort();
    s.take_instructions();
    s.cancel_keys(c, &["x"]).unwrap();
    let ins = s.take_instructions();
    let mut cancelled = client_batch(&ins, c).cancelled.clone();
    cancelled.sort();
    assert_eq!(
        cancelled, expected,
        "x and the three wanted tasks downstream, 'hidden' passed through"
    );
    assert_eq!(s.counts().tasks, 0, "nothing is needed any more");
}

/// A dependent another client wants stops the cascade: it and what it needs keep running.
#[test]
fn cancel_leaves_downstream_tasks_another_client_wants() {
    let mut s = sched();
    let c = s.add_client();
    let other = s.add_client();
    s.submit_graph(
        c,
        vec![task("x", &[]), task("y", &["x"]), task("z", &["y"])],
        &["x", "y", "z"],
    )
    .unwrap();
    s.want_keys(other, &["y"]).unwrap();
    s.take_instructions();
    s.cancel_keys(c, &["x"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(
        client_batch(&ins, c).cancelled.len(),
        1,
        "only x: y is wanted by the other client"
    );
    assert_eq!(
        (st(&s, "x"), st(&s, "y")),
        (Queued, Waiting),
        "x still runs, for y"
    );
    assert!(client_batch(&ins, other).cancelled.is_empty());
    // x wanted by the other client too: no cascade at all.
    let mut s = sched();
    let c = s.add_client();
    let other = s.add_client();
    s.submit_graph(c, vec![task("x", &[]), task("y", &["x"])], &["x", "y"])
        .unwrap();
    s.want_keys(other, &["x"]).unwrap();
    s.take_instructions();
    s.cancel_keys(c, &["x"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c).cancelled, vec![id(&s, "x")]);
    assert_eq!(st(&s, "y"), Waiting, "y, still wanted by c, waits for x");
}

#[test]
fn remove_client_releases_everything_it_wanted() {
    let mut s = sched();
    let c = s.add_client();
    let keep = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(
        c,
        vec![task("a", &[]), task("b", &["a"]), task("k", &[])],
        &["b", "k"],
    )
    .unwrap();
    s.want_keys(keep, &["k"]).unwrap();
    finish(&mut s, "a");
    s.take_instructions();
    s.remove_client(c).unwrap();
    assert_eq!((st(&s, "a"), st(&s, "b")), (Forgotten, Forgotten));
    assert_ne!(st(&s, "k"), Forgotten);
    let ins = s.take_instructions();
    assert!(frees(&s, &ins, w).contains(&"a".to_string()));
    assert!(ins.clients.iter().all(|(x, _)| *x != c));
    s.remove_client(c).unwrap();
    s.release_keys(c, &["k"]).unwrap();
    assert_eq!(
        s.want_keys(c, &["k"]).unwrap_err().code(),
        "SKEIN_UNKNOWN_CLIENT"
    );
    assert_eq!(s.counts().clients, 1);
}

#[test]
fn scattered_keys_are_in_memory_and_wanted_by_their_client() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    let x = s.add_scattered(c, "x", w, 64).unwrap();
    assert_eq!(
        (s.state(x), s.nbytes(x), s.payload(x)),
        (Memory, 64, &b""[..])
    );
    assert!(s.wants(c, x));
    s.submit_graph(c, vec![task("y", &["x"])], &["y"]).unwrap();
    assert_eq!(processing_on(&s, "y"), Some(w));
    assert_eq!(
        s.add_scattered(c, "y", w, 1).unwrap_err().code(),
        "SKEIN_INVALID_GRAPH"
    );
    assert_eq!(
        s.add_scattered(c, "z", WorkerId(5), 1).unwrap_err().code(),
        "SKEIN_UNKNOWN_WORKER"
    );
    s.release_keys(c, &["x"]).unwrap();
    assert_eq!(s.state(x), Memory, "y still needs it");
    finish(&mut s, "y");
    assert_eq!(s.state(x), Released);
    let ins = s.take_instructions();
    assert!(frees(&s, &ins, w).contains(&"x".to_string()));
}

#[test]
fn validate_names_the_key_and_the_broken_invariant() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &["b"])
        .unwrap();
    s.validate().unwrap();
    let a = id(&s, "a");
    s.tasks[a].waiters = 7;
    let e = s.validate().unwrap_err();
    assert!(e.contains("\"a\"") && e.contains("waiters"), "{e}");
    s.tasks[a].waiters = 1;
    let b = id(&s, "b");
    s.tasks[b].waiting_on = 0;
    let e = s.validate().unwrap_err();
    assert!(e.contains("\"b\"") && e.contains("waiting on"), "{e}");
}

#[test]
#[should_panic(expected = "invariant broken")]
fn events_panic_on_a_broken_invariant_when_validating() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let a = id(&s, "a");
    s.tasks[a].want_count = 5;
    s.add_client();
}

#[test]
fn wanted_positions_and_released_ids_act_as_the_keys_they_name() {
    let mut s = sched();
    let c = s.add_client();
    let other = s.add_client();
    worker(&mut s, "w1", 1);
    s.submit_graph(other, vec![task("shared", &[])], &["shared"])
        .unwrap();
    let ids = s
        .submit_graph_indexed(
            c,
            vec![task("shared", &[]), task("a", &["shared"]), task("b", &[])],
            &[1, 0],
        )
        .unwrap();
    assert_eq!(ids[..2], [id(&s, "shared"), id(&s, "a")]);
    assert_eq!(st(&s, "b"), Forgotten, "an unwanted new task is not kept");
    assert!(s.wants(c, ids[1]) && s.wants(c, ids[0]));
    assert_eq!(
        s.submit_graph_indexed(c, vec![task("z", &[])], &[1])
            .unwrap_err()
            .code(),
        "SKEIN_INVALID_GRAPH"
    );
    assert_eq!(st(&s, "z"), Forgotten, "a refused graph changes nothing");
    finish(&mut s, "shared");
    finish(&mut s, "a");
    // Ids it does not want (another client's key, twice the same) are ignored.
    s.release_tasks(c, &[ids[1], ids[1]]).unwrap();
    assert_eq!(st(&s, "a"), Forgotten);
    s.release_tasks(other, &[ids[1]]).unwrap();
    s.release_tasks(c, &[ids[0]]).unwrap();
    assert_eq!(st(&s, "shared"), Memory, "still wanted by the other client");
    s.release_tasks(other, &[ids[0]]).unwrap();
    assert_eq!(st(&s, "shared"), Forgotten);
    assert_eq!(
        s.release_tasks(ClientId(42), &[ids[0]]).unwrap_err().code(),
        "SKEIN_UNKNOWN_CLIENT"
    );
    s.validate().unwrap();
}
