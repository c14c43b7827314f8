//! Worker deaths blame the tasks the worker was probably running, not its whole buffer.

use super::*;
use crate::TaskState::*;

#[test]
fn only_the_tasks_a_dead_worker_got_first_count_its_death() {
    let mut s = sched();
    let c = s.add_client();
    let tasks: Vec<TaskSpec> = (0..10).map(|i| task(&format!("x-{i}"), &[])).collect();
    let keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut w = worker(&mut s, "w0", 1);
    // Known to be fast: a worker is given all ten at once (not held back as unknown roots are).
    s.observe_duration("x", 0.0001);
    s.submit_graph(c, tasks, &wanted).unwrap();
    for round in 1..=3 {
        assert_eq!(s.processing_count(w), 10, "the victim holds every task");
        let next = worker(&mut s, &format!("w{round}"), 1);
        s.remove_worker(w, round as f64).unwrap();
        w = next;
    }
    // Three workers died holding all ten tasks; as many as their slots (one) were blamed each time.
    let erred: Vec<&String> = keys
        .iter()
        .filter(|k| st(&s, k) == TaskState::Erred)
        .collect();
    assert_eq!(erred.len(), 1, "{erred:?} erred with KilledWorker");
    assert_eq!(s.stats().workers_removed, 3);
    assert_eq!(s.stats().rescheduled, 30);
}

/// `w` reports it could not get `dep` (held by `holder`) for `t`.
fn missing(s: &mut Scheduler, t: &str, dep: &str, holder: WorkerId) {
    let w = processing_on(s, t).unwrap();
    let (t, dep) = (id(s, t), id(s, dep));
    let run = s.run_id(t);
    assert_eq!(
        s.missing_data_because(w, t, run, dep, holder, Some("connect ECONNREFUSED")),
        Ok(true)
    );
}

#[test]
fn an_input_that_cannot_be_fetched_again_and_again_errs_its_dependent_instead_of_looping() {
    let mut s = sched();
    let c = s.add_client();
    let a_worker = worker(&mut s, "holder", 1);
    let mut a = task("a", &[]);
    a.restrictions = Some(vec!["holder".into()]);
    s.submit_graph(c, vec![a], &["a"]).unwrap();
    finish(&mut s, "a");
    let user = worker(&mut s, "user", 1);
    let mut b = task("b", &["a"]);
    b.restrictions = Some(vec!["user".into()]);
    s.submit_graph(c, vec![b], &["b"]).unwrap();
    let computes_before = s.stats().computes;
    for round in 1..=3 {
        assert_eq!(processing_on(&s, "b"), Some(user), "round {round}");
        missing(&mut s, "b", "a", a_worker);
        if round < 3 {
            // The holder was dropped, so `a` is computed again on it.
            assert_eq!(st(&s, "a"), Processing);
            finish(&mut s, "a");
        }
    }
    assert_eq!(st(&s, "b"), Erred);
    let (cause, failure) = s.failure(id(&s, "b")).unwrap();
    assert_eq!(cause, id(&s, "b"));
    assert_eq!(
        *failure,
        Failure::Unfetchable {
            key: "a".into(),
            workers: vec!["holder".into(); 3],
            reason: Some("connect ECONNREFUSED".into()),
        }
    );
    // a lost its only holder each time (and the client wants it): 3 recomputes; b ran twice
    // more. Nothing loops.
    assert_eq!(s.stats().computes - computes_before, 3 + 2);
}

#[test]
fn a_fetch_that_gets_through_forgives_earlier_failures() {
    let mut s = sched();
    let c = s.add_client();
    let holder = worker(&mut s, "holder", 1);
    let _user = worker(&mut s, "user", 1);
    let on = |key: &str, name: &str, deps: &[&str]| {
        let mut t = task(key, deps);
        t.restrictions = Some(vec![name.into()]);
        t
    };
    s.submit_graph(c, vec![on("a", "holder", &[])], &["a"])
        .unwrap();
    finish(&mut s, "a");
    // b fails once, a is recomputed, then b gets it: forgiven.
    s.submit_graph(c, vec![on("b", "user", &["a"])], &["b"])
        .unwrap();
    missing(&mut s, "b", "a", holder);
    finish(&mut s, "a");
    finish(&mut s, "b");
    // c fails twice: with b's failure that would be three, but b's success cleared it.
    s.submit_graph(c, vec![on("c", "user", &["a"])], &["c"])
        .unwrap();
    for _ in 0..2 {
        missing(&mut s, "c", "a", holder);
        finish(&mut s, "a");
    }
    assert_eq!(st(&s, "c"), Processing);
    finish(&mut s, "c");
    assert_eq!(st(&s, "c"), Memory);
}

/// Dask's `retries`: a task that raises runs again, anywhere, up to its retries; then it errs.
#[test]
fn a_task_with_retries_runs_again_after_it_raises_then_errs() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    let mut spec = task("flaky", &[]);
    spec.retries = 2;
    s.submit_graph(c, vec![spec, task("after", &["flaky"])], &["after"])
        .unwrap();
    let t = id(&s, "flaky");
    for attempt in 0..2 {
        s.take_instructions();
        let run = s.run_id(t);
        assert!(s.task_erred(w, t, run, b"boom".to_vec().into()).unwrap());
        s.validate().unwrap();
        assert_eq!(st(&s, "flaky"), Processing, "retry {attempt} placed again");
        assert_ne!(s.run_id(t), run, "a new run");
        let ins = s.take_instructions();
        assert!(client_batch(&ins, c).erred.is_empty());
    }
    let run = s.run_id(t);
    s.task_erred(w, t, run, b"boom".to_vec().into()).unwrap();
    s.validate().unwrap();
    assert_eq!((st(&s, "flaky"), st(&s, "after")), (Erred, Erred));
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c).erred.len(), 1);
}

/// Errs `key` where it is processing.
fn raise(s: &mut Scheduler, key: &str) {
    let t = id(s, key);
    let w = processing_on(s, key).unwrap_or_else(|| panic!("{key} is not processing"));
    let run = s.run_id(t);
    assert!(s.task_erred(w, t, run, b"boom".to_vec().into()).unwrap());
}

/// Dask's test_retry: an erred key named in a retry runs again, and its client hears of the
/// new result; the story says why.
#[test]
fn retry_runs_an_erred_task_again() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("f", &[])], &["f"]).unwrap();
    raise(&mut s, "f");
    assert_eq!(st(&s, "f"), Erred);
    s.take_instructions();
    let retried = s.retry_keys(c, &["f"]).unwrap();
    assert_eq!(keys(&s, &retried), ["f"]);
    assert_eq!(processing_on(&s, "f"), Some(w));
    assert!(s.tasks[id(&s, "f")].failure().is_none());
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["f"]);
    finish(&mut s, "f");
    assert_eq!(st(&s, "f"), Memory);
    let stimuli: Vec<&str> = s.story("f").iter().map(|r| r.stimulus.name()).collect();
    assert!(stimuli.contains(&"retry"), "{stimuli:?}");
}

/// Dask's test_retry_dependencies: retrying a key that erred because its input did runs the
/// input again, then the key; retrying keys that did not err (now in memory, or unknown)
/// changes nothing.
#[test]
fn retry_of_a_dependent_runs_the_erred_input_again() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("x", &[]), task("y", &["x"])], &["y"])
        .unwrap();
    raise(&mut s, "x");
    assert_eq!((st(&s, "x"), st(&s, "y")), (Erred, Erred));
    let ids = s.retry_keys(c, &["y"]).unwrap();
    let mut retried = keys(&s, &ids);
    retried.sort();
    assert_eq!(retried, ["x", "y"]);
    assert_eq!(processing_on(&s, "x"), Some(w));
    assert_eq!(st(&s, "y"), Waiting);
    finish(&mut s, "x");
    finish(&mut s, "y");
    assert_eq!(st(&s, "y"), Memory);
    assert!(s.retry_keys(c, &["y", "x", "unknown"]).unwrap().is_empty());
    assert_eq!(st(&s, "y"), Memory);
}

/// Retrying the input that failed takes back the erred tasks downstream of it that someone
/// wants, another client's too; a chain erred from lost scattered data stays erred (it
/// cannot be computed again).
#[test]
fn retry_of_the_failed_input_takes_back_its_erred_dependents() {
    let mut s = sched();
    let c = s.add_client();
    let other = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("x", &[])], &["x"]).unwrap();
    s.submit_graph(other, vec![task("z", &["x"])], &["z"])
        .unwrap();
    raise(&mut s, "x");
    assert_eq!(st(&s, "z"), Erred);
    s.take_instructions();
    let ids = s.retry_keys(c, &["x"]).unwrap();
    let mut retried = keys(&s, &ids);
    retried.sort();
    assert_eq!(retried, ["x", "z"]);
    let ins = s.take_instructions();
    assert_eq!(keys(&s, &client_batch(&ins, c).retried), ["x"]);
    assert_eq!(
        keys(&s, &client_batch(&ins, other).retried),
        ["z"],
        "the other client hears its key runs again (Dask's task-retried)"
    );
    finish(&mut s, "x");
    finish(&mut s, "z");
    let ins = s.take_instructions();
    assert!(client_batch(&ins, other).memory.contains(&id(&s, "z")));

    s.add_scattered(c, "data", w, 8).unwrap();
    s.submit_graph(c, vec![task("use", &["data"])], &["use"])
        .unwrap();
    s.remove_worker(w, 1.0).unwrap();
    assert_eq!((st(&s, "data"), st(&s, "use")), (Erred, Erred));
    worker(&mut s, "w2", 1);
    assert!(s.retry_keys(c, &["use"]).unwrap().is_empty());
    assert_eq!(st(&s, "use"), Erred);
}

/// A task that erred by killing workers gets its full allowance of deaths again.
#[test]
fn retry_forgets_the_deaths_counted_against_a_task() {
    let mut s = Scheduler::new(Config {
        allowed_failures: 0,
        ..config()
    });
    let c = s.add_client();
    worker(&mut s, "w1", 1);
    worker(&mut s, "w2", 1);
    s.submit_graph(c, vec![task("k", &[])], &["k"]).unwrap();
    let on = processing_on(&s, "k").unwrap();
    s.remove_worker(on, 1.0).unwrap();
    assert_eq!(st(&s, "k"), Erred);
    s.retry_keys(c, &["k"]).unwrap();
    assert_eq!(st(&s, "k"), Processing);
    assert!(s.tasks[id(&s, "k")]
        .extras
        .as_ref()
        .is_none_or(|e| e.killed_on.is_empty()));
}
