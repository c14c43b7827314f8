//! Graph intake: validation leaves state untouched; ordering; reuse of existing keys.

use super::*;
use crate::TaskState::*;

fn snapshot(s: &Scheduler) -> (StateCounts, Vec<(String, TaskState)>) {
    let mut v: Vec<(String, TaskState)> = ["a", "b", "c"]
        .iter()
        .filter_map(|k| s.task_id(k).map(|t| (k.to_string(), s.state(t))))
        .collect();
    v.sort_by(|x, y| x.0.cmp(&y.0));
    (s.counts(), v)
}

#[test]
fn invalid_graphs_change_nothing_and_a_good_graph_still_works() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &["b"])
        .unwrap();
    finish(&mut s, "a");
    let before = snapshot(&s);
    let ins_before = s.take_instructions();

    let cases: Vec<(Vec<TaskSpec>, Vec<&str>, &str)> = vec![
        (vec![task("", &[])], vec![], "SKEIN_INVALID_GRAPH"),
        (
            vec![task("x", &[]), task("x", &[])],
            vec![],
            "SKEIN_DUPLICATE_KEY",
        ),
        (
            vec![task("a", &[]), task("a", &[])],
            vec![],
            "SKEIN_DUPLICATE_KEY",
        ),
        (
            vec![task("x", &["nope"])],
            vec![],
            "SKEIN_UNKNOWN_DEPENDENCY",
        ),
        (
            vec![task("x", &["y"]), task("y", &["z"]), task("z", &["x"])],
            vec![],
            "SKEIN_CYCLE",
        ),
        (vec![task("x", &["x"])], vec!["x"], "SKEIN_CYCLE"),
        (
            vec![task("q", &[]), task("x", &["y", "a"]), task("y", &["x"])],
            vec![],
            "SKEIN_CYCLE",
        ),
        (
            vec![TaskSpec {
                resources: vec![("gpu".into(), -1.0)],
                ..task("x", &[])
            }],
            vec![],
            "SKEIN_INVALID_GRAPH",
        ),
        (
            vec![TaskSpec {
                resources: vec![("gpu".into(), f64::NAN)],
                ..task("x", &[])
            }],
            vec![],
            "SKEIN_INVALID_GRAPH",
        ),
        (vec![task("x", &[])], vec!["missing"], "SKEIN_UNKNOWN_KEY"),
    ];
    for (graph, wanted, code) in cases {
        let err = s.submit_graph(c, graph, &wanted).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(snapshot(&s), before, "after {err}");
        assert!(s.take_instructions().is_empty(), "after {err}");
        assert_eq!(s.task_id("x"), None);
    }
    let err = s
        .submit_graph(c, vec![task("x", &["y"]), task("y", &["x"])], &[])
        .unwrap_err();
    assert!(matches!(&err, CoreError::Cycle { key } if key == "x" || key == "y"));
    let err = s
        .submit_graph(c, vec![task("x", &["nope"])], &[])
        .unwrap_err();
    assert_eq!(
        err,
        CoreError::UnknownDependency {
            key: "x".into(),
            dependency: "nope".into()
        }
    );
    assert_eq!(
        s.submit_graph(ClientId(99), vec![task("x", &[])], &[])
            .unwrap_err(),
        CoreError::UnknownClient { client: 99 }
    );
    drop(ins_before);

    // a good graph using an existing key still works
    s.submit_graph(c, vec![task("c", &["b"])], &["c"]).unwrap();
    finish(&mut s, "b");
    finish(&mut s, "c");
    assert_eq!(st(&s, "c"), Memory);
    let ins = s.take_instructions();
    assert!(client_batch(&ins, c).memory.contains(&id(&s, "c")));
    let _ = w;
}

#[test]
fn existing_keys_are_reused_as_they_are() {
    let mut s = sched();
    let c = s.add_client();
    worker(&mut s, "w1", 1);
    let first = s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    finish(&mut s, "a");
    s.take_instructions();
    let mut again = task("a", &["zzz-not-checked"]);
    again.payload = b"other".to_vec().into();
    let ids = s
        .submit_graph(c, vec![again, task("b", &["a"])], &["b"])
        .unwrap();
    assert_eq!(ids[0], first[0]);
    assert_eq!(s.payload(first[0]), b"a");
    assert_eq!(st(&s, "b"), Processing);
    // wanting an existing key in memory reports it
    let c2 = s.add_client();
    s.submit_graph(c2, vec![], &["a"]).unwrap();
    let ins = s.take_instructions();
    assert_eq!(client_batch(&ins, c2).memory, vec![first[0]]);
}

#[test]
fn unwanted_tasks_are_forgotten_at_once() {
    let mut s = sched();
    let c = s.add_client();
    let ids = s
        .submit_graph(c, vec![task("a", &[]), task("b", &["a"])], &[])
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(s.counts().tasks, 0);
    assert_eq!(s.key(ids[1]), "b", "ids stay readable until recycled");
}

#[test]
fn order_finishes_one_subtree_before_the_next() {
    let mut s = sched();
    let c = s.add_client();
    let g = vec![
        task("l-0", &[]),
        task("l-1", &[]),
        task("l-2", &[]),
        task("l-3", &[]),
        task("r-01", &["l-0", "l-1"]),
        task("r-23", &["l-2", "l-3"]),
        task("r-all", &["r-01", "r-23"]),
    ];
    s.submit_graph(c, g, &["r-all"]).unwrap();
    let order = |k: &str| s.tasks[id(&s, k)].priority.order;
    assert!(order("l-0") < order("l-1"));
    assert!(order("l-1") < order("r-01"));
    assert!(order("r-01") < order("l-2"));
    assert!(order("l-3") < order("r-23"));
    assert!(order("r-23") < order("r-all"));
    // user priority beats submission order; earlier graphs beat later ones
    let mut hi = task("hi", &[]);
    hi.priority = 5;
    s.submit_graph(c, vec![task("late", &[]), hi], &["late", "hi"])
        .unwrap();
    let p = |k: &str| s.tasks[id(&s, k)].priority;
    assert!(p("hi") < p("l-0"));
    assert!(p("l-3") < p("late"));
    // with one slot and tasks known to be fast (so a worker gets several), the queue hands
    // them out in that order
    for prefix in ["hi", "l", "r", "late"] {
        s.observe_duration(prefix, 0.0001);
    }
    let w = worker(&mut s, "w1", 1);
    let ins = s.take_instructions();
    let got = computes(&s, &ins, w);
    assert_eq!(got[0], "hi");
    assert_eq!(&got[1..5], ["l-0", "l-1", "l-2", "l-3"]);
}

#[test]
fn deep_chains_and_wide_graphs_are_handled_iteratively() {
    let mut s = Scheduler::new(Config {
        validate: false,
        ..config()
    });
    let c = s.add_client();
    let n = 100_000;
    let mut g = Vec::with_capacity(n);
    g.push(task("k-0", &[]));
    for i in 1..n {
        let dep = format!("k-{}", i - 1);
        g.push(task(&format!("k-{i}"), &[dep.as_str()]));
    }
    let last = format!("k-{}", n - 1);
    // submitted reversed, so creation order must come from the ordering, not input order
    g.reverse();
    s.submit_graph(c, g, &[last.as_str()]).unwrap();
    assert_eq!(s.counts().waiting, n - 1);
    assert_eq!(s.counts().queued, 1);
    s.validate().unwrap();
    s.release_keys(c, &[last.as_str()]).unwrap();
    assert_eq!(s.counts().tasks, 0);
    s.validate().unwrap();
}

#[test]
fn duplicate_dependencies_are_kept_in_order() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(
        c,
        vec![task("a", &[]), task("b", &[]), task("x", &["a", "b", "a"])],
        &["x"],
    )
    .unwrap();
    let (a, b) = (id(&s, "a"), id(&s, "b"));
    assert_eq!(s.dependencies(id(&s, "x")), &[a, b, a]);
    finish(&mut s, "a");
    finish(&mut s, "b");
    assert_eq!(processing_on(&s, "x"), Some(w));
    finish(&mut s, "x");
    s.release_keys(c, &["x"]).unwrap();
    assert_eq!(s.counts().tasks, 0);
}

#[test]
fn keys_longer_than_the_limit_are_refused_wherever_they_come_in_and_change_nothing() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[])], &["a"]).unwrap();
    let a = id(&s, "a");
    s.take_instructions();
    // 2 + 4096 bytes; the head is cut at 40 characters, not bytes.
    let long = format!("é{}", "k".repeat(MAX_KEY_BYTES));
    let refused = CoreError::KeyTooLong {
        len: MAX_KEY_BYTES + 2,
        head: format!("é{}", "k".repeat(39)),
    };
    let before = s.counts();
    let graphs: Vec<(Vec<TaskSpec>, Vec<&str>)> = vec![
        (vec![task(&long, &[])], vec![]),
        (vec![task("x", &[long.as_str()])], vec![]),
        (vec![task("x", &[])], vec![long.as_str()]),
    ];
    for (graph, wanted) in graphs {
        assert_eq!(s.submit_graph(c, graph, &wanted), Err(refused.clone()));
    }
    assert_eq!(s.want_keys(c, &[long.as_str()]), Err(refused.clone()));
    assert_eq!(s.release_keys(c, &["a", &long]), Err(refused.clone()));
    assert_eq!(s.cancel_keys(c, &["a", &long]), Err(refused.clone()));
    assert_eq!(s.add_scattered(c, &long, w, 1), Err(refused.clone()));
    assert_eq!(s.counts(), before);
    assert!(s.wants(c, a), "a refused release released nothing");
    assert!(s.take_instructions().is_empty());
    assert_eq!(refused.code(), "SKEIN_KEY_TOO_LONG");
    let message = refused.to_string();
    assert!(
        message.contains("4098 bytes") && message.contains("limit of 4096 bytes"),
        "{message}"
    );
    assert!(
        message.contains(&format!("\"é{}\"", "k".repeat(39))),
        "{message}"
    );

    let fits = "k".repeat(MAX_KEY_BYTES);
    s.submit_graph(c, vec![task(&fits, &[])], &[fits.as_str()])
        .unwrap();
    assert_eq!(st(&s, &fits), Processing);
}

#[test]
fn graph_generations_cross_2_pow_32_and_an_older_graph_still_runs_first() {
    let mut s = sched();
    s.generation = u64::from(u32::MAX) - 1;
    let c = s.add_client();
    s.submit_graph(c, vec![task("old", &[])], &["old"]).unwrap();
    s.submit_graph(c, vec![task("new", &[])], &["new"]).unwrap();
    let (old, new) = (id(&s, "old"), id(&s, "new"));
    assert_eq!(s.priority(old), (0, u64::from(u32::MAX), 0));
    assert_eq!(s.priority(new), (0, 1 << 32, 0));
    let w = worker(&mut s, "w1", 1);
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["old", "new"]);
}

#[test]
fn a_graph_with_several_repeated_keys_names_the_first_repeat_whatever_the_hash_seed() {
    for hash_seed in 0..64 {
        let mut s = Scheduler::new(Config {
            hash_seed,
            ..config()
        });
        let c = s.add_client();
        let mut graph: Vec<TaskSpec> = (0..300).map(|i| task(&format!("t-{i}"), &[])).collect();
        graph.push(task("t-7", &[]));
        graph.push(task("t-3", &[]));
        graph.push(task("t-7", &[]));
        assert_eq!(
            s.submit_graph(c, graph, &[]),
            Err(CoreError::DuplicateKey { key: "t-7".into() }),
            "hash seed {hash_seed}"
        );
    }
}

#[test]
fn the_hash_seed_changes_where_keys_sit_not_what_the_core_does() {
    use crate::sim::{self, SimCluster, SimConfig};
    let run = |hash_seed| {
        let config = Config {
            hash_seed,
            ..config()
        };
        let mut sim = SimCluster::new(
            config,
            SimConfig {
                seed: 3,
                ..SimConfig::default()
            },
        );
        sim.add_workers("w", 3, 2).unwrap();
        let (tasks, root) = sim::tree_reduction(300);
        sim.submit(tasks, &[root.as_str()]).unwrap();
        let (tasks, keys) = sim::independent("inc", 200, b"");
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        sim.submit(tasks, &keys).unwrap();
        sim.run_until_idle(1_000_000).unwrap();
        let c = sim.client();
        (sim.stats().clone(), format!("{:?}", sim.client_log(c)))
    };
    let a = run(1);
    assert!(a.0.finished >= 799, "{:?}", a.0);
    assert_eq!(a, run(0x9e37_79b9_7f4a_7c15));
}
