//! Worker deaths blame the tasks the worker was probably running, not its whole buffer.

use super::*;

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
