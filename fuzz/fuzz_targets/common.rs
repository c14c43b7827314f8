//! A small cluster for the targets to feed: two workers, a client, a graph with
//! dependencies already processing, and ids and runs small enough that the fuzzer meets
//! them (task ids 0-4, runs from 0).

use skein_core::{Config, Scheduler, TaskSpec, WorkerSpec};
use skein_wire::{encode_messages, InlineValues};

pub fn cluster() -> Scheduler {
    let mut core = Scheduler::new(Config {
        validate: true,
        ..Config::default()
    });
    let c = core.add_client();
    for (name, slots) in [("w1", 2), ("w2", 1)] {
        core.add_worker(
            WorkerSpec {
                name: name.into(),
                slots,
                resources: vec![],
            },
            0.0,
        )
        .expect("fresh worker");
    }
    let task = |key: &str, deps: &[&str]| TaskSpec {
        key: key.into(),
        prefix: "f".into(),
        payload: key.as_bytes().into(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        ..TaskSpec::default()
    };
    let graph = vec![
        task("a", &[]),
        task("b", &[]),
        task("c", &["a", "b"]),
        task("d", &["c"]),
        task("e", &[]),
    ];
    core.submit_graph(c, graph, &["d", "e"])
        .expect("valid graph");
    let ins = core.take_instructions();
    encode_messages(&core, &ins, &InlineValues::default());
    core
}

/// Takes and encodes what the core wants done (the binding's `takeMessages`), and checks
/// every invariant (the config validates after each event too).
pub fn drain(core: &mut Scheduler, inline: &mut InlineValues) {
    let ins = core.take_instructions();
    let _ = encode_messages(core, &ins, inline);
    inline.clear();
    if let Err(broken) = core.validate() {
        panic!("invariant broken: {broken}");
    }
}
