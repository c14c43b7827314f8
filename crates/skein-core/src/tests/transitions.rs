//! One test (at least) per transition, driven through the public API.

use super::*;
use crate::TaskState::*;

fn rec(from: TaskState, to: TaskState, stimulus: Stimulus) -> TransitionRecord {
    TransitionRecord { from, to, stimulus }
}

#[test]
fn chain_released_waiting_queued_processing_memory_released() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &["b"])
        .unwrap();
    assert_eq!((st(&s, "a"), st(&s, "b")), (Queued, Waiting));
    let w = worker(&mut s, "w1", 1);
    assert_eq!(st(&s, "a"), Processing);
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["a"]);
    finish(&mut s, "a");
    assert_eq!((st(&s, "a"), st(&s, "b")), (Memory, Processing));
    assert_eq!(s.who_has(id(&s, "a")), &[w]);
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["b"]);
    assert_eq!(s.dependencies(id(&s, "b")), &[id(&s, "a")]);
    finish(&mut s, "b");
    // a's data is no longer needed; it stays known (released) because b refers to it.
    assert_eq!((st(&s, "a"), st(&s, "b")), (Released, Memory));
    let ins = s.take_instructions();
    assert_eq!(frees(&s, &ins, w), ["a"]);
    assert_eq!(keys(&s, &client_batch(&ins, c).memory), ["b"]);
    assert_eq!(
        s.story("a"),
        vec![
            rec(Released, Waiting, Stimulus::SubmitGraph),
            rec(Waiting, Queued, Stimulus::SubmitGraph),
            rec(Queued, Processing, Stimulus::AddWorker),
            rec(Processing, Memory, Stimulus::TaskFinished),
            rec(Memory, Released, Stimulus::TaskFinished),
        ]
    );
    assert_eq!(s.counts().memory, 1);
    assert_eq!(s.counts().released, 1);
}

#[test]
fn memory_forgotten_and_released_forgotten_on_release() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &["b"])
        .unwrap();
    finish(&mut s, "a");
    finish(&mut s, "b");
    s.take_instructions();
    let b = id(&s, "b");
    s.release_keys(c, &["b"]).unwrap();
    assert_eq!((st(&s, "a"), st(&s, "b")), (Forgotten, Forgotten));
    assert_eq!(s.state(b), Forgotten);
    let ins = s.take_instructions();
    assert_eq!(frees(&s, &ins, w), ["b"]);
    assert_eq!(s.counts().tasks, 0);
    assert_eq!(s.story("b"), vec![]);
}

#[test]
fn forgotten_slots_are_recycled_one_batch_later() {
    let mut s = sched();
    let c = s.add_client();
    worker(&mut s, "w1", 1);
    let ids = s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    finish(&mut s, "a");
    s.release_keys(c, &["a"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(ins.workers[0].1.free, ids);
    assert_eq!(
        s.key(ids[0]),
        "a",
        "still readable after the batch that reported it"
    );
    let fresh = s.submit_graph(c, vec![task("x", &[])], &["x"]).unwrap();
    assert_ne!(fresh, ids, "not recycled before the next take");
    s.take_instructions();
    let again = s.submit_graph(c, vec![task("y", &[])], &["y"]).unwrap();
    assert_eq!(again, ids, "recycled after the next take");
    assert_eq!(s.key(again[0]), "y");
}

#[test]
fn waiting_erred_and_processing_erred_share_one_failure() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(
        c,
        vec![
            task("a", &[]),
            task("b", &["a"]),
            task("c", &["b"]),
            task("d", &[]),
        ],
        &["c", "d"],
    )
    .unwrap();
    let a = id(&s, "a");
    let run = s.run_id(a);
    assert_eq!(s.task_erred(w, a, run, b"boom".to_vec().into()), Ok(true));
    assert_eq!(
        (st(&s, "a"), st(&s, "b"), st(&s, "c")),
        (Erred, Erred, Erred)
    );
    assert_ne!(st(&s, "d"), Erred);
    let (cause, fa) = s.failure(id(&s, "c")).unwrap();
    assert_eq!(cause, a);
    assert!(std::sync::Arc::ptr_eq(&fa, &s.failure(a).unwrap().1));
    assert_eq!(
        *fa,
        Failure::Raised {
            payload: b"boom".to_vec().into()
        }
    );
    let ins = s.take_instructions();
    let cb = client_batch(&ins, c);
    assert_eq!(cb.erred.len(), 1);
    assert_eq!((cb.erred[0].0, cb.erred[0].1), (id(&s, "c"), a));
    // erred -> forgotten once released
    s.release_keys(c, &["c"]).unwrap();
    assert_eq!(
        (st(&s, "a"), st(&s, "b"), st(&s, "c")),
        (Forgotten, Forgotten, Forgotten)
    );
}

#[test]
fn new_task_on_an_erred_key_errs_at_once() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let a = id(&s, "a");
    s.task_erred(w, a, s.run_id(a), Box::new([])).unwrap();
    s.take_instructions();
    s.submit_graph(c, vec![task("z", &["a"])], &["z"]).unwrap();
    assert_eq!(st(&s, "z"), Erred);
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c).erred[0].1, a);
}

#[test]
fn waiting_no_worker_processing_when_the_named_worker_joins() {
    let mut s = sched();
    let c = s.add_client();
    worker(&mut s, "w1", 4);
    let mut t = task("a", &[]);
    t.restrictions = Some(vec!["w2".into()]);
    s.submit_graph(c, vec![t], &["a"]).unwrap();
    assert_eq!(st(&s, "a"), NoWorker);
    assert_eq!(s.counts().no_worker, 1);
    let w2 = worker(&mut s, "w2", 1);
    assert_eq!(processing_on(&s, "a"), Some(w2));
}

#[test]
fn no_worker_released_on_cancel() {
    let mut s = sched();
    let c = s.add_client();
    let mut t = task("a", &[]);
    t.resources = vec![("gpu".into(), 1.0)];
    s.submit_graph(c, vec![t], &["a"]).unwrap();
    assert_eq!(st(&s, "a"), NoWorker);
    s.cancel_keys(c, &["a"]).unwrap();
    assert_eq!(st(&s, "a"), Forgotten);
    assert_eq!(s.counts().no_worker, 0);
}

#[test]
fn processing_released_on_cancel_frees_and_ignores_the_late_report() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let a = id(&s, "a");
    let run = s.run_id(a);
    s.take_instructions();
    s.cancel_keys(c, &["a"]).unwrap();
    assert_eq!(s.state(a), Forgotten);
    let ins = s.take_instructions();
    assert_eq!(ins.workers[0].1.free, vec![a]);
    assert_eq!(client_batch(&ins, c).cancelled, vec![a]);
    assert_eq!(s.task_finished(w, a, run, 1, 0.1), Ok(false));
    assert_eq!(s.processing_count(w), 0);
}

#[test]
fn queued_released_on_cancel_and_the_queue_moves_on() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(
        c,
        vec![task("a", &[]), task("b", &[]), task("c", &[])],
        &["a", "b", "c"],
    )
    .unwrap();
    assert_eq!(s.counts().queued, 3);
    s.cancel_keys(c, &["a"]).unwrap();
    assert_eq!(st(&s, "a"), Forgotten);
    let w = worker(&mut s, "w1", 1);
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["b", "c"]);
}

#[test]
fn waiting_released_when_its_only_wanter_cancels() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &["b"])
        .unwrap();
    s.cancel_keys(c, &["b"]).unwrap();
    assert_eq!((st(&s, "a"), st(&s, "b")), (Forgotten, Forgotten));
    assert_eq!(s.counts().tasks, 0);
}

#[test]
fn memory_erred_when_scattered_data_is_lost() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let x = s.add_scattered(c, "x", w1, 100).unwrap();
    assert_eq!(s.state(x), Memory);
    let mut t = task("y", &["x"]);
    t.restrictions = Some(vec!["nowhere".into()]);
    s.submit_graph(c, vec![t], &["y"]).unwrap();
    assert_eq!(st(&s, "y"), NoWorker);
    s.take_instructions();
    assert_eq!(s.data_lost(w1, x), Ok(true));
    assert_eq!((s.state(x), st(&s, "y")), (Erred, Erred));
    assert_eq!(*s.failure(x).unwrap().1, Failure::Lost { key: "x".into() });
    let ins = s.take_instructions();
    let erred = client_batch(&ins, c).erred;
    assert_eq!(erred.len(), 2);
    assert!(erred.iter().all(|e| e.1 == x));
}

#[test]
fn no_worker_waiting_when_an_input_is_lost_and_recomputed() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let mut b = task("b", &["a"]);
    b.restrictions = Some(vec!["w2".into()]);
    s.submit_graph(c, vec![task("a", &[]), b], &["b"]).unwrap();
    finish(&mut s, "a");
    assert_eq!(st(&s, "b"), NoWorker);
    assert_eq!(s.data_lost(w1, id(&s, "a")), Ok(true));
    assert_eq!((st(&s, "a"), st(&s, "b")), (Processing, Waiting));
    finish(&mut s, "a");
    assert_eq!(st(&s, "b"), NoWorker);
    let w2 = worker(&mut s, "w2", 1);
    assert_eq!(processing_on(&s, "b"), Some(w2));
    finish(&mut s, "b");
    assert_eq!(st(&s, "b"), Memory);
}

#[test]
fn processing_waiting_on_missing_data_recomputes_the_input() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let mut b = task("b", &["a"]);
    b.restrictions = Some(vec!["w2".into()]);
    let mut a = task("a", &[]);
    a.restrictions = Some(vec!["w1".into()]);
    s.submit_graph(c, vec![a, b], &["b"]).unwrap();
    finish(&mut s, "a");
    assert_eq!(processing_on(&s, "b"), Some(w2));
    s.take_instructions();
    let (bt, at) = (id(&s, "b"), id(&s, "a"));
    let run = s.run_id(bt);
    assert_eq!(s.missing_data(w2, bt, run, at, w1), Ok(true));
    assert_eq!((st(&s, "a"), st(&s, "b")), (Processing, Waiting));
    let ins = s.take_instructions();
    assert_eq!(frees(&s, &ins, w1), ["a"]);
    assert_eq!(computes(&s, &ins, w1), ["a"]);
    assert_eq!(s.missing_data(w2, bt, run, at, w1), Ok(false), "stale run");
    finish(&mut s, "a");
    finish(&mut s, "b");
    assert_eq!(st(&s, "b"), Memory);
}

#[test]
fn missing_data_with_another_holder_left_just_retries() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let w3 = worker(&mut s, "w3", 1);
    let x = s.add_scattered(c, "x", w1, 10).unwrap();
    s.add_scattered(c, "x", w2, 10).unwrap();
    assert_eq!(s.who_has(x), &[w1, w2]);
    let mut y = task("y", &["x"]);
    y.restrictions = Some(vec!["w3".into()]);
    s.submit_graph(c, vec![y], &["y"]).unwrap();
    let yt = id(&s, "y");
    assert_eq!(s.missing_data(w3, yt, s.run_id(yt), x, w1), Ok(true));
    assert_eq!(s.who_has(x), &[w2]);
    assert_eq!(processing_on(&s, "y"), Some(w3));
}

#[test]
fn every_invalid_pair_is_a_stale_recommendation_that_changes_nothing() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let a = id(&s, "a");
    for to in [Released, Waiting, NoWorker, Memory, Erred, Queued] {
        if to == Released {
            continue; // a is wanted: the guard keeps it
        }
        s.apply(a, to);
    }
    assert_eq!(s.state(a), Queued);
    s.validate().unwrap();
}
